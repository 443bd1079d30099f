package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// restoreAsked is input(state) whose spec asks for a restore from /sp/chosen.
func restoreAsked(state State) Input {
	in := input(state)
	in.Spec.FromSavepoint = ptr.To("/sp/chosen")
	in.Spec.RestoreGeneration = 1
	in.Status.Revision, in.Revision = "rev-1", "rev-1"
	return in
}

func TestRestoreFromAChosenSavepoint(t *testing.T) {
	stopped := func(state State) func() Input {
		return func() Input {
			in := restoreAsked(state)
			in.Flink.State = "FAILED"
			return in
		}
	}
	targetRecorded := func(t *testing.T, d Decision) { assert.Equal(t, "/sp/chosen", d.Status.RestoreTarget) }
	tests := []stepCase{
		{"a running job is stopped with a savepoint first", func() Input { return restoreAsked(Running) }, Updating, []ActionKind{ActStopWithSavepoint},
			func(t *testing.T, d Decision) {
				targetRecorded(t, d)
				assert.Equal(t, v1beta1.SavepointReasonUpdate, d.Status.Savepoint.Reason)
				assert.Equal(t, int32(0), d.Status.RestoreGeneration, "recorded when the new attempt is submitted")
			}},
		{"without savepointsDir it is cancelled", func() Input {
			in := restoreAsked(Running)
			in.Spec.SavepointsDir = nil
			return in
		}, Updating, []ActionKind{ActCancelJob}, targetRecorded},
		{"upgradeMode Savepoint while Flink restarts the job: wait", func() Input {
			in := restoreAsked(Running)
			in.Flink.State = "RESTARTING"
			return in
		}, Running, nil, nil},
		{"the stop's savepoint failed: the job runs on, the request stays", func() Input {
			in := restoreAsked(Updating)
			in.Status.RestoreTarget, in.Status.TargetRevision, in.Status.UpdateMode = "/sp/chosen", "rev-1", v1beta1.UpgradeModeSavepoint
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUpdate, -time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "x"}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Empty(t, d.Status.RestoreTarget)
			again := restoreAsked(Running)
			again.Status = d.Status
			assert.True(t, restoreRequested(again), "asked again (after 30 s, as an update)")
		}},
		{"stopped: rebuilt, then resubmitted from the chosen savepoint, not the stop's", func() Input {
			in := restoreAsked(Deploying)
			in.ClusterReady, in.ClusterUpToDate = true, true
			in.Status.RestoreTarget, in.Status.UpdateMode = "/sp/chosen", v1beta1.UpgradeModeSavepoint
			in.Status.SavepointLocation = "/sp/the-stop"
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, "/sp/chosen", d.Status.FromSavepoint)
			assert.Equal(t, int32(1), d.Status.RestoreGeneration)
			assert.Equal(t, ptr.To("/sp/chosen"), d.Status.AppliedFromSavepoint)
			assert.Empty(t, d.Status.RestoreTarget)
			assert.Zero(t, d.Status.RestartCount, "a request, not a restart")
		}},
		{"a failed job starts again", stopped(Failed), Deploying, nil, targetRecorded},
		{"a lost job starts again", stopped(Lost), Deploying, nil, targetRecorded},
		{"a finished job starts again", stopped(Succeeded), Deploying, nil, targetRecorded},
		{"a cancelled job starts again", stopped(Cancelled), Deploying, nil, targetRecorded},
		{"not one cancelled by cancelRequested (it would be cancelled again)", func() Input {
			in := stopped(Cancelled)()
			in.Spec.CancelRequested = ptr.To(true)
			return in
		}, Cancelled, nil, nil},
		{"a suspended job keeps the target for its resume", func() Input {
			in := restoreAsked(Suspended)
			in.Spec.State = ptr.To(v1beta1.JobDesiredStateSuspended)
			return in
		}, Suspended, nil, func(t *testing.T, d Decision) {
			targetRecorded(t, d)
			assert.Contains(t, d.Status.Message, "restoring from savepoint /sp/chosen")
		}},
		{"a restore in progress is not asked again", func() Input {
			in := restoreAsked(Running)
			in.Status.RestoreTarget = "/sp/chosen"
			return in
		}, Running, nil, nil},
		{"already done", func() Input {
			in := restoreAsked(Running)
			in.Status.RestoreGeneration = 1
			return in
		}, Running, nil, nil},
		{"the first submission takes fromSavepoint and records the generation", func() Input {
			in := restoreAsked(Pending)
			in.Status = v1beta1.JobStatus{}
			in.ClusterReady = true
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, "/sp/chosen", d.Status.FromSavepoint)
			assert.Equal(t, int32(1), d.Status.RestoreGeneration)
			assert.Equal(t, ptr.To("/sp/chosen"), d.Status.AppliedFromSavepoint)
		}},
	}
	runSteps(t, tests)
}
