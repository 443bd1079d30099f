package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// suspended is input(state) with spec.job.state Suspended.
func suspended(state State) Input {
	in := input(state)
	in.Spec.State = ptr.To(v1beta1.JobDesiredStateSuspended)
	return in
}

// lastStateReady makes in a LastState job whose stop by cancellation keeps a recorded checkpoint.
func lastStateReady(in Input) Input {
	in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeLastState)
	in.FlinkVersion, in.Status.FlinkVersion = "2.3", "2.3"
	in.Status.CheckpointRetention = v1beta1.CheckpointRetentionRetainOnCancellation
	in.Status.LatestCheckpoint = &v1beta1.CheckpointRecord{JobID: in.Status.ID, ID: 7, Location: "/chk/7"}
	return in
}

func TestSuspendAndResume(t *testing.T) {
	tests := []stepCase{
		{"Suspended stops a running job with a savepoint", func() Input { return suspended(Running) }, Suspending, []ActionKind{ActStopWithSavepoint},
			func(t *testing.T, d Decision) {
				assert.Equal(t, v1beta1.SavepointReasonSuspend, d.Status.Savepoint.Reason)
				assert.Equal(t, v1beta1.UpgradeModeSavepoint, d.Status.UpdateMode)
				assert.Equal(t, int64(7), d.Status.Savepoint.AfterCheckpointID, "a confirmed stop")
				assert.Empty(t, d.Status.TargetRevision, "nothing to roll out")
			}},
		{"LastState: cancelled, its checkpoints kept", func() Input { return lastStateReady(suspended(Running)) }, Suspending, []ActionKind{ActCancelJob},
			func(t *testing.T, d Decision) {
				assert.Equal(t, v1beta1.UpgradeModeLastState, d.Status.UpdateMode)
				assert.Equal(t, DefaultSettings().SavepointPollInterval, d.RequeueAfter, "no watch event comes when Flink stops it: poll")
			}},
		{"LastState without a recorded checkpoint: it waits", func() Input {
			in := lastStateReady(suspended(Running))
			in.Status.LatestCheckpoint = nil
			return in
		}, Running, nil, nil},
		{"Stateless: cancelled", func() Input {
			in := suspended(Running)
			in.Spec.UpgradeMode = ptr.To(v1beta1.UpgradeModeStateless)
			return in
		}, Suspending, []ActionKind{ActCancelJob}, nil},
		{"not while Flink restarts it (no savepoint possible)", func() Input {
			in := suspended(Running)
			in.Flink.State = "RESTARTING"
			return in
		}, Running, nil, nil},
		{"not while a savepoint is in flight", func() Input {
			in := suspended(Savepointing)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUser, -time.Second)
			return in
		}, Savepointing, nil, nil},
		{"a suspension savepoint failed recently: wait", func() Input {
			in := suspended(Running)
			in.Status.Savepoint = &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonSuspend, State: v1beta1.SavepointStateFailed, EndTime: at(-5 * time.Second)}
			return in
		}, Running, nil, nil},
		{"the suspension savepoint failed: the job keeps running", func() Input {
			in := suspended(Suspending)
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonSuspend, -time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "x"}
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Empty(t, d.Status.UpdateMode) }},
		{"the savepoint done, the job stopped: Suspended", func() Input {
			in := suspended(Suspending)
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			in.Status.SavepointLocation = "/sp/suspend"
			in.Flink.State = "FINISHED"
			return in
		}, Suspended, nil, func(t *testing.T, d Decision) {
			assert.Zero(t, d.RequeueAfter, "nothing to poll until the spec changes")
			assert.NotNil(t, d.Status.EndTime)
			assert.Contains(t, d.Status.Message, "set it to Running to resume (restoring from savepoint /sp/suspend)")
		}},
		{"not Suspended while the stop's savepoint is unknown", func() Input {
			in := suspended(Suspending)
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonSuspend, -time.Second)
			in.Flink.State = "FINISHED"
			return in
		}, Suspending, nil, nil},
		{"a suspension's stop that outlives the savepoint timeout stays Suspending, marked overdue", func() Input {
			in := suspended(Suspending)
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonSuspend, -time.Hour)
			in.SavepointSeenAt = t0.Add(-time.Hour)
			in.Flink = FlinkObservation{Polled: true} // the JobManager does not answer
			return in
		}, Suspending, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.SavepointStateInProgress, d.Status.Savepoint.State, "still polled")
			assert.True(t, StopOverdue(d.Status))
		}},
		{"a stop that cannot be confirmed: Failed, never resumed from an older savepoint", func() Input {
			in := suspended(Suspending)
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonSuspend, -time.Second)
			in.Status.Savepoint.AfterCheckpointID = 7
			in.Flink.State = "FINISHED"
			in.Savepoint = SavepointObservation{Polled: true, NotFound: true}
			return in
		}, Failed, nil, func(t *testing.T, d Decision) { assert.True(t, UpdateStopUnconfirmed(d.Status)) }},
		{"LastState: the cancelled job is Suspended", func() Input {
			in := lastStateReady(suspended(Suspending))
			in.Status.UpdateMode = v1beta1.UpgradeModeLastState
			in.Flink.State = "CANCELED"
			return in
		}, Suspended, nil, nil},
		{"Suspended waits, whatever Flink says of the stopped attempt", func() Input {
			in := suspended(Suspended)
			in.Flink.State = "FINISHED"
			in.ClusterReady = true
			return in
		}, Suspended, nil, nil},
		{"Running again: rebuild, then resume", func() Input {
			in := input(Suspended)
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			return in
		}, Deploying, nil, func(t *testing.T, d Decision) { assert.Empty(t, d.Status.Message) }},
		{"resumed from the suspension's savepoint as a new attempt", func() Input {
			in := input(Deploying)
			in.ClusterReady, in.ClusterUpToDate = true, true
			in.Status.UpdateMode = v1beta1.UpgradeModeSavepoint
			in.Status.SavepointLocation = "/sp/suspend"
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, "/sp/suspend", d.Status.FromSavepoint)
			assert.Equal(t, int32(2), d.Status.Attempt)
			assert.Empty(t, d.Status.UpdateMode)
		}},
		{"LastState: resumed from the kept checkpoint", func() Input {
			in := lastStateReady(input(Deploying))
			in.ClusterReady, in.ClusterUpToDate = true, true
			in.Status.UpdateMode = v1beta1.UpgradeModeLastState
			in.Status.SavepointLocation = "/sp/older"
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) { assert.Equal(t, "/chk/7", d.Status.FromSavepoint) }},
		{"suspended again before the resume was submitted", func() Input {
			in := suspended(Deploying)
			in.ClusterReady, in.ClusterUpToDate = true, true
			return in
		}, Suspended, nil, nil},
		{"suspended before the first submission: nothing to stop", func() Input {
			in := suspended(Pending)
			in.Status = v1beta1.JobStatus{}
			in.ClusterReady = true
			return in
		}, Suspended, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, "suspended (spec.job.state); set it to Running to resume", d.Status.Message)
		}},
		{"resumed before the first submission: Pending, then submitted as usual", func() Input {
			in := input(Suspended)
			in.Status = v1beta1.JobStatus{State: Suspended}
			return in
		}, Pending, nil, nil},
		{"cancelRequested ends a suspended job for good", func() Input {
			in := suspended(Suspended)
			in.Spec.CancelRequested = ptr.To(true)
			return in
		}, Cancelled, nil, nil},
		{"a suspended job is not restarted by its policy", func() Input {
			in := suspended(Suspended)
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			in.Status.SavepointLocation = "/sp/suspend"
			in.Status.EndTime = at(-time.Hour)
			return in
		}, Suspended, nil, nil},
	}
	runSteps(t, tests)
}
