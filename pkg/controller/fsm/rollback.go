package fsm

import (
	"fmt"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// The reasons of a rollback (status.components.job.rollback.reason, condition RolledBack).
const (
	RollbackReasonFailed   = "UpdateFailed"
	RollbackReasonTimedOut = "UpdateTimedOut"
)

// revisionOnTrial is the revision spec.job.rollback watches: the one being deployed, or the one
// the current attempt was submitted with; "" when there is none, or it is the stable one.
func revisionOnTrial(in Input) string {
	r := in.Status.Rollback
	if in.Spec.Rollback == nil || r == nil || r.StableRevision == "" || r.StableSpec == "" || r.State == v1beta1.RollbackStateRollingBack {
		return ""
	}
	rev := in.Status.Revision
	if in.Status.State == Deploying {
		rev = in.Revision
	}
	// A revision the spec no longer asks for is not rolled back: the next update replaces it.
	if rev == "" || rev == r.StableRevision || rev != in.Revision {
		return ""
	}
	return rev
}

// rollbackDue: the revision on trial failed, or did not run well within the rollback timeout.
func rollbackDue(in Input) bool {
	if revisionOnTrial(in) == "" || in.Stable {
		return false
	}
	switch in.Status.State {
	case Failed, Lost:
		return true
	}
	start := trialStart(in.Status)
	return start != nil && !in.Now.Before(start.Add(in.Spec.RollbackTimeout()))
}

// trialStart is when the revision on trial got its chance: its submission, or, while its
// cluster is being deployed, the start of that.
func trialStart(st v1beta1.JobStatus) *time.Time {
	t := st.SubmitTime
	if st.State == Deploying {
		t = st.DeployTime
	}
	if t == nil {
		return nil
	}
	return &t.Time
}

// recordRollback records the rollback before anything is stopped or rebuilt: the revision that
// failed, why, and what the stable revision restarts from (what the failed revision started
// from; for one never submitted, what its update resumes from).
var recordRollback = Effect{"record the rollback to the stable revision: the failed revision, why, and what the stable one restarts from", func(in Input, st *v1beta1.JobStatus) []Action {
	r := st.Rollback.DeepCopy()
	r.FailedRevision = revisionOnTrial(in)
	r.State = v1beta1.RollbackStateRollingBack
	r.Time = stamp(in.Now)
	r.Reason, r.Message = rollbackReason(in)
	r.RestoreFrom, r.RestoreFromCheckpoint = st.FromSavepoint, st.FromCheckpoint
	if st.State == Deploying {
		src := updateSource(*st)
		r.RestoreFrom, r.RestoreFromCheckpoint = src.Location, src.Checkpoint
	}
	st.Rollback = r
	return nil
}}

// stopForRollback cancels the failed revision's job: its state is not kept (the stable
// revision restarts from what the update resumed from).
var stopForRollback = Effect{"cancel the job of the failed revision (no savepoint) and roll out the stable revision", func(in Input, st *v1beta1.JobStatus) []Action {
	st.TargetRevision, st.UpdateMode = st.Rollback.StableRevision, v1beta1.UpgradeModeStateless
	return []Action{{Kind: ActCancelJob, JobID: st.ID}}
}}

// markDeploying records when the cluster began to be rebuilt for the next attempt.
var markDeploying = Effect{"record when the cluster began to be rebuilt (deployTime)", func(in Input, st *v1beta1.JobStatus) []Action {
	st.DeployTime = stamp(in.Now)
	return nil
}}

func rollbackReason(in Input) (string, string) {
	st := in.Status
	switch st.State {
	case Failed, Lost:
		return RollbackReasonFailed, fmt.Sprintf("the job of revision %s is %s before it ran with a completed checkpoint%s", revisionOnTrial(in), st.State, suffix(st.Message))
	case Deploying:
		return RollbackReasonTimedOut, fmt.Sprintf("the cluster of revision %s was not ready within %s", revisionOnTrial(in), in.Spec.RollbackTimeout())
	}
	return RollbackReasonTimedOut, fmt.Sprintf("the job of revision %s did not run with a completed checkpoint within %s of its submission (Flink reports %s)", revisionOnTrial(in), in.Spec.RollbackTimeout(), orUnknown(in.Flink.State))
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func orUnknown(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// rollingBack: a rollback is recorded and its attempt not submitted yet.
func rollingBack(st v1beta1.JobStatus) bool {
	return st.Rollback != nil && st.Rollback.State == v1beta1.RollbackStateRollingBack
}
