package controller

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

// updateTo rolls the running job out to the spec change through its savepoint, up to the new
// attempt's submission.
func (f *fixture) updateTo(change func(*v1beta1.FlinkCluster), savepoint string) {
	f.t.Helper()
	f.edit(change)
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: savepoint})
	for i := 0; i < 6 && f.job().State != fsm.Deploying; i++ {
		f.sync()
	}
	require.Equal(f.t, fsm.Deploying, f.job().State)
	f.sync()
	f.makeAvailable()
	f.sync()
	require.Equal(f.t, fsm.Submitting, f.job().State)
	require.Equal(f.t, savepoint, f.job().FromSavepoint)
}

// checkpointingJob plays a running Flink job that checkpoints every second and has completed
// this many checkpoints (numberOfCompletedCheckpoints).
func (f *fixture) checkpointingJob(checkpoints int) {
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateRunning},
		CheckpointConfig: &flinkclient.CheckpointConfig{Interval: 1000},
		Metrics:          map[string]string{"numRestarts": "0", "numberOfCompletedCheckpoints": strconv.Itoa(checkpoints)}})
}

// stableJob is a running job cluster with spec.job.rollback whose revision is recorded stable.
func stableJob(t *testing.T, rollback v1beta1.JobRollback) *fixture {
	fc := jobCluster()
	fc.Spec.Job.Rollback = &rollback
	f := newFixture(t, fc)
	f.sync()
	f.makeAvailable()
	f.sync()
	f.checkpointingJob(0)
	f.sync()
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	c := condition(f.cluster(), state.ConditionRolledBack)
	require.NotNil(t, c)
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Contains(t, c.Message, "no revision has run well yet", "no checkpoint completed yet")

	f.now = f.now.Add(time.Minute)
	f.checkpointingJob(1)
	f.sync()
	good := desired.JobRevision(f.cluster())
	require.NotNil(t, f.job().Rollback)
	require.Equal(t, good, f.job().Rollback.StableRevision, "recorded once the job completed a checkpoint")
	assert.Contains(t, condition(f.cluster(), state.ConditionRolledBack).Message, "revision "+good+" ran well last")
	f.makeAvailable()
	f.sync()
	f.events()
	return f
}

func submitterCommand(f *fixture) string {
	return strings.Join(f.storedSubmitter().Spec.Template.Spec.Containers[0].Command, " ")
}

// TestAFailedUpdateIsRolledBackThroughTheSync: with spec.job.rollback, a revision that ran well
// is recorded; an update whose job fails is rolled back to it, from the update's savepoint,
// with condition RolledBack and events; the failed revision is not tried again while the spec
// asks for it, and the next spec change lifts the rollback.
func TestAFailedUpdateIsRolledBackThroughTheSync(t *testing.T) {
	f := stableJob(t, v1beta1.JobRollback{})
	good := f.job().Rollback.StableRevision

	f.updateTo(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Args = []string{"--fail"} }, "/savepoints/update")
	bad := f.job().Revision
	badID := f.job().ID
	assert.Contains(t, submitterCommand(f), "--fail")
	f.runFlinkJob(flinkclient.JobStateFailed)
	f.sync()
	require.Equal(t, fsm.Failed, f.job().State)
	f.sync()
	job := f.job()
	require.Equal(t, fsm.Deploying, job.State, "rolled back before any restart")
	assert.Equal(t, v1beta1.RollbackStateRollingBack, job.Rollback.State)
	assert.Equal(t, bad, job.Rollback.FailedRevision)
	assert.Equal(t, "/savepoints/update", job.Rollback.RestoreFrom)
	assert.Contains(t, f.events(), "Warning RollingBack UpdateFailed: the job of revision "+bad+" is Failed")

	f.sync() // the stable revision's children
	f.makeAvailable()
	f.sync()
	job = f.job()
	require.Equal(t, fsm.Submitting, job.State)
	assert.Equal(t, good, job.Revision)
	assert.Equal(t, "/savepoints/update", job.FromSavepoint)
	assert.Equal(t, v1beta1.RollbackStateRolledBack, job.Rollback.State)
	assert.NotEqual(t, badID, job.ID)
	assert.Contains(t, f.events(), "Warning RolledBack resubmitted revision "+good)
	f.sync() // the failed revision's submitter is replaced
	assert.NotContains(t, submitterCommand(f), "--fail", "the stable revision's arguments")
	c := condition(f.cluster(), state.ConditionRolledBack)
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Equal(t, fsm.RollbackReasonFailed, c.Reason)
	assert.Equal(t, []string{"--fail"}, f.cluster().Spec.Job.Args, "the user's spec is left as written")

	f.runFlinkJob(flinkclient.JobStateRunning)
	f.sync()
	f.now = f.now.Add(time.Hour)
	f.sync()
	assert.Equal(t, fsm.Running, f.job().State, "the failed revision is not tried again")
	assert.Equal(t, good, f.job().Revision)
	assert.Nil(t, condition(f.cluster(), state.ConditionUpdatePending), "nothing is pending: the rollback is in force")

	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Args = []string{"--fixed"} })
	f.rest.SetSavepointOutcome(jmURL, f.job().ID, flinkfake.Outcome{Location: "/savepoints/fix"})
	f.sync()
	assert.Equal(t, fsm.Updating, f.job().State, "a new spec rolls out")
	assert.Empty(t, f.job().Rollback.State, "the rollback is lifted")
	assert.Equal(t, good, f.job().Rollback.StableRevision)
	assert.Equal(t, metav1.ConditionFalse, condition(f.cluster(), state.ConditionRolledBack).Status)
}

// TestAnUpdateThatNeverCheckpointsIsRolledBack: the updated job runs but completes no checkpoint
// within the timeout; its metrics are read at every poll meanwhile, and it is cancelled (no
// savepoint) and rolled back.
func TestAnUpdateThatNeverCheckpointsIsRolledBack(t *testing.T) {
	f := stableJob(t, v1beta1.JobRollback{TimeoutSeconds: ptr.To(int32(60))})

	f.updateTo(func(fc *v1beta1.FlinkCluster) { fc.Spec.Image.Name = "flink:new" }, "/savepoints/update")
	f.checkpointingJob(0)
	f.sync()
	require.Equal(t, fsm.Running, f.job().State)
	before := f.callsTo("/metrics")
	f.now = f.now.Add(10 * time.Second)
	f.sync()
	assert.Equal(t, before+1, f.callsTo("/metrics"), "read at every poll while on trial")
	f.now = f.now.Add(50 * time.Second)
	f.sync()
	job := f.job()
	require.Equal(t, fsm.Updating, job.State)
	assert.Equal(t, fsm.RollbackReasonTimedOut, job.Rollback.Reason)
	assert.Contains(t, f.rest.Calls(), flinkfake.Call{BaseURL: jmURL, Method: "PATCH", Path: "/jobs/" + job.ID + "?mode=cancel"})
}
