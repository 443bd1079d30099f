package observer

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

const jm = "http://c-jobmanager.ns.svc:8081"

var jobID = fsm.JobID("uid", 1)

// TestAnswersOfAnySizeStayBounded: a JobManager runs the job's own code, so its answers may be
// anything; what reaches status is bounded.
func TestAnswersOfAnySizeStayBounded(t *testing.T) {
	ctx := context.Background()
	rest := flinkfake.New()
	huge := "/savepoints/" + strings.Repeat("x", MaxLocation)
	rest.AddJob(jm, flinkfake.Job{Details: flinkclient.JobDetails{ID: jobID, State: flinkclient.JobState(strings.Repeat("S", 1<<20))},
		SavepointOutcome: flinkfake.Outcome{Location: huge},
		Checkpoints:      &flinkclient.CheckpointStats{LatestSavepoint: &flinkclient.CompletedCheckpoint{ID: 9, ExternalPath: huge}}})
	trigger, err := rest.TriggerSavepoint(ctx, jm, jobID, flinkclient.SavepointRequest{TriggerID: fsm.JobID("t", 1)})
	assert.NoError(t, err)
	st := &v1beta1.JobStatus{ID: jobID, State: fsm.Savepointing,
		Savepoint: &v1beta1.SavepointOperation{TriggerID: trigger, State: v1beta1.SavepointStateInProgress}}

	job, sp := ObserveFlink(ctx, rest, jm, st)
	assert.LessOrEqual(t, len(job.State), maxStateLength)
	assert.True(t, sp.Done)
	assert.Empty(t, sp.Location, "a location too long to record is not recorded")
	assert.Contains(t, sp.Failure, "savepoint location of 4108 bytes")

	history := ObserveCheckpoints(ctx, rest, jm, jobID)
	assert.True(t, history.Read)
	assert.Empty(t, history.LatestSavepointPath)
	assert.Equal(t, int64(9), history.MaxID, "the baseline still counts the checkpoint")
}

func TestObserveCheckpoints(t *testing.T) {
	ctx := context.Background()
	rest := flinkfake.New()
	rest.AddJob(jm, flinkfake.Job{Details: flinkclient.JobDetails{ID: jobID, State: flinkclient.JobStateRunning},
		Checkpoints: &flinkclient.CheckpointStats{
			LatestCompleted: &flinkclient.CompletedCheckpoint{ID: 7, ExternalPath: "file:/cp/j/chk-7", LatestAckTimestamp: 1_700_000_000_000, Discarded: true},
			LatestSavepoint: &flinkclient.CompletedCheckpoint{ID: 5, ExternalPath: "/sp/5"},
			LatestFailed:    &flinkclient.FailedCheckpoint{ID: 8},
			LatestRestored:  &flinkclient.RestoredCheckpoint{ID: 3, ExternalPath: "file:/cp/j/chk-3"}}})
	assert.Equal(t, fsm.CheckpointObservation{Read: true, MaxID: 8, LatestSavepointID: 5, LatestSavepointPath: "/sp/5",
		Latest:   fsm.CompletedCheckpoint{ID: 7, Path: "file:/cp/j/chk-7", CompletedAt: time.UnixMilli(1_700_000_000_000), Discarded: true},
		Restored: true, RestoredFrom: fsm.CompletedCheckpoint{ID: 3, Path: "file:/cp/j/chk-3"}},
		ObserveCheckpoints(ctx, rest, jm, jobID))

	rest.AddJob(jm, flinkfake.Job{Details: flinkclient.JobDetails{ID: jobID, State: flinkclient.JobStateRunning},
		Checkpoints: &flinkclient.CheckpointStats{
			LatestCompleted: &flinkclient.CompletedCheckpoint{ID: 7, ExternalPath: "file:/cp/j/chk-7"},
			LatestSavepoint: &flinkclient.CompletedCheckpoint{ID: 9, ExternalPath: "/sp/9", IsSavepoint: true}}})
	assert.Equal(t, fsm.CompletedCheckpoint{ID: 9, Path: "/sp/9", Savepoint: true}, ObserveCheckpoints(ctx, rest, jm, jobID).Latest,
		"a savepoint newer than the latest checkpoint is the latest state")

	rest.AddJob(jm, flinkfake.Job{Details: flinkclient.JobDetails{ID: jobID, State: flinkclient.JobStateRunning},
		Checkpoints: &flinkclient.CheckpointStats{
			LatestCompleted: &flinkclient.CompletedCheckpoint{ID: 7, ExternalPath: "file:/cp/j/chk-7"},
			RecentCompleted: []flinkclient.CompletedCheckpoint{{ID: 7, ExternalPath: "file:/cp/j/chk-7"}, {ID: 6, ExternalPath: "file:/cp/j/chk-6"},
				{ID: 5, ExternalPath: "/sp/5", IsSavepoint: true}, {ID: 4, ExternalPath: "file:/cp/j/chk-4", Discarded: true},
				{ID: 3, ExternalPath: "file:/cp/j/chk-3"}, {ID: 2, ExternalPath: "file:/cp/j/chk-2"}, {ID: 1, ExternalPath: "file:/cp/j/chk-1"}}}})
	assert.Equal(t, []fsm.CompletedCheckpoint{{ID: 6, Path: "file:/cp/j/chk-6"}, {ID: 3, Path: "file:/cp/j/chk-3"}, {ID: 2, Path: "file:/cp/j/chk-2"}},
		ObserveCheckpoints(ctx, rest, jm, jobID).Older, "older retained checkpoints, not savepoints nor discarded ones, at most three")

	rest.AddJob(jm, flinkfake.Job{Details: flinkclient.JobDetails{ID: jobID, State: flinkclient.JobStateFinished}})
	assert.Equal(t, fsm.CheckpointObservation{Read: true}, ObserveCheckpoints(ctx, rest, jm, jobID),
		"a job without checkpointing (a batch job) has an empty history, read")

	rest.Inject(flinkfake.Fault{Err: flinkfake.Timeout()})
	assert.Equal(t, fsm.CheckpointObservation{}, ObserveCheckpoints(ctx, rest, jm, jobID), "a failed call leaves it unread")
}

func TestObserveRetention(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		config *flinkclient.CheckpointConfig
		want   v1beta1.CheckpointRetention
	}{
		{"no externalization", &flinkclient.CheckpointConfig{Interval: 1000, Externalization: flinkclient.ExternalizedCheckpoint{DeleteOnCancellation: true}}, v1beta1.CheckpointRetentionNotRetained},
		{"RETAIN_ON_CANCELLATION", &flinkclient.CheckpointConfig{Interval: 1000, Externalization: flinkclient.ExternalizedCheckpoint{Enabled: true}}, v1beta1.CheckpointRetentionRetainOnCancellation},
		{"DELETE_ON_CANCELLATION", &flinkclient.CheckpointConfig{Interval: 1000, Externalization: flinkclient.ExternalizedCheckpoint{Enabled: true, DeleteOnCancellation: true}}, v1beta1.CheckpointRetentionDeleteOnCancellation},
		{"checkpointing disabled: 404", nil, v1beta1.CheckpointRetentionCheckpointingDisabled},
		{"checkpointing disabled: Flink 1.20 and 2.3 say so with the interval", &flinkclient.CheckpointConfig{Interval: math.MaxInt64,
			Externalization: flinkclient.ExternalizedCheckpoint{DeleteOnCancellation: true}}, v1beta1.CheckpointRetentionCheckpointingDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest := flinkfake.New()
			rest.AddJob(jm, flinkfake.Job{Details: flinkclient.JobDetails{ID: jobID, State: flinkclient.JobStateRunning}, CheckpointConfig: tt.config})
			want := fsm.RetentionObservation{Read: true, Retention: tt.want}
			if tt.want != v1beta1.CheckpointRetentionCheckpointingDisabled {
				want.Interval = time.Second
			}
			assert.Equal(t, want, ObserveRetention(ctx, rest, jm, jobID))
		})
	}
	rest := flinkfake.New()
	rest.Inject(flinkfake.Fault{Err: flinkfake.Timeout()})
	assert.Equal(t, fsm.RetentionObservation{}, ObserveRetention(ctx, rest, jm, jobID), "a failed call leaves it unread")
}

// TestRestoreSourceMissing: the causes Flink 1.20 and 2.3 give when a job is submitted with a
// restore path that is gone (seen on both with flink run -s).
func TestRestoreSourceMissing(t *testing.T) {
	gone := "org.apache.flink.runtime.client.JobInitializationException: Could not start the JobMaster.\n\tat x\n" +
		"Caused by: java.io.FileNotFoundException: Cannot find checkpoint or savepoint file/directory 'file:///cp/nope/chk-99' on file system 'file'."
	assert.True(t, RestoreSourceMissing(gone))
	assert.True(t, RestoreSourceMissing("Caused by: java.io.FileNotFoundException: Cannot find meta data file '_metadata' in directory 'file:/cp/chk-3'."))
	assert.False(t, RestoreSourceMissing("org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy"))
	assert.False(t, RestoreSourceMissing(""))
}

// TestFailureSummary: the first line, and the innermost cause, where the job's own exception is.
func TestFailureSummary(t *testing.T) {
	trace := "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy\n\tat a.B(B.java:1)\n" +
		"Caused by: java.lang.RuntimeException: wrapped\n\tat c.D(D.java:2)\n" +
		"Caused by: java.lang.IllegalStateException: CounterJob: intentional failure after 0 records\n\tat e.F(F.java:3)\n\t... 12 more"
	assert.Equal(t, "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy; "+
		"caused by java.lang.IllegalStateException: CounterJob: intentional failure after 0 records", FailureSummary(trace))
	assert.Equal(t, "java.lang.IllegalStateException: boom", FailureSummary("java.lang.IllegalStateException: boom\n\tat x.Y(Y.java:1)"), "no cause")
	assert.Equal(t, "", FailureSummary(""))
}
