package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// onTrial is an updated job (revision "new", submitted from the update's savepoint) with
// spec.job.rollback, whose previous revision "old" ran well.
func onTrial(state State) Input {
	in := input(state)
	in.Spec.Rollback = &v1beta1.JobRollback{}
	in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	in.Revision = "new"
	in.Status.Revision = "new"
	in.Status.Attempt = 2
	in.Status.ID = JobID("uid", 2)
	in.Status.SubmitTime = at(-time.Minute)
	in.Status.FromSavepoint = "/sp/savepoint-update"
	in.Status.SavepointLocation = "/sp/savepoint-update"
	in.Status.Rollback = &v1beta1.RollbackStatus{StableRevision: "old", StableSpec: "{}"}
	return in
}

func failedOnTrial(state State, message string) Input {
	in := onTrial(state)
	in.Status.EndTime = at(-time.Second)
	in.Status.Message = message
	in.Flink.State = "FAILED"
	return in
}

func TestRollback(t *testing.T) {
	timeout := v1beta1.DefaultRollbackTimeout
	rolledBackFrom := func(location string, reason string) func(*testing.T, Decision) {
		return func(t *testing.T, d Decision) {
			r := d.Status.Rollback
			if assert.NotNil(t, r) {
				assert.Equal(t, v1beta1.RollbackStateRollingBack, r.State)
				assert.Equal(t, "new", r.FailedRevision)
				assert.Equal(t, "old", r.StableRevision, "kept")
				assert.Equal(t, location, r.RestoreFrom)
				assert.Equal(t, reason, r.Reason)
				assert.Equal(t, at(0), r.Time)
			}
		}
	}
	tests := []stepCase{
		{"a failed update is rolled back before its restart policy restarts it", func() Input {
			return failedOnTrial(Failed, "IllegalStateException: boom")
		}, Deploying, nil, func(t *testing.T, d Decision) {
			rolledBackFrom("/sp/savepoint-update", RollbackReasonFailed)(t, d)
			assert.Contains(t, d.Status.Rollback.Message, "IllegalStateException: boom")
			assert.Equal(t, at(0), d.Status.DeployTime)
		}},
		{"a lost one too", func() Input { return failedOnTrial(Lost, "") }, Deploying, nil, rolledBackFrom("/sp/savepoint-update", RollbackReasonFailed)},
		{"from what the failed attempt started from, not a savepoint it took since", func() Input {
			in := failedOnTrial(Failed, "")
			in.Status.SavepointLocation = "/sp/savepoint-of-the-new-revision"
			return in
		}, Deploying, nil, rolledBackFrom("/sp/savepoint-update", RollbackReasonFailed)},
		{"a LastState update's checkpoint", func() Input {
			in := failedOnTrial(Failed, "")
			in.Status.FromSavepoint, in.Status.FromCheckpoint = "/chk/7", true
			return in
		}, Deploying, nil, func(t *testing.T, d Decision) {
			assert.True(t, d.Status.Rollback.RestoreFromCheckpoint)
			assert.Equal(t, "/chk/7", d.Status.Rollback.RestoreFrom)
		}},
		{"running without a completed checkpoint past the timeout: cancelled, no savepoint", func() Input {
			in := onTrial(Running)
			in.Now = in.Status.SubmitTime.Add(timeout)
			in.Flink.State = "RESTARTING"
			return in
		}, Updating, []ActionKind{ActCancelJob}, func(t *testing.T, d Decision) {
			assert.Equal(t, RollbackReasonTimedOut, d.Status.Rollback.Reason)
			assert.Contains(t, d.Status.Rollback.Message, "Flink reports RESTARTING")
			assert.Equal(t, "old", d.Status.TargetRevision)
			assert.Equal(t, v1beta1.UpgradeModeStateless, d.Status.UpdateMode)
		}},
		{"a second before the timeout: runs on", func() Input {
			in := onTrial(Running)
			in.Now = in.Status.SubmitTime.Add(timeout - time.Second)
			return in
		}, Running, nil, nil},
		{"the spec's timeout", func() Input {
			in := onTrial(Running)
			in.Spec.Rollback.TimeoutSeconds = ptr.To(int32(30))
			in.Now = in.Status.SubmitTime.Add(30 * time.Second)
			return in
		}, Updating, []ActionKind{ActCancelJob}, nil},
		{"stable now: never rolled back", func() Input {
			in := onTrial(Running)
			in.Now = in.Status.SubmitTime.Add(time.Hour)
			in.Stable = true
			return in
		}, Running, nil, nil},
		{"the stable revision itself failing is the restart policy's", func() Input {
			in := failedOnTrial(Failed, "")
			in.Revision, in.Status.Revision = "old", "old"
			in.Now = in.Status.EndTime.Add(time.Hour)
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, nil},
		{"without spec.job.rollback: the restart policy's", func() Input {
			in := failedOnTrial(Failed, "")
			in.Spec.Rollback = nil
			in.Now = in.Status.EndTime.Add(time.Hour)
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, nil},
		{"no stable revision recorded: nothing to roll back to", func() Input {
			in := failedOnTrial(Failed, "")
			in.Status.Rollback = nil
			return in
		}, Failed, nil, nil},
		{"the spec moved on from the failed revision: no rollback", func() Input {
			in := failedOnTrial(Failed, "")
			in.Revision = "newer"
			return in
		}, Failed, nil, nil},
		{"a user's update comes first", func() Input {
			in := onTrial(Running)
			in.Revision = "newer"
			in.Now = in.Status.SubmitTime.Add(time.Hour)
			return in
		}, Updating, []ActionKind{ActStopWithSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, "newer", d.Status.TargetRevision)
		}},
		{"a suspension comes first", func() Input {
			in := onTrial(Running)
			in.Spec.State = ptr.To(v1beta1.JobDesiredStateSuspended)
			in.Now = in.Status.SubmitTime.Add(time.Hour)
			return in
		}, Suspending, []ActionKind{ActStopWithSavepoint}, nil},
		{"not while submitting: the submitter may still submit", func() Input {
			in := onTrial(Submitting)
			in.Submitter = SubmitterActive
			in.Flink = FlinkObservation{Polled: true, Reachable: true}
			in.Now = in.Status.SubmitTime.Add(time.Hour)
			return in
		}, Submitting, nil, nil},
		{"Deploying: a cluster that does not come up in time is rolled back", func() Input {
			in := onTrial(Deploying)
			in.Status.Revision = "old"
			in.Status.SavepointLocation = "/sp/savepoint-update"
			in.Status.DeployTime = at(-timeout)
			return in
		}, Deploying, nil, func(t *testing.T, d Decision) {
			rolledBackFrom("/sp/savepoint-update", RollbackReasonTimedOut)(t, d)
			assert.Contains(t, d.Status.Rollback.Message, "was not ready within 5m0s")
		}},
		{"Deploying, within the timeout: waits", func() Input {
			in := onTrial(Deploying)
			in.Status.Revision = "old"
			in.Status.DeployTime = at(-timeout + time.Second)
			return in
		}, Deploying, nil, nil},
		{"rolling back: no second rollback", func() Input {
			in := failedOnTrial(Failed, "")
			in.Status.Rollback.State = v1beta1.RollbackStateRollingBack
			return in
		}, Failed, nil, nil},
		{"the rollback's attempt starts from the recorded source", func() Input {
			in := onTrial(Deploying)
			in.Revision = "old"
			in.ClusterReady, in.ClusterUpToDate = true, true
			in.Status.SavepointLocation = "/sp/savepoint-of-the-new-revision"
			in.Status.Rollback = &v1beta1.RollbackStatus{StableRevision: "old", StableSpec: "{}", State: v1beta1.RollbackStateRollingBack,
				FailedRevision: "new", RestoreFrom: "/sp/savepoint-update"}
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, "/sp/savepoint-update", d.Actions[0].FromSavepoint)
			assert.Equal(t, "old", d.Status.Revision)
			assert.Equal(t, v1beta1.RollbackStateRolledBack, d.Status.Rollback.State)
			assert.Equal(t, "new", d.Status.Rollback.FailedRevision, "kept until the spec changes")
			assert.Equal(t, int32(3), d.Status.Attempt)
		}},
		{"rolled back: the stable revision running is not on trial", func() Input {
			in := onTrial(Running)
			in.Revision, in.Status.Revision = "old", "old"
			in.Status.Rollback.State, in.Status.Rollback.FailedRevision = v1beta1.RollbackStateRolledBack, "new"
			in.Now = in.Status.SubmitTime.Add(time.Hour)
			return in
		}, Running, nil, nil},
	}
	runSteps(t, tests)
}

// TestAFailedUpdateIsRolledBackAtOnce: Failed with a rollback due is looked at again within a
// second, not after the restart backoff.
func TestAFailedUpdateIsRolledBackAtOnce(t *testing.T) {
	in := failedOnTrial(Running, "")
	in.Flink.State = "FAILED"
	d := Step(in)
	assert.Equal(t, Failed, d.Status.State)
	assert.Equal(t, time.Second, d.RequeueAfter)
}
