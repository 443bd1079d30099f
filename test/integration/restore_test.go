//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// TestRestoreFromAChosenSavepoint: fromSavepoint edited alone is reported and changes nothing;
// with restoreGeneration + 1 the running job is stopped with a savepoint and a new attempt starts
// from the chosen one, once.
func TestRestoreFromAChosenSavepoint(t *testing.T) {
	ns := newNamespace(t)
	_, err := createStrict(context.Background(), ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	patchJob(t, ns, "counter", `{"savepointGeneration":1}`)
	chosen := waitJob(t, ns, "counter", 30*time.Second, "a savepoint to go back to", func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration == 1 && j.State == v1beta1.JobStateRunning
	}).SavepointLocation
	patchJob(t, ns, "counter", `{"savepointGeneration":2}`)
	running := waitJob(t, ns, "counter", 30*time.Second, "a newer savepoint", func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration == 2 && j.State == v1beta1.JobStateRunning
	})

	patchJob(t, ns, "counter", `{"fromSavepoint":"`+chosen+`"}`)
	waitFor(t, 30*time.Second, "the edit to be reported", func() bool {
		c := meta.FindStatusCondition(getFC(t, ns, "counter").Status.Conditions, state.ConditionUpdatePending)
		return c != nil && c.Reason == "FromSavepointNotApplied"
	})
	waitEvents(t, ns, "counter", "FromSavepointNotApplied")
	assert.Equal(t, running.ID, jobStatus(t, ns, "counter").ID, "nothing restarted")

	patchJob(t, ns, "counter", `{"restoreGeneration":1}`)
	j := waitJob(t, ns, "counter", 60*time.Second, "the restored job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != running.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, chosen, j.FromSavepoint, "the chosen savepoint, not the newer ones")
	assert.Equal(t, int32(1), j.RestoreGeneration)
	assert.Empty(t, j.RestoreTarget)
	assert.Zero(t, j.RestartCount)
	assert.Equal(t, v1beta1.SavepointReasonUpdate, j.SavepointHistory[0].Reason, "the replaced job's state was saved first")
	assert.Len(t, simState(t, ns, "counter").Submissions, 2)
	c := meta.FindStatusCondition(getFC(t, ns, "counter").Status.Conditions, state.ConditionUpdatePending)
	assert.Nil(t, c, "nothing pending any more")
}
