//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// runningJobs are the jobs the simulated JobManager of ns/name reports RUNNING.
func runningJobs(t *testing.T, ns, name string) []string {
	t.Helper()
	var ids []string
	for _, j := range simState(t, ns, name).Jobs {
		if j.State == "RUNNING" {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// TestSuspendAndResume: spec.job.state Suspended stops the job with a savepoint, deletes the
// TaskManagers and keeps the JobManager; Running again resumes it from that savepoint as a new
// attempt. With HA, a JobManager restart while suspended recovers nothing: after the resume
// exactly one job runs, and the operator submitted it once.
func TestSuspendAndResume(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := haJobCluster(t, ns)
	setPath(obj.Object, "spec.job.savepointsDir", "/savepoints/minimal")
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	first := waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})

	patchJob(t, ns, "minimal", `{"state":"Suspended"}`)
	j := waitJob(t, ns, "minimal", 30*time.Second, "the job to be suspended", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateSuspended
	})
	assert.Equal(t, first.ID, j.ID)
	require.NotEmpty(t, j.SavepointHistory)
	sp := j.SavepointHistory[0]
	assert.Equal(t, v1beta1.SavepointReasonSuspend, sp.Reason)
	assert.Equal(t, v1beta1.SavepointStateSucceeded, sp.State)
	assert.Contains(t, j.Message, "set it to Running to resume")
	waitFor(t, 30*time.Second, "the TaskManagers to go", func() bool {
		_, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "minimal-taskmanager", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	_, err = env.kube.AppsV1().Deployments(ns).Get(ctx, "minimal-jobmanager", metav1.GetOptions{})
	assert.NoError(t, err, "the JobManager stays")
	assert.Empty(t, runningJobs(t, ns, "minimal"), "the job stopped in Flink")

	// A new JobManager leader finds nothing to recover: the stopped job ended for Flink too.
	simPost(t, ns, "minimal", "jobmanager/restart", `{"recoverAfter":"500ms"}`)
	time.Sleep(time.Second)
	assert.Empty(t, runningJobs(t, ns, "minimal"))
	assert.Equal(t, v1beta1.JobStateSuspended, jobStatus(t, ns, "minimal").State, "still suspended")

	patchJob(t, ns, "minimal", `{"state":"Running"}`)
	j = waitJob(t, ns, "minimal", 60*time.Second, "the resumed job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, sp.Location, j.FromSavepoint, "resumed from the suspension's savepoint")
	assert.Equal(t, int32(2), j.Attempt)
	assert.Zero(t, j.RestartCount)
	assert.Equal(t, []string{j.ID}, runningJobs(t, ns, "minimal"), "exactly one job runs")
	assert.Len(t, simState(t, ns, "minimal").Submissions, 2, "the first attempt and the resumed one")
	waitEvents(t, ns, "minimal", "JobStateChanged")
}

// TestSuspendBeforeSubmission: a job cluster created Suspended submits nothing until resumed.
func TestSuspendBeforeSubmission(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, savepointJobCluster)
	setPath(obj.Object, "spec.job.state", "Suspended")
	_, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	waitJob(t, ns, "counter", 30*time.Second, "the job to be suspended", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateSuspended
	})
	assert.Empty(t, simState(t, ns, "counter").Submissions, "nothing submitted")
	patchJob(t, ns, "counter", `{"state":"Running"}`)
	j := waitJob(t, ns, "counter", 60*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, int32(1), j.Attempt)
}
