package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

// latestStateJob is a job cluster whose failures resume from the latest checkpoint.
func latestStateJob() *v1beta1.FlinkCluster {
	fc := jobCluster()
	fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)
	return fc
}

// checkpointingFlinkJob plays a Flink job that retains its checkpoints and completed checkpoint
// id at path.
func (f *fixture) checkpointingFlinkJob(state flinkclient.JobState, id int64, path string) {
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: state},
		Checkpoints: &flinkclient.CheckpointStats{LatestCompleted: &flinkclient.CompletedCheckpoint{ID: id, ExternalPath: path}},
		CheckpointConfig: &flinkclient.CheckpointConfig{Interval: 1000,
			Externalization: flinkclient.ExternalizedCheckpoint{Enabled: true}}})
}

func (f *fixture) callsTo(suffix string) int {
	n := 0
	for _, c := range f.rest.Calls() {
		if strings.HasSuffix(c.Path, suffix) {
			n++
		}
	}
	return n
}

// TestLatestCheckpointIsRecordedAtMostOncePerInterval: a running job whose policies resume from
// the latest state costs one history read per recording interval and one configuration read per
// attempt; status is written only when the checkpoint changed.
func TestLatestCheckpointIsRecordedAtMostOncePerInterval(t *testing.T) {
	f := runningJob(t, latestStateJob())
	f.checkpointingFlinkJob(flinkclient.JobStateRunning, 7, "file:/cp/j/chk-7")
	f.rest.ResetCalls()
	writes := f.sync()
	assert.Equal(t, []string{"update flinkclusters/status"}, writes)
	assert.Equal(t, 1, f.callsTo("/checkpoints"), "the first poll reads the history")
	assert.Equal(t, 1, f.callsTo("/checkpoints/config"), "and the checkpoint configuration")
	job := f.job()
	require.NotNil(t, job.LatestCheckpoint)
	assert.Equal(t, int64(7), job.LatestCheckpoint.ID)
	assert.Equal(t, v1beta1.CheckpointRetentionRetainOnCancellation, job.CheckpointRetention)

	f.rest.ResetCalls()
	for i := 0; i < 5; i++ { // 50 s of polls
		f.now = f.now.Add(10 * time.Second)
		assert.Empty(t, f.sync(), "no write")
	}
	assert.Zero(t, f.callsTo("/checkpoints")+f.callsTo("/checkpoints/config"), "nothing more within the interval")

	f.checkpointingFlinkJob(flinkclient.JobStateRunning, 9, "file:/cp/j/chk-9")
	f.now = f.now.Add(10 * time.Second)
	assert.Equal(t, []string{"update flinkclusters/status"}, f.sync(), "a minute later the new checkpoint is recorded")
	assert.Equal(t, int64(9), f.job().LatestCheckpoint.ID)
	f.now = f.now.Add(time.Minute)
	assert.Empty(t, f.sync(), "an unchanged checkpoint costs a read, not a write")
	assert.Equal(t, 2, f.callsTo("/checkpoints"))
	assert.Zero(t, f.callsTo("/checkpoints/config"), "read once per attempt")
}

// TestJobWithoutLatestStatePoliciesNeverReadsCheckpoints: the default policies never read the
// checkpoint history; the health check reads the configuration once and the metrics once a minute.
func TestJobWithoutLatestStatePoliciesNeverReadsCheckpoints(t *testing.T) {
	f := runningJob(t, jobCluster())
	f.checkpointingFlinkJob(flinkclient.JobStateRunning, 7, "file:/cp/j/chk-7")
	f.rest.ResetCalls()
	assert.Equal(t, []string{"update flinkclusters/status"}, f.sync(), "the checkpoint configuration is recorded")
	for i := 0; i < 10; i++ {
		f.now = f.now.Add(time.Minute)
		assert.Empty(t, f.sync())
	}
	assert.Zero(t, f.callsTo("/checkpoints"), "never the history")
	assert.Equal(t, 1, f.callsTo("/checkpoints/config"), "the configuration once per attempt (the health check's interval)")
	assert.Equal(t, 11, f.callsTo("/metrics"), "the health check's read once a minute")
	assert.Nil(t, f.job().LatestCheckpoint)
	assert.Equal(t, time.Second, f.job().CheckpointInterval.Duration)
}

// TestFailedJobRestartsFromItsLatestCheckpoint: the failure is recorded with the checkpoint the
// failed job's history shows, and the restart resumes from it.
func TestFailedJobRestartsFromItsLatestCheckpoint(t *testing.T) {
	f := runningJob(t, latestStateJob())
	f.checkpointingFlinkJob(flinkclient.JobStateRunning, 7, "file:/cp/j/chk-7")
	f.sync()
	f.checkpointingFlinkJob(flinkclient.JobStateFailed, 8, "file:/cp/j/chk-8")
	f.now = f.now.Add(10 * time.Second)
	f.sync()
	require.Equal(t, fsm.Failed, f.job().State)
	assert.Equal(t, int64(8), f.job().LatestCheckpoint.ID, "read from the failed job's history")
	f.now = f.now.Add(time.Minute)
	f.sync()
	job := f.job()
	assert.Equal(t, fsm.Submitting, job.State)
	assert.Equal(t, "file:/cp/j/chk-8", job.FromSavepoint)
	assert.True(t, job.FromCheckpoint)
	assert.Contains(t, f.events(), "Restoring attempt 2 restoring from checkpoint 8 at file:/cp/j/chk-8")
}

// TestAHistoryReadThatFailsIsTriedAtTheNextPoll: only a read that succeeded starts the recording
// interval, so a JobManager that did not answer once does not leave the record a minute staler.
func TestAHistoryReadThatFailsIsTriedAtTheNextPoll(t *testing.T) {
	f := runningJob(t, latestStateJob())
	f.checkpointingFlinkJob(flinkclient.JobStateRunning, 7, "file:/cp/j/chk-7")
	f.rest.Inject(flinkfake.Fault{Method: "GET", Path: "/jobs/" + f.job().ID + "/checkpoints", Err: flinkfake.Timeout(), Times: 1})
	f.sync()
	assert.Nil(t, f.job().LatestCheckpoint, "the read timed out")
	f.now = f.now.Add(10 * time.Second)
	f.sync()
	require.NotNil(t, f.job().LatestCheckpoint, "read again at the next poll")
	assert.Equal(t, int64(7), f.job().LatestCheckpoint.ID)
}
