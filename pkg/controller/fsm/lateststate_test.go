package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

const (
	chk12 = "file:/cp/j1/chk-12"
	sp5   = "file:/sp/savepoint-5"
)

// latestInput is a running job whose restart policy resumes from the latest state, with a
// savepoint that ended 5 minutes ago and a checkpoint recorded a minute ago.
func latestInput(state State) Input {
	in := input(state)
	in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)
	in.FlinkVersion = "2.3"
	in.Revision = "r1"
	st := &in.Status
	st.Revision, st.FlinkVersion = "r1", "2.3"
	st.CheckpointRetention = v1beta1.CheckpointRetentionRetainOnCancellation
	st.SavepointLocation = sp5
	st.SavepointHistory = []v1beta1.SavepointOperation{{Reason: v1beta1.SavepointReasonScheduled, State: v1beta1.SavepointStateSucceeded, EndTime: at(-5 * time.Minute), Location: sp5}}
	st.LatestCheckpoint = &v1beta1.CheckpointRecord{JobID: st.ID, ID: 12, Location: chk12, RecordTime: at(-time.Minute)}
	return in
}

// ended is the job after it failed or was lost, with the restart backoff passed.
func ended(state State) Input {
	in := latestInput(state)
	in.Status.EndTime = at(-time.Hour)
	in.Flink = FlinkObservation{}
	in.Checkpoints = CheckpointObservation{}
	return in
}

func updating(mode v1beta1.UpgradeMode) Input {
	in := latestInput(Updating)
	in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState)
	in.Revision = "r2"
	in.Status.TargetRevision, in.Status.UpdateMode = "r2", mode
	return in
}

func TestLatestStateTransitions(t *testing.T) {
	tests := []stepCase{
		{"a failure waits for the history that says what the job completed last", func() Input {
			in := latestInput(Running)
			in.Flink.State = "FAILED"
			in.Checkpoints = CheckpointObservation{}
			assert.True(t, NeedsCheckpoints(in))
			return in
		}, Running, nil, nil},
		{"a failure records the latest checkpoint", func() Input {
			in := latestInput(Running)
			in.Flink.State = "FAILED"
			in.Checkpoints = CheckpointObservation{Read: true, MaxID: 14, Latest: CompletedCheckpoint{ID: 14, Path: "file:/cp/j1/chk-14", CompletedAt: t0.Add(-3 * time.Second)}}
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, &v1beta1.CheckpointRecord{JobID: d.Status.ID, ID: 14, Location: "file:/cp/j1/chk-14", CompletionTime: at(-3 * time.Second), RecordTime: at(0)}, d.Status.LatestCheckpoint)
		}},
		{"FromSavepointOnFailure fails without reading the history", func() Input {
			in := latestInput(Running)
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			in.Flink.State = "FAILED"
			in.Checkpoints = CheckpointObservation{}
			assert.False(t, NeedsCheckpoints(in))
			return in
		}, Failed, nil, nil},
		{"restart from the checkpoint recorded after the savepoint", func() Input { return ended(Failed) }, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, chk12, d.Status.FromSavepoint)
			assert.True(t, d.Status.FromCheckpoint)
			assert.Equal(t, chk12, d.Actions[0].FromSavepoint)
			assert.Equal(t, int32(1), d.Status.RestartCount)
			assert.Equal(t, "restoring from checkpoint 12 at "+chk12, d.Status.Message)
			assert.Equal(t, d.Status.LatestCheckpoint.ID, int64(12), "the record stays until the new attempt checkpoints")
		}},
		{"a lost job restarts from the recorded checkpoint, whatever the retention", func() Input {
			in := ended(Lost)
			in.Status.CheckpointRetention = v1beta1.CheckpointRetentionNotRetained
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, chk12, d.Status.FromSavepoint)
		}},
		{"a savepoint that ended after the record is newer", func() Input {
			in := ended(Failed)
			in.Status.SavepointHistory[0].EndTime = at(-time.Minute)
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, sp5, d.Status.FromSavepoint, "a tie on the stamps goes to the savepoint")
			assert.False(t, d.Status.FromCheckpoint)
			assert.Equal(t, "restoring from savepoint "+sp5, d.Status.Message)
		}},
		{"a checkpoint Flink discarded is passed over, and said so", func() Input {
			in := ended(Failed)
			in.Status.LatestCheckpoint.Discarded = true
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, sp5, d.Status.FromSavepoint)
			assert.Equal(t, fallbackNote+"savepoint "+sp5+": checkpoint 12 at "+chk12+" was deleted by Flink", d.Status.Message)
		}},
		{"a failed job whose checkpoints are not retained restarts from the savepoint", func() Input {
			in := ended(Failed)
			in.Status.CheckpointRetention = v1beta1.CheckpointRetentionNotRetained
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, sp5, d.Status.FromSavepoint)
			assert.Contains(t, d.Status.Message, "was deleted when the job ended")
		}},
		{"nothing to restore from: stays failed and says why", func() Input {
			in := latestInput(Running)
			in.Status.SavepointLocation, in.Status.SavepointHistory = "", nil
			in.Status.CheckpointRetention = v1beta1.CheckpointRetentionNotRetained
			in.Flink.State = "FAILED"
			in.Checkpoints = CheckpointObservation{Read: true, Latest: CompletedCheckpoint{ID: 12, Path: chk12, Discarded: true}}
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.Contains(t, d.Status.Message, "not restarted: restartPolicy FromLatestStateOnFailure found no retained checkpoint or savepoint to restore")
			assert.Zero(t, d.RequeueAfter)
		}},
		{"a restore source that is gone is recorded and never tried again (seen INITIALIZING first)", func() Input {
			in := latestInput(Running)
			in.Status.FromSavepoint, in.Status.FromCheckpoint = chk12, true
			in.Flink = FlinkObservation{Polled: true, Reachable: true, Found: true, State: "FAILED", RestoreMissing: true}
			in.Checkpoints = CheckpointObservation{Read: true}
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, []string{chk12}, d.Status.UnrestorableLocations)
		}},
		{"a restore source that is gone is recorded and never tried again", func() Input {
			in := latestInput(Submitting)
			in.Status.FromSavepoint, in.Status.FromCheckpoint = chk12, true
			in.Flink = FlinkObservation{Polled: true, Reachable: true, Found: true, State: "FAILED", RestoreMissing: true,
				Failure: "org.apache.flink.runtime.client.JobInitializationException: Could not start the JobMaster."}
			in.Checkpoints = CheckpointObservation{Read: true}
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, []string{chk12}, d.Status.UnrestorableLocations)
			in := ended(Failed)
			in.Status = d.Status
			in.Status.EndTime = at(-time.Hour)
			next := Step(in)
			assert.Equal(t, Submitting, next.Status.State)
			assert.Equal(t, sp5, next.Status.FromSavepoint, "falls back to the savepoint")
			assert.Equal(t, fallbackNote+"savepoint "+sp5+": checkpoint 12 at "+chk12+" could not be restored", next.Status.Message)
		}},

		{"the history's older retained checkpoints newer than the savepoint are recorded as candidates", func() Input {
			in := latestInput(Running)
			in.Checkpoints = CheckpointObservation{Read: true, LatestSavepointID: 9, LatestSavepointPath: sp5,
				Latest: CompletedCheckpoint{ID: 13, Path: "file:/cp/j1/chk-13"},
				Older:  []CompletedCheckpoint{{ID: 12, Path: chk12}, {ID: 10, Path: "file:/cp/j1/chk-10"}, {ID: 8, Path: "file:/cp/j1/chk-8"}}}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, []v1beta1.CheckpointRef{{ID: 12, Location: chk12}, {ID: 10, Location: "file:/cp/j1/chk-10"}}, d.Status.LatestCheckpoint.Older,
				"checkpoint 8 is older than savepoint 9")
		}},
		{"no older candidates when the history does not name the savepoint in status", func() Input {
			in := latestInput(Running)
			in.Checkpoints = CheckpointObservation{Read: true, Latest: CompletedCheckpoint{ID: 13, Path: "file:/cp/j1/chk-13"},
				Older: []CompletedCheckpoint{{ID: 12, Path: chk12}}}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Empty(t, d.Status.LatestCheckpoint.Older, "the savepoint's place among them is unknown")
		}},
		{"a recorded checkpoint that cannot be restored: the next older one, said so", func() Input {
			in := ended(Failed)
			in.Status.LatestCheckpoint.ID, in.Status.LatestCheckpoint.Location = 13, "file:/cp/j1/chk-13"
			in.Status.LatestCheckpoint.Older = []v1beta1.CheckpointRef{{ID: 12, Location: chk12}}
			in.Status.UnrestorableLocations = []string{"file:/cp/j1/chk-13"}
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, chk12, d.Status.FromSavepoint)
			assert.True(t, d.Status.FromCheckpoint)
			assert.Equal(t, fallbackNote+"checkpoint 12 at "+chk12+": checkpoint 13 at file:/cp/j1/chk-13 could not be restored", d.Status.Message)
		}},
		{"every checkpoint candidate gone: the savepoint", func() Input {
			in := ended(Failed)
			in.Status.LatestCheckpoint.Older = []v1beta1.CheckpointRef{{ID: 11, Location: "file:/cp/j1/chk-11"}}
			in.Status.UnrestorableLocations = []string{"file:/cp/j1/chk-11", chk12}
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, sp5, d.Status.FromSavepoint)
			assert.Equal(t, fallbackNote+"savepoint "+sp5+": checkpoint 12 at "+chk12+" could not be restored; checkpoint 11 at file:/cp/j1/chk-11 could not be restored", d.Status.Message)
		}},
		{"LastState update: cancel without a savepoint", func() Input {
			in := latestInput(Running)
			in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState)
			in.Revision = "r2"
			return in
		}, Updating, []ActionKind{ActCancelJob}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.UpgradeModeLastState, d.Status.UpdateMode)
			assert.Equal(t, "r2", d.Status.TargetRevision)
			assert.Nil(t, d.Status.Savepoint)
		}},
		{"LastState update without a checkpoint of this job: waits, the job keeps running", func() Input {
			in := latestInput(Running)
			in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState)
			in.Revision = "r2"
			in.Status.LatestCheckpoint.JobID = "previous-attempt"
			assert.Equal(t, "the job has not completed a checkpoint yet", LastStateBlocker(in))
			return in
		}, Running, nil, nil},
		{"LastState update of a job that deletes checkpoints on cancel: waits", func() Input {
			in := latestInput(Running)
			in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState)
			in.Revision = "r2"
			in.Status.CheckpointRetention = v1beta1.CheckpointRetentionDeleteOnCancellation
			assert.Contains(t, LastStateBlocker(in), "would delete its checkpoints when it is cancelled")
			return in
		}, Running, nil, nil},
		{"LastState update to another Flink version: by savepoint", func() Input {
			in := latestInput(Running)
			in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState)
			in.Revision, in.FlinkVersion = "r2", "2.4"
			return in
		}, Updating, []ActionKind{ActStopWithSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.UpgradeModeSavepoint, d.Status.UpdateMode)
		}},
		{"a LastState update waits for the history after the cancellation", func() Input {
			in := updating(v1beta1.UpgradeModeLastState)
			in.Flink.State = "CANCELED"
			in.Checkpoints = CheckpointObservation{}
			assert.True(t, NeedsCheckpoints(in))
			return in
		}, Updating, nil, nil},
		{"a LastState update records the checkpoint the cancellation kept", func() Input {
			in := updating(v1beta1.UpgradeModeLastState)
			in.Flink.State = "CANCELED"
			in.Checkpoints = CheckpointObservation{Read: true, Latest: CompletedCheckpoint{ID: 15, Path: "file:/cp/j1/chk-15"}}
			return in
		}, Deploying, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, int64(15), d.Status.LatestCheckpoint.ID)
		}},
		{"a LastState update resumes from that checkpoint", func() Input {
			in := updating(v1beta1.UpgradeModeLastState)
			in.Status.State = Deploying
			in.Status.LatestCheckpoint = &v1beta1.CheckpointRecord{JobID: in.Status.ID, ID: 15, Location: "file:/cp/j1/chk-15", RecordTime: at(-2 * time.Second)}
			in.ClusterReady, in.ClusterUpToDate = true, true
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, "file:/cp/j1/chk-15", d.Status.FromSavepoint)
			assert.True(t, d.Status.FromCheckpoint)
			assert.Empty(t, d.Status.UpdateMode)
			assert.Empty(t, d.Status.TargetRevision)
		}},
		{"a LastState update cancels a job that still runs", func() Input {
			return updating(v1beta1.UpgradeModeLastState)
		}, Updating, []ActionKind{ActCancelJob}, nil},
		{"a LastState update whose JobManager is lost after the cancel: Lost, the update forgotten", func() Input {
			in := updating(v1beta1.UpgradeModeLastState)
			in.Flink = FlinkObservation{Polled: true, Reachable: true, Found: false}
			in.Status.NotFoundSince = at(-2 * time.Minute)
			in.Submitter = SubmitterSucceeded
			return in
		}, Lost, nil, func(t *testing.T, d Decision) {
			assert.Empty(t, d.Status.UpdateMode)
			assert.Empty(t, d.Status.TargetRevision)
			in := ended(Lost)
			in.Revision = "r2" // the spec the update was rolling out
			in.Status = d.Status
			in.Status.EndTime = at(-time.Hour)
			next := Step(in)
			assert.Equal(t, chk12, next.Status.FromSavepoint, "restarts from the checkpoint recorded before the cancel")
			assert.Equal(t, "r2", next.Status.Revision, "as the new spec")
		}},
		{"upgradeFallback LastState: a failed update savepoint cancels instead", func() Input {
			in := updating(v1beta1.UpgradeModeSavepoint)
			in.Spec.UpgradeMode = nil
			in.Spec.UpgradeFallback = ptr.To(v1beta1.UpgradeFallbackLastState)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUpdate, -10*time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "task not running"}
			return in
		}, Updating, []ActionKind{ActCancelJob}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.UpgradeModeLastState, d.Status.UpdateMode)
			assert.Equal(t, v1beta1.SavepointStateFailed, d.Status.Savepoint.State)
		}},
		{"upgradeFallback LastState without a checkpoint: the job keeps running", func() Input {
			in := updating(v1beta1.UpgradeModeSavepoint)
			in.Spec.UpgradeMode = nil
			in.Spec.UpgradeFallback = ptr.To(v1beta1.UpgradeFallbackLastState)
			in.Status.LatestCheckpoint = nil
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUpdate, -10*time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "task not running"}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Empty(t, d.Status.UpdateMode)
		}},
		{"the running job's latest checkpoint is recorded whatever else happens", func() Input {
			in := latestInput(Running)
			in.Checkpoints = CheckpointObservation{Read: true, Latest: CompletedCheckpoint{ID: 13, Path: "file:/cp/j1/chk-13"}}
			in.Retention = RetentionObservation{Read: true, Retention: v1beta1.CheckpointRetentionDeleteOnCancellation}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Nil(t, d.Transition)
			assert.Equal(t, int64(13), d.Status.LatestCheckpoint.ID)
			assert.Equal(t, at(0), d.Status.LatestCheckpoint.RecordTime)
			assert.Equal(t, v1beta1.CheckpointRetentionDeleteOnCancellation, d.Status.CheckpointRetention)
		}},
		{"an unchanged checkpoint is not recorded again (no status write)", func() Input {
			in := latestInput(Running)
			in.Checkpoints = CheckpointObservation{Read: true, Latest: CompletedCheckpoint{ID: 12, Path: chk12}}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, at(-time.Minute), d.Status.LatestCheckpoint.RecordTime)
		}},
	}
	runSteps(t, tests)
}

func TestRestoreNotices(t *testing.T) {
	before := ended(Failed).Status
	after := before
	after.Attempt++
	after.FromSavepoint, after.FromCheckpoint = chk12, true
	after.Message = "restoring from checkpoint 12 at " + chk12
	assert.Equal(t, []Notice{{Reason: NoticeRestoring, Message: "attempt 2 " + after.Message}}, Notices(before, after))
	after.Message = fallbackNote + "savepoint " + sp5 + ": checkpoint 12 was deleted"
	assert.Equal(t, []Notice{{Warning: true, Reason: NoticeRestoring, Message: "attempt 2 " + after.Message}}, Notices(before, after))
	after.FromSavepoint = ""
	assert.Empty(t, Notices(before, after), "a fresh start restores nothing")
}
