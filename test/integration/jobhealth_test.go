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
