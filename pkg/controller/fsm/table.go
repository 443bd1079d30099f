package fsm

import (
	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// Guard is a named condition on a transition.
type Guard struct {
	Name string
	OK   func(Input) bool
	// NeedsHistory says when the transition needs the job's checkpoint history
	// (Input.Checkpoints), which the observer fetches only when NeedsCheckpoints says so; nil:
	// never.
	NeedsHistory func(Input) bool
}

// Transition is one row of the table: in state From, on event On, if Guard holds, go to To and
// apply the effects in Do (which change status and emit actions).
type Transition struct {
	From  State
	On    Event
	Guard *Guard
	To    State
	Do    []Effect
}

// holds: the guard's condition, and the checkpoint history read if it needs it.
func (g *Guard) holds(in Input) bool {
	return (!g.needsHistory(in) || in.Checkpoints.Read) && g.OK(in)
}

func (g *Guard) needsHistory(in Input) bool {
	return g != nil && g.NeedsHistory != nil && g.NeedsHistory(in)
}

func anyInput(Input) bool { return true }

// latestStatePolicy: a policy of the job resumes from its latest retained state, so the history
// is read when the job ends to record what it last completed.
func latestStatePolicy(in Input) bool { return in.Spec.UsesLatestState() }

// The guards. A stop with a savepoint is triggered only once the checkpoint history was read,
// so that its baseline (AfterCheckpointID) is recorded before the stop exists.
var (
	noSavepointsDir     = &Guard{Name: "no savepointsDir", OK: func(in Input) bool { return savepointsDir(in.Spec) == "" }}
	cancelSavepointDue  = &Guard{Name: "savepointsDir set, Flink reports RUNNING, no failed cancel savepoint in the last 30 s, checkpoint history read", OK: cancelSavepointAllowed, NeedsHistory: anyInput}
	firstMiss           = &Guard{Name: "not missing before", OK: func(in Input) bool { return in.Status.NotFoundSince == nil }}
	wasMissing          = &Guard{Name: "was missing", OK: func(in Input) bool { return in.Status.NotFoundSince != nil }}
	noSavepointPending  = &Guard{Name: "no savepoint in flight", OK: func(in Input) bool { return !savepointInFlight(in.Status) }}
	updateWithSavepoint = &Guard{Name: "savepointsDir set, upgradeMode Savepoint (or LastState to another Flink version), Flink reports RUNNING, no failed update savepoint in the last 30 s, checkpoint history read", OK: updateSavepointAllowed, NeedsHistory: anyInput}
	lastStateUpdate     = &Guard{Name: "upgradeMode LastState, same Flink version, the job retains checkpoints on cancellation, a completed checkpoint of this job is recorded", OK: lastStateUpdateAllowed}
	statelessUpdate     = &Guard{Name: "upgradeMode Stateless (or takeSavepointOnUpdate false)", OK: func(in Input) bool { return in.Spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeStateless }}
	cancelsForUpdate    = &Guard{Name: "the update cancels the job (Stateless or LastState), no savepoint in flight", OK: func(in Input) bool {
		return updateMode(in) != v1beta1.UpgradeModeSavepoint && !savepointInFlight(in.Status)
	}}
	fallbackToLastState = &Guard{Name: "upgradeFallback LastState, and a LastState update is possible", OK: func(in Input) bool {
		f := in.Spec.UpgradeFallback
		return f != nil && *f == v1beta1.UpgradeFallbackLastState && lastStatePossible(in)
	}}
	// The job's end is recorded once the history says what it completed last, when a policy
	// resumes from that (a last-state update reads it after its cancellation).
	endHistoryRead = &Guard{Name: "checkpoint history read when a policy resumes from the latest state", OK: anyInput, NeedsHistory: latestStatePolicy}
	updateStopped  = &Guard{Name: "no savepoint in flight (a stop of ours is confirmed first); for a LastState update, checkpoint history read", OK: func(in Input) bool { return !savepointInFlight(in.Status) },
		NeedsHistory: func(in Input) bool { return updateMode(in) == v1beta1.UpgradeModeLastState }}
	upToDate       = &Guard{Name: "every child carries the new spec, spec.job.state is not Suspended", OK: func(in Input) bool { return in.ClusterUpToDate && !in.Spec.Suspended() }}
	finalSavepoint = &Guard{Name: "savepointsDir set, not skipped, Flink reports RUNNING, checkpoint history read", OK: func(in Input) bool {
		return savepointsDir(in.Spec) != "" && !in.SkipFinalSavepoint && in.Flink.State == "RUNNING"
	}, NeedsHistory: anyInput}
	// A failed final savepoint is tried again while the job runs, so that a transient refusal
	// (right after a restart Flink refuses savepoints until every task runs) does not let the
	// cluster go without one; the deletion's deadline still bounds it (decide).
	finalSavepointRetry = &Guard{Name: "the final savepoint failed 10 s ago or more, savepointsDir set, not skipped, Flink reports RUNNING, checkpoint history read", OK: func(in Input) bool {
		sp := in.Status.Savepoint
		return FinalSavepointRetryPossible(in) && sp.EndTime != nil && in.Now.Sub(sp.EndTime.Time) >= finalSavepointRetryDelay
	}, NeedsHistory: anyInput}
	// Flink refuses savepoints unless every task runs (not while INITIALIZING or RESTARTING).
	flinkRunning = &Guard{Name: "Flink reports RUNNING", OK: func(in Input) bool { return in.Flink.State == "RUNNING" }}
	// A job that stopped is read as its own end only after its checkpoint history was read, so
	// that a savepoint that stopped it from outside the operator is recorded first.
	historyRead = &Guard{Name: "checkpoint history read", OK: anyInput, NeedsHistory: anyInput}
	// Suspension stops the job as an update would (upgradeMode), without a revision to roll out.
	suspendWithSavepoint = &Guard{Name: "savepointsDir set, upgradeMode Savepoint, Flink reports RUNNING, no failed suspend savepoint in the last 30 s, checkpoint history read", OK: suspendSavepointAllowed, NeedsHistory: anyInput}
	lastStateSuspend     = &Guard{Name: "upgradeMode LastState, the job retains checkpoints on cancellation, a completed checkpoint of this job is recorded", OK: func(in Input) bool {
		return in.Spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeLastState && lastStatePossible(in)
	}}
	// A restore replaces the running job's state with the requested savepoint: the job is
	// stopped with a savepoint first where the update would take one, so its state is kept too.
	restoreBySavepoint = &Guard{Name: "savepointsDir set, upgradeMode Savepoint, Flink reports RUNNING, no failed update savepoint in the last 30 s, checkpoint history read", OK: func(in Input) bool {
		return in.Spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeSavepoint && savepointsDir(in.Spec) != "" &&
			in.Flink.State == "RUNNING" && !recentlyFailed(in, v1beta1.SavepointReasonUpdate)
	}, NeedsHistory: anyInput}
	restoreByCancel = &Guard{Name: "no savepointsDir, or upgradeMode LastState or Stateless", OK: func(in Input) bool {
		return savepointsDir(in.Spec) == "" || in.Spec.EffectiveUpgradeMode() != v1beta1.UpgradeModeSavepoint
	}}
	notCancelRequested = &Guard{Name: "spec.job.cancelRequested is not true", OK: func(in Input) bool {
		return in.Spec.CancelRequested == nil || !*in.Spec.CancelRequested
	}}
	notSuspended   = &Guard{Name: "spec.job.state is not Suspended", OK: func(in Input) bool { return !in.Spec.Suspended() }}
	neverSubmitted = &Guard{Name: "no attempt was submitted yet", OK: func(in Input) bool { return in.Status.Attempt == 0 }}
	// An unhealthy job is cancelled only when its restart policy will restart it: from a
	// savepoint, or from checkpoints the cancellation keeps.
	restartsUnhealthy = &Guard{Name: "spec.job.restartOnUnhealthy, and the restart policy has state to restart from that the cancellation keeps (a savepoint, or checkpoints retained on cancellation)", OK: func(in Input) bool {
		if !in.Spec.RestartsOnUnhealthy() || !restartAllowed(in.Spec, in.Status) {
			return false
		}
		src := restartSource(in.Spec, in.Status)
		return !src.Checkpoint || in.Status.CheckpointRetention == v1beta1.CheckpointRetentionRetainOnCancellation
	}}
	// The job stopped while our stop was still unconfirmed: wait for its savepoint.
	stopConfirmed = &Guard{Name: "no savepoint in flight (a stop of ours is confirmed first)", OK: func(in Input) bool { return !savepointInFlight(in.Status) }}
)

// Table is the whole machine. Every (state, event) pair is either here or in Ignored; a test
// proves it, and docs/state-machine.md is generated from both.
var Table = []Transition{
	{Pending, ClusterReady, notSuspended, Submitting, []Effect{submitFirst}},
	{Pending, SuspendRequested, nil, Suspended, []Effect{markSuspended}},

	{Submitting, JobActive, nil, Running, []Effect{markStarted}},
	{Submitting, JobFinished, historyRead, Succeeded, []Effect{recordExternalSavepoint, endJob}},
	{Submitting, JobFailed, endHistoryRead, Failed, []Effect{markUnrestorable, endJob}},
	{Submitting, JobCanceled, historyRead, Cancelled, []Effect{recordExternalSavepoint, endJob}},
	{Submitting, SubmitterFailed, nil, Failed, []Effect{failFromSubmitter}},
	{Submitting, JobLost, nil, Lost, []Effect{endJob}},
	{Submitting, JobMissing, firstMiss, Submitting, []Effect{markMissing}},
	{Submitting, SubmitterAbsent, nil, Submitting, []Effect{resubmit}},

	{Running, JobFinished, historyRead, Succeeded, []Effect{recordExternalSavepoint, endJob}},
	{Running, JobFailed, endHistoryRead, Failed, []Effect{markUnrestorable, endJob}},
	{Running, JobCanceled, historyRead, Cancelled, []Effect{recordExternalSavepoint, endJob}},
	{Running, JobLost, nil, Lost, []Effect{endJob}},
	{Running, JobMissing, firstMiss, Running, []Effect{markMissing}},
	{Running, CancelRequested, cancelSavepointDue, Cancelling, []Effect{stopWithSavepoint}},
	{Running, CancelRequested, noSavepointsDir, Cancelling, []Effect{cancelJob}},
	{Running, SavepointDue, flinkRunning, Savepointing, []Effect{triggerSavepoint}},
	{Running, JobActive, wasMissing, Running, []Effect{markStarted}},
	{Running, JobRecovered, historyRead, Running, []Effect{recordFlinkRecovery}},
	{Running, DeletionRequested, finalSavepoint, Deleting, []Effect{stopForDeletion}},
	{Running, SavepointRetry, nil, Running, []Effect{resetUserRetries}},
	{Running, JobUnhealthy, restartsUnhealthy, Failing, []Effect{markUnhealthy, cancelJob}},
	{Running, SpecChanged, updateWithSavepoint, Updating, []Effect{recordTarget(v1beta1.UpgradeModeSavepoint), stopForUpdate}},
	{Running, SpecChanged, lastStateUpdate, Updating, []Effect{recordTarget(v1beta1.UpgradeModeLastState), cancelJob}},
	{Running, SpecChanged, statelessUpdate, Updating, []Effect{recordTarget(v1beta1.UpgradeModeStateless), cancelJob}},

	{Updating, SavepointCompleted, nil, Updating, []Effect{savepointSucceeded}},
	{Updating, SavepointFailed, fallbackToLastState, Updating, []Effect{savepointFailed, switchToLastState, cancelJob}},
	{Updating, SavepointFailed, nil, Running, []Effect{savepointFailed, clearTarget}},
	{Updating, SavepointTimedOut, nil, Updating, []Effect{markStopOverdue}},
	{Updating, SavepointUnknown, nil, Updating, []Effect{retrigger}},
	{Updating, StopUnconfirmed, nil, Failed, []Effect{clearTarget, endJob, stopUnconfirmed}},
	{Updating, JobFinished, updateStopped, Deploying, []Effect{markStopped, markDeploying}},
	{Updating, JobCanceled, updateStopped, Deploying, []Effect{markStopped, markDeploying}},
	{Updating, JobFailed, endHistoryRead, Failed, []Effect{abandonSavepoint, clearTarget, endJob}},
	{Updating, JobLost, nil, Lost, []Effect{abandonSavepoint, clearTarget, endJob}},
	{Updating, JobMissing, firstMiss, Updating, []Effect{markMissing}},
	{Updating, JobActive, cancelsForUpdate, Updating, []Effect{cancelJob}},

	{Running, SuspendRequested, suspendWithSavepoint, Suspending, []Effect{recordStopMode(v1beta1.UpgradeModeSavepoint), stopForSuspend}},
	{Running, SuspendRequested, lastStateSuspend, Suspending, []Effect{recordStopMode(v1beta1.UpgradeModeLastState), cancelJob}},
	{Running, SuspendRequested, statelessUpdate, Suspending, []Effect{recordStopMode(v1beta1.UpgradeModeStateless), cancelJob}},

	{Suspending, SavepointCompleted, nil, Suspending, []Effect{savepointSucceeded}},
	{Suspending, SavepointFailed, fallbackToLastState, Suspending, []Effect{savepointFailed, switchToLastState, cancelJob}},
	{Suspending, SavepointFailed, nil, Running, []Effect{savepointFailed, clearTarget}},
	{Suspending, SavepointTimedOut, nil, Suspending, []Effect{markStopOverdue}},
	{Suspending, SavepointUnknown, nil, Suspending, []Effect{retrigger}},
	{Suspending, StopUnconfirmed, nil, Failed, []Effect{clearTarget, endJob, stopUnconfirmed}},
	{Suspending, JobFinished, updateStopped, Suspended, []Effect{markStopped, markSuspended}},
	{Suspending, JobCanceled, updateStopped, Suspended, []Effect{markStopped, markSuspended}},
	{Suspending, JobFailed, endHistoryRead, Failed, []Effect{abandonSavepoint, clearTarget, endJob}},
	{Suspending, JobLost, nil, Lost, []Effect{abandonSavepoint, clearTarget, endJob}},
	{Suspending, JobMissing, firstMiss, Suspending, []Effect{markMissing}},
	{Suspending, JobActive, cancelsForUpdate, Suspending, []Effect{cancelJob}},

	{Running, RestoreRequested, restoreBySavepoint, Updating, []Effect{recordRestore(v1beta1.UpgradeModeSavepoint), stopForUpdate}},
	{Running, RestoreRequested, restoreByCancel, Updating, []Effect{recordRestore(v1beta1.UpgradeModeStateless), cancelJob}},
	{Failed, RestoreRequested, nil, Deploying, []Effect{recordRestoreTarget, markDeploying}},
	{Lost, RestoreRequested, nil, Deploying, []Effect{recordRestoreTarget, markDeploying}},
	{Succeeded, RestoreRequested, nil, Deploying, []Effect{recordRestoreTarget, markDeploying}},
	{Cancelled, RestoreRequested, notCancelRequested, Deploying, []Effect{recordRestoreTarget, markDeploying}},
	{Suspended, RestoreRequested, nil, Suspended, []Effect{recordRestoreTarget, markSuspended}},

	{Suspended, ResumeRequested, neverSubmitted, Pending, []Effect{markResumed}},
	{Suspended, ResumeRequested, nil, Deploying, []Effect{markResumed, markDeploying}},
	{Suspended, CancelRequested, nil, Cancelled, []Effect{clearTarget, endJob}},

	{Running, RollbackDue, nil, Updating, []Effect{recordRollback, stopForRollback}},
	{Failed, RollbackDue, nil, Deploying, []Effect{recordRollback, markDeploying}},
	{Lost, RollbackDue, nil, Deploying, []Effect{recordRollback, markDeploying}},
	{Deploying, RollbackDue, nil, Deploying, []Effect{recordRollback, markDeploying}},

	{Deploying, ClusterReady, upToDate, Submitting, []Effect{submitUpdate}},
	{Deploying, SuspendRequested, nil, Suspended, []Effect{markSuspended}},

	{Deleting, SavepointCompleted, nil, Deleting, []Effect{savepointSucceeded}},
	{Deleting, DeletionRequested, finalSavepointRetry, Deleting, []Effect{stopForDeletion}},
	{Deleting, SavepointFailed, nil, Deleting, []Effect{savepointFailed}},
	{Deleting, SavepointTimedOut, nil, Deleting, []Effect{markStopOverdue}},
	{Deleting, SavepointUnknown, nil, Deleting, []Effect{retrigger}},
	{Deleting, StopUnconfirmed, nil, Deleting, []Effect{stopUnconfirmed}},

	{Savepointing, SavepointCompleted, nil, Running, []Effect{savepointSucceeded}},
	{Savepointing, SavepointFailed, nil, Running, []Effect{savepointFailed}},
	{Savepointing, SavepointTimedOut, nil, Running, []Effect{savepointTimedOut}},
	{Savepointing, SavepointUnknown, nil, Savepointing, []Effect{retrigger}},
	{Savepointing, JobFinished, historyRead, Succeeded, []Effect{abandonSavepoint, recordExternalSavepoint, endJob}},
	{Savepointing, JobFailed, endHistoryRead, Failed, []Effect{abandonSavepoint, endJob}},
	{Savepointing, JobCanceled, historyRead, Cancelled, []Effect{abandonSavepoint, recordExternalSavepoint, endJob}},
	{Savepointing, JobLost, nil, Lost, []Effect{abandonSavepoint, endJob}},
	{Savepointing, JobMissing, firstMiss, Savepointing, []Effect{markMissing}},

	{Cancelling, SavepointCompleted, nil, Cancelling, []Effect{savepointSucceeded}},
	{Cancelling, SavepointFailed, nil, Running, []Effect{savepointFailed}},
	{Cancelling, SavepointTimedOut, nil, Cancelling, []Effect{markStopOverdue}},
	{Cancelling, SavepointUnknown, nil, Cancelling, []Effect{retrigger}},
	{Cancelling, StopUnconfirmed, nil, Cancelled, []Effect{endJob, stopUnconfirmed}},
	{Cancelling, JobFinished, stopConfirmed, Cancelled, []Effect{endJob}},
	{Cancelling, JobCanceled, stopConfirmed, Cancelled, []Effect{endJob}},
	{Cancelling, JobFailed, endHistoryRead, Failed, []Effect{abandonSavepoint, endJob}},
	{Cancelling, JobLost, nil, Lost, []Effect{abandonSavepoint, endJob}},
	{Cancelling, JobMissing, firstMiss, Cancelling, []Effect{markMissing}},
	{Cancelling, JobActive, noSavepointPending, Cancelling, []Effect{cancelJob}},

	{Failing, JobCanceled, endHistoryRead, Failed, []Effect{endUnhealthy}},
	{Failing, JobFailed, endHistoryRead, Failed, []Effect{markUnrestorable, endJob}},
	{Failing, JobFinished, historyRead, Succeeded, []Effect{recordExternalSavepoint, endJob}},
	{Failing, JobLost, nil, Lost, []Effect{endJob}},
	{Failing, JobMissing, firstMiss, Failing, []Effect{markMissing}},
	{Failing, JobActive, nil, Failing, []Effect{cancelJob}},

	{Failed, RestartDue, nil, Submitting, []Effect{restart}},
	{Lost, RestartDue, nil, Submitting, []Effect{restart}},
}

// Ignored lists, per state, the events that state deliberately does nothing about, and why.
var Ignored = map[State]struct {
	Events []Event
	Why    string
}{
	Pending: {allBut(ClusterReady, SuspendRequested),
		"nothing runs yet; the job is submitted once the JobManager and TaskManagers are ready (unless it is to be suspended)"},
	Submitting: {[]Event{JobUnhealthy, JobRecovered, ClusterReady, SavepointCompleted, SavepointFailed, SavepointTimedOut, SavepointUnknown, StopUnconfirmed, DeletionRequested, CancelRequested, SuspendRequested, ResumeRequested, RestoreRequested, SpecChanged, RestartDue, SavepointRetry, SavepointDue, RollbackDue},
		"the job is not running yet: savepoints, cancellation, suspension, updates and deletion wait until Flink reports it (and a Flink-side recovery is recorded once it runs)"},
	Running: {[]Event{ClusterReady, SavepointCompleted, SavepointFailed, SavepointTimedOut, SavepointUnknown, StopUnconfirmed, SubmitterFailed, SubmitterAbsent, RestartDue, ResumeRequested},
		"the job runs; the submitter's fate no longer matters and no savepoint is in flight"},
	Savepointing: {[]Event{JobUnhealthy, ClusterReady, StopUnconfirmed, JobActive, JobRecovered, SubmitterFailed, SubmitterAbsent, DeletionRequested, CancelRequested, SuspendRequested, ResumeRequested, RestoreRequested, SpecChanged, RestartDue, SavepointRetry, SavepointDue, RollbackDue},
		"one savepoint at a time: deletion, cancellation, suspension, updates and new savepoints wait for this one; a Flink-side recovery is recorded once the job is Running again (a savepoint it interrupted is retriggered: SavepointUnknown)"},
	Cancelling: {[]Event{JobUnhealthy, JobRecovered, ClusterReady, SubmitterFailed, SubmitterAbsent, DeletionRequested, CancelRequested, SuspendRequested, ResumeRequested, RestoreRequested, SpecChanged, RestartDue, SavepointRetry, SavepointDue, RollbackDue},
		"already cancelling: the job ends anyway, and the finalizer is released when it has; a Flink-side recovery meanwhile changes nothing of that"},
	Updating: {[]Event{JobUnhealthy, JobRecovered, ClusterReady, SubmitterFailed, SubmitterAbsent, DeletionRequested, CancelRequested, SuspendRequested, ResumeRequested, RestoreRequested, SpecChanged, RestartDue, SavepointRetry, SavepointDue, RollbackDue},
		"the job is being stopped for the update; everything else waits until it resumes (a Flink-side recovery meanwhile belongs to the attempt being replaced; a suspension takes the stopped job before it is resubmitted)"},
	Suspending: {[]Event{JobUnhealthy, JobRecovered, ClusterReady, SubmitterFailed, SubmitterAbsent, DeletionRequested, CancelRequested, SuspendRequested, ResumeRequested, RestoreRequested, SpecChanged, RestartDue, SavepointRetry, SavepointDue, RollbackDue},
		"the job is being stopped for the suspension; everything else waits until it is Suspended (a resume then, a deletion then needs no final savepoint: the suspension's stop is the last state)"},
	Failing: {allBut(JobCanceled, JobFailed, JobFinished, JobLost, JobMissing, JobActive),
		"the operator cancels the unhealthy job so that its restart policy restarts it; everything else waits until Flink confirms the cancellation (a deletion then needs no final savepoint)"},
	Suspended: {allBut(ResumeRequested, CancelRequested, RestoreRequested),
		"nothing runs: the TaskManagers are deleted and the JobManager idles; a spec change is rolled out by the resume, a deletion needs no final savepoint"},
	Deploying: {allBut(ClusterReady, SuspendRequested, RollbackDue),
		"the job is stopped and its savepoint recorded; it resumes once the cluster runs the new spec (or is suspended before that, or rolled back when the new revision's cluster does not come up in time)"},
	Deleting: {allBut(SavepointCompleted, SavepointFailed, SavepointTimedOut, SavepointUnknown, StopUnconfirmed, DeletionRequested),
		"the FlinkCluster is being deleted: only the final savepoint matters"},
	Succeeded: {allBut(RestoreRequested), "terminal: the job finished (a restore request starts it again)"},
	Cancelled: {allBut(RestoreRequested), "terminal: the job was cancelled (a restore request starts it again, unless cancelRequested is true)"},
	Failed: {allBut(RestartDue, RestoreRequested, RollbackDue),
		"the job stays failed unless its restartPolicy restarts it and there is state to restart from, a restore request starts it again, or spec.job.rollback rolls a failed update back"},
	Lost: {allBut(RestartDue, RestoreRequested, RollbackDue),
		"the job stays lost unless its restartPolicy restarts it and there is state to restart from, a restore request starts it again, or spec.job.rollback rolls a failed update back"},
}

func allBut(except ...Event) []Event {
	var out []Event
	for _, e := range Events {
		skip := false
		for _, x := range except {
			skip = skip || e == x
		}
		if !skip {
			out = append(out, e)
		}
	}
	return out
}

func cancelSavepointAllowed(in Input) bool {
	return savepointsDir(in.Spec) != "" && in.Flink.State == "RUNNING" && !recentlyFailed(in, v1beta1.SavepointReasonCancel)
}

func updateSavepointAllowed(in Input) bool {
	mode := in.Spec.EffectiveUpgradeMode()
	byMode := mode == v1beta1.UpgradeModeSavepoint || (mode == v1beta1.UpgradeModeLastState && flinkVersionChanged(in))
	return byMode && savepointsDir(in.Spec) != "" && in.Flink.State == "RUNNING" &&
		!recentlyFailed(in, v1beta1.SavepointReasonUpdate)
}

func suspendSavepointAllowed(in Input) bool {
	return in.Spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeSavepoint && savepointsDir(in.Spec) != "" &&
		in.Flink.State == "RUNNING" && !recentlyFailed(in, v1beta1.SavepointReasonSuspend)
}

func lastStateUpdateAllowed(in Input) bool {
	return in.Spec.EffectiveUpgradeMode() == v1beta1.UpgradeModeLastState && lastStatePossible(in)
}

// recentlyFailed: the last savepoint for this reason failed less than 30 s ago.
func recentlyFailed(in Input, reason v1beta1.SavepointReason) bool {
	sp := in.Status.Savepoint
	if sp == nil || sp.Reason != reason || sp.State != v1beta1.SavepointStateFailed || sp.EndTime == nil {
		return false
	}
	return in.Now.Sub(sp.EndTime.Time) < cancelRetryDelay
}

// FinalSavepointRetryPossible: the deletion's final savepoint failed while the job still runs in
// Flink, so it can be tried again (after finalSavepointRetryDelay).
func FinalSavepointRetryPossible(in Input) bool {
	sp := in.Status.Savepoint
	return savepointsDir(in.Spec) != "" && !in.SkipFinalSavepoint && in.Flink.State == "RUNNING" &&
		sp != nil && sp.Reason == v1beta1.SavepointReasonDelete && sp.State == v1beta1.SavepointStateFailed
}
