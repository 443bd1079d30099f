//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// rollbackTimeout is the suite's spec.job.rollback.timeoutSeconds.
const rollbackTimeout = 15 * time.Second

// The revisions of TestRollback: the simulated job checkpoints every second; a revision on trial
// checkpoints every hour, so it never proves itself by a checkpoint and fails or times out as the
// test says (no race with its first checkpoint).
const (
	checkpointsEachSecond = `{"execution.checkpointing.interval":"1 s","execution.checkpointing.dir":"file:///checkpoints"}`
	checkpointsHourly     = `{"execution.checkpointing.interval":"1 h","execution.checkpointing.dir":"file:///checkpoints"}`
)

func rolledBack(t *testing.T, ns, name string) *metav1.Condition {
	t.Helper()
	return meta.FindStatusCondition(getFC(t, ns, name).Status.Conditions, state.ConditionRolledBack)
}

// updateSpec changes the job's arguments and checkpoint interval (a new revision).
func updateSpec(t *testing.T, ns, name, arg, properties string) {
	t.Helper()
	_, err := kubectl(context.Background(), "patch", "-n", ns, "fc/"+name, "--type=merge", "-p",
		`{"spec":{"flinkProperties":`+properties+`,"job":{"args":["`+arg+`"]}}}`)
	require.NoError(t, err)
}

// stableRevision waits until the running attempt's revision is recorded as the stable one.
func stableRevision(t *testing.T, ns, name string) *v1beta1.JobStatus {
	t.Helper()
	return waitJob(t, ns, name, 30*time.Second, "the running revision recorded as stable", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.Rollback != nil && j.Rollback.StableRevision == j.Revision && j.Revision != ""
	})
}

// TestRollback: with spec.job.rollback, (1) an update whose job fails on start is rolled back to
// the revision that ran well, from the update's savepoint, as one new attempt; the failed revision
// is not tried again while the spec asks for it (kubectl get shows RolledBack); (2) a spec change
// lifts the rollback and rolls out; (3) an update whose job runs without a completed checkpoint
// within the timeout is cancelled and rolled back too.
func TestRollback(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, savepointJobCluster)
	setPath(obj.Object, "spec.flinkProperties", map[string]interface{}{
		"execution.checkpointing.interval": "1 s", "execution.checkpointing.dir": "file:///checkpoints"})
	setPath(obj.Object, "spec.job.rollback", map[string]interface{}{"timeoutSeconds": int64(rollbackTimeout.Seconds())})
	_, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	good := stableRevision(t, ns, "counter")
	c := rolledBack(t, ns, "counter")
	require.NotNil(t, c)
	assert.Equal(t, metav1.ConditionFalse, c.Status)

	// (1) A revision whose job fails as soon as it runs.
	updateSpec(t, ns, "counter", "--fail", checkpointsHourly)
	trial := waitJob(t, ns, "counter", 30*time.Second, "the new revision's job to run", func(j *v1beta1.JobStatus) bool {
		return j.Revision != good.Revision && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	updateSavepoint := trial.FromSavepoint
	require.NotEmpty(t, updateSavepoint)
	simPost(t, ns, "counter", "jobs/"+trial.ID+"/fail", `{"message":"the new revision throws on start"}`)
	j := waitJob(t, ns, "counter", 30*time.Second, "the stable revision to run again", func(j *v1beta1.JobStatus) bool {
		return j.ID != trial.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, good.Revision, j.Revision, "the stable revision")
	assert.Equal(t, updateSavepoint, j.FromSavepoint, "from the update's savepoint")
	assert.Equal(t, trial.Attempt+1, j.Attempt)
	require.NotNil(t, j.Rollback)
	assert.Equal(t, v1beta1.RollbackStateRolledBack, j.Rollback.State)
	assert.Equal(t, trial.Revision, j.Rollback.FailedRevision)
	assert.Equal(t, "UpdateFailed", j.Rollback.Reason)
	assert.Contains(t, j.Rollback.Message, "is Failed before it ran with a completed checkpoint: Flink reports the job FAILED")
	assert.Contains(t, j.Rollback.Message, "caused by java.lang.RuntimeException: the new revision throws on start", "the job's own exception")
	c = rolledBack(t, ns, "counter")
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Equal(t, "UpdateFailed", c.Reason)
	assert.Equal(t, []string{j.ID}, runningJobs(t, ns, "counter"), "exactly one job runs")
	assert.Len(t, simState(t, ns, "counter").Submissions, 3, "the first revision, the failed one, the rollback")
	waitEvents(t, ns, "counter", "RollingBack", "RolledBack")
	out, err := kubectl(context.Background(), "get", "-n", ns, "fc/counter")
	require.NoError(t, err)
	assert.Contains(t, out, "ROLLBACK", "kubectl get shows the column")
	assert.Contains(t, out, "RolledBack")

	// The failed revision is not tried again while the spec asks for it.
	time.Sleep(rollbackTimeout + 3*time.Second)
	after := jobStatus(t, ns, "counter")
	assert.Equal(t, j.ID, after.ID, "no new attempt")
	assert.Equal(t, v1beta1.JobStateRunning, after.State)
	assert.Len(t, simState(t, ns, "counter").Submissions, 3)

	// (2) A new spec lifts the rollback and rolls out; it runs well, so it is the stable one now.
	updateSpec(t, ns, "counter", "--fixed", checkpointsEachSecond)
	fixed := waitJob(t, ns, "counter", 60*time.Second, "the fixed revision to run well", func(f *v1beta1.JobStatus) bool {
		return f.ID != j.ID && f.State == v1beta1.JobStateRunning && f.Rollback != nil && f.Rollback.StableRevision == f.Revision
	})
	assert.NotEqual(t, good.Revision, fixed.Revision)
	assert.Empty(t, fixed.Rollback.State, "lifted")
	assert.Equal(t, metav1.ConditionFalse, rolledBack(t, ns, "counter").Status)

	// (3) A revision that runs but never completes a checkpoint in time.
	updateSpec(t, ns, "counter", "--slow", checkpointsHourly)
	slow := waitJob(t, ns, "counter", 30*time.Second, "the slow revision's job to run", func(s *v1beta1.JobStatus) bool {
		return s.Revision != fixed.Revision && s.State == v1beta1.JobStateRunning && s.FlinkJobState == "RUNNING"
	})
	back := waitJob(t, ns, "counter", rollbackTimeout+30*time.Second, "the timeout's rollback", func(b *v1beta1.JobStatus) bool {
		return b.ID != slow.ID && b.State == v1beta1.JobStateRunning && b.FlinkJobState == "RUNNING" && b.Rollback != nil &&
			b.Rollback.State == v1beta1.RollbackStateRolledBack
	})
	assert.Equal(t, fixed.Revision, back.Revision)
	assert.Equal(t, slow.FromSavepoint, back.FromSavepoint)
	assert.Equal(t, "UpdateTimedOut", back.Rollback.Reason)
	assert.True(t, strings.Contains(back.Rollback.Message, "did not run with a completed checkpoint within 15s"), back.Rollback.Message)
	assert.Equal(t, []string{back.ID}, runningJobs(t, ns, "counter"), "the slow job was cancelled")
	for _, sj := range simState(t, ns, "counter").Jobs {
		if sj.ID == slow.ID {
			assert.Equal(t, "CANCELED", sj.State)
			assert.Empty(t, sj.Savepoints, "cancelled without a savepoint")
		}
	}
}
