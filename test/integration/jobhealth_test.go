//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// jobHealthy is condition JobHealthy of the cluster (nil when absent).
func jobHealthy(t *testing.T, ns, name string) *metav1.Condition {
	t.Helper()
	return meta.FindStatusCondition(getFC(t, ns, name).Status.Conditions, state.ConditionJobHealthy)
}

// TestARestartLoopMakesTheJobUnhealthy: a job that Flink restarts four times (more than the
// default 3 within --unhealthy-restart-window, 20 s here) is JobHealthy False, reason RestartLoop,
// with a Warning event, while its state stays Running and the operator restarts nothing; once a
// whole window passes without a restart it is healthy again.
func TestARestartLoopMakesTheJobUnhealthy(t *testing.T) {
	ns := newNamespace(t)
	_, err := createStrict(context.Background(), ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	j := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	waitFor(t, 3*healthInterval, "the job judged healthy", func() bool {
		c := jobHealthy(t, ns, "minimal")
		return c != nil && c.Status == metav1.ConditionTrue
	})

	for i := 0; i < 4; i++ {
		simPost(t, ns, "minimal", "jobs/"+j.ID+"/restart", `{"message":"boom"}`)
	}
	waitFor(t, 3*healthInterval, "the restart loop to be seen", func() bool {
		c := jobHealthy(t, ns, "minimal")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "RestartLoop"
	})
	waitEvents(t, ns, "minimal", "JobUnhealthy")
	after := jobStatus(t, ns, "minimal")
	assert.Equal(t, j.ID, after.ID, "the operator restarts nothing by itself")
	assert.Equal(t, v1beta1.JobStateRunning, after.State)
	assert.Zero(t, after.RestartCount)

	unhealthySince := jobHealthy(t, ns, "minimal").LastTransitionTime.Time
	waitFor(t, restartWindow+3*healthInterval, "a quiet window to heal it", func() bool {
		c := jobHealthy(t, ns, "minimal")
		return c != nil && c.Status == metav1.ConditionTrue
	})
	healedAt := jobHealthy(t, ns, "minimal").LastTransitionTime.Time
	assert.GreaterOrEqual(t, healedAt.Sub(unhealthySince), restartWindow-2*time.Second, "not before a whole window without a restart")
	waitEvents(t, ns, "minimal", "JobHealthy")
}

// TestRestartOnUnhealthy: with spec.job.restartOnUnhealthy, a job in a restart loop is cancelled
// (Failing), and only once Flink reports it CANCELED is it restarted from its savepoint as a new
// attempt: exactly one job runs afterwards, restartCount is 1.
func TestRestartOnUnhealthy(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, savepointJobCluster)
	setPath(obj.Object, "spec.job.restartOnUnhealthy", true)
	_, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	first := takeSavepoint(t, ns, "counter", 1)
	waitFor(t, 3*healthInterval, "the job judged healthy", func() bool {
		c := jobHealthy(t, ns, "counter")
		return c != nil && c.Status == metav1.ConditionTrue
	})

	for i := 0; i < 4; i++ {
		simPost(t, ns, "counter", "jobs/"+first.ID+"/restart", `{"message":"boom"}`)
	}
	j := waitJob(t, ns, "counter", 3*healthInterval+30*time.Second, "the restarted attempt to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, int32(1), j.RestartCount)
	assert.Equal(t, first.SavepointLocation, j.FromSavepoint, "restarted from the savepoint, as after a failure")
	states, times := map[string]string{}, map[string][2]time.Time{}
	for _, job := range simState(t, ns, "counter").Jobs {
		states[job.ID] = job.State
		start, _ := time.Parse(time.RFC3339Nano, job.StartTime)
		end, _ := time.Parse(time.RFC3339Nano, job.EndTime)
		times[job.ID] = [2]time.Time{start, end}
	}
	assert.Equal(t, map[string]string{first.ID: "CANCELED", j.ID: "RUNNING"}, states)
	assert.True(t, times[j.ID][0].After(times[first.ID][1]), "the successor started (%v) after the unhealthy job ended (%v)", times[j.ID][0], times[first.ID][1])
	reasons := waitEvents(t, ns, "counter", "JobUnhealthy")
	assert.Contains(t, reasons, "JobStateChanged")
}
