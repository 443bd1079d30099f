package fsm

import (
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// FlinkStateMeaning maps each Flink job state to the event it raises. The raw state stays in
// status.components.job.flinkJobState; docs/state-machine.md shows this table.
var FlinkStateMeaning = map[string]Event{
	"INITIALIZING": JobActive,
	"CREATED":      JobActive,
	"RUNNING":      JobActive,
	"RESTARTING":   JobActive, // Flink restarts the job itself, by its restart strategy
	"FAILING":      JobActive, // on its way to RESTARTING or FAILED
	"RECONCILING":  JobActive, // a new JobManager leader recovers the job
	"CANCELLING":   JobActive,
	"SUSPENDED":    JobActive, // the JobManager lost leadership; the next leader recovers it
	"FINISHED":     JobFinished,
	"FAILED":       JobFailed,
	"CANCELED":     JobCanceled,
}

// detect returns the events the input shows, in priority order.
func detect(in Input) []Event {
	var evs []Event
	add := func(ok bool, e Event) {
		if ok {
			evs = append(evs, e)
		}
	}
	add(in.ClusterReady, ClusterReady)
	sp := in.Savepoint
	inFlight := savepointInFlight(in.Status)
	_, inHistory := stopSavepointInHistory(in)
	forgotten := stopForgotten(in)
	add(inFlight && ((sp.Polled && sp.Done && sp.Failure == "") || inHistory), SavepointCompleted)
	add(inFlight && sp.Polled && sp.Done && sp.Failure != "", SavepointFailed)
	add(savepointPastTimeout(in), SavepointTimedOut)
	add(inFlight && sp.Polled && sp.NotFound && !forgotten && (stopInFlight(in.Status) || !savepointExpired(in)), SavepointUnknown)
	add(forgotten && in.Checkpoints.Read && !inHistory, StopUnconfirmed)

	f := in.Flink
	if f.Polled && f.Reachable && f.Found {
		if ev, ok := FlinkStateMeaning[f.State]; ok {
			evs = append(evs, ev)
		}
	}
	notFound := f.Polled && f.Reachable && !f.Found
	add(notFound && in.Submitter == SubmitterFailedP, SubmitterFailed)
	add(notFound && in.Submitter == SubmitterNone, SubmitterAbsent)
	add(notFound && lostGraceOver(in), JobLost)
	add(notFound, JobMissing)
	add(in.Deleting, DeletionRequested)
	add(in.Spec.CancelRequested != nil && *in.Spec.CancelRequested, CancelRequested)
	add(!in.SpecInvalid && in.Revision != "" && in.Status.Revision != "" && in.Revision != in.Status.Revision, SpecChanged)
	add(restartDue(in), RestartDue)
	add(in.SavepointRetryToken != "" && in.SavepointRetryToken != in.Status.SavepointRetryToken, SavepointRetry)
	add(savepointDue(in) != "", SavepointDue)
	return evs
}

// SavepointInFlight reports whether a savepoint operation is in progress.
func SavepointInFlight(st v1beta1.JobStatus) bool { return savepointInFlight(st) }

func savepointInFlight(st v1beta1.JobStatus) bool {
	return st.Savepoint != nil && st.Savepoint.State == v1beta1.SavepointStateInProgress
}

// stopInFlight: a stop with a savepoint (cancel, update, delete) is in progress.
func stopInFlight(st v1beta1.JobStatus) bool {
	return savepointInFlight(st) && isStop(st.Savepoint.Reason)
}

func isStop(r v1beta1.SavepointReason) bool {
	return r == v1beta1.SavepointReasonCancel || r == v1beta1.SavepointReasonUpdate || r == v1beta1.SavepointReasonDelete
}

// jobStopped: Flink reports the job FINISHED or CANCELED, the ends a stop with a savepoint leads
// to (or a stop done outside the operator).
func jobStopped(f FlinkObservation) bool {
	if !f.Polled || !f.Reachable || !f.Found {
		return false
	}
	ev := FlinkStateMeaning[f.State]
	return ev == JobFinished || ev == JobCanceled
}

// stopForgotten: the job stopped while our stop was in flight, and the JobManager no longer
// knows the stop's trigger (rest.async.store-duration passed, or a new leader). The stop is
// ours: its savepoint is looked for in the checkpoint history before anything moves on.
func stopForgotten(in Input) bool {
	return stopInFlight(in.Status) && in.Savepoint.Polled && in.Savepoint.NotFound && jobStopped(in.Flink)
}

// stopSavepointInHistory returns the stop's savepoint from the job's checkpoint history: the
// latest savepoint, if its checkpoint ID is above the highest ID seen before the stop was
// triggered (an older one is not the stop's).
func stopSavepointInHistory(in Input) (string, bool) {
	cp := in.Checkpoints
	ok := stopForgotten(in) && cp.Read && cp.LatestSavepointPath != "" && cp.LatestSavepointID > in.Status.Savepoint.AfterCheckpointID
	return cp.LatestSavepointPath, ok
}

// savepointPastTimeout: a savepoint in flight is past its timeout. A stop is never timed out while
// Flink reports it in progress, and times out once: it is then marked overdue and still polled,
// since a stop that completes later must be found, not read as the job's own end.
func savepointPastTimeout(in Input) bool {
	sp := in.Savepoint
	if !savepointInFlight(in.Status) || sp.Done || !savepointExpired(in) {
		return false
	}
	if !isStop(in.Status.Savepoint.Reason) {
		return true
	}
	flinkSaysInProgress := sp.Polled && !sp.NotFound
	return !flinkSaysInProgress && !StopOverdue(in.Status)
}

// StopOverdue reports whether the stop in flight outlived the savepoint timeout unconfirmed.
func StopOverdue(st v1beta1.JobStatus) bool {
	return stopInFlight(st) && st.Savepoint.Message != ""
}

// savepointExpired measures the savepoint's age from when this process first saw it
// (SavepointSeenAt, its own clock), or from the recorded start when that is not known.
func savepointExpired(in Input) bool {
	sp := in.Status.Savepoint
	if sp == nil {
		return false
	}
	start := in.SavepointSeenAt
	if start.IsZero() {
		if sp.StartTime == nil {
			return false
		}
		start = sp.StartTime.Time
	}
	return in.Now.Sub(start) >= in.Settings.SavepointTimeout
}

// lostGraceOver: the JobManager has not known the job for longer than the grace period. A
// submitter still running may simply not have submitted yet.
func lostGraceOver(in Input) bool {
	st := in.Status
	return in.Submitter != SubmitterActive && st.NotFoundSince != nil &&
		in.Now.Sub(st.NotFoundSince.Time) >= in.Settings.LostGrace
}

// restartDue: FromSavepointOnFailure, a savepoint to restart from, and the backoff passed.
func restartDue(in Input) bool {
	st := in.Status
	if !restartAllowed(in.Spec, st) {
		return false
	}
	return st.EndTime == nil || !in.Now.Before(st.EndTime.Add(restartBackoff(in)))
}

// restartAllowed: FromSavepointOnFailure with a savepoint recorded, unless the job stopped for an
// update whose savepoint could not be confirmed: restarting from the older savepoint would drop
// the state since, so that is left to the user.
func restartAllowed(spec v1beta1.JobSpec, st v1beta1.JobStatus) bool {
	policy := spec.RestartPolicy
	return policy != nil && *policy == v1beta1.JobRestartPolicyFromSavepointOnFailure && st.SavepointLocation != "" &&
		!UpdateStopUnconfirmed(st)
}

// UpdateStopUnconfirmed: the job stopped for an update and its savepoint could not be confirmed.
func UpdateStopUnconfirmed(st v1beta1.JobStatus) bool {
	sp := st.Savepoint
	return st.State == Failed && sp != nil && sp.Reason == v1beta1.SavepointReasonUpdate && sp.State == v1beta1.SavepointStateUnconfirmed
}

// restartBackoff doubles with every restart, capped, so a crashing job does not hammer the
// cluster.
func restartBackoff(in Input) time.Duration {
	d := in.Settings.RestartBackoff
	for i := int32(0); i < in.Status.RestartCount && d < in.Settings.MaxRestartBackoff; i++ {
		d *= 2
	}
	if d > in.Settings.MaxRestartBackoff {
		d = in.Settings.MaxRestartBackoff
	}
	return d
}

// savepointDue returns why a savepoint should be taken now ("" for none): a user request through
// savepointGeneration first, then the schedule.
func savepointDue(in Input) v1beta1.SavepointReason {
	if savepointsDir(in.Spec) == "" {
		return ""
	}
	if userSavepointRequested(in) && userRetryAllowed(in) {
		return v1beta1.SavepointReasonUser
	}
	if next, ok := nextScheduledSavepoint(in); ok && !in.Now.Before(next) {
		return v1beta1.SavepointReasonScheduled
	}
	return ""
}

func userSavepointRequested(in Input) bool {
	return in.Spec.SavepointGeneration == in.Status.SavepointGeneration+1
}

// userRetryAllowed bounds retries of a failed user savepoint, waiting longer after each failure.
func userRetryAllowed(in Input) bool {
	n := in.Status.UserSavepointFailures
	if n == 0 {
		return true
	}
	if n >= in.Settings.MaxUserSavepointRetries || in.Status.LastSavepointTime == nil {
		return false
	}
	wait := 30 * time.Second << (n - 1)
	return !in.Now.Before(in.Status.LastSavepointTime.Add(wait))
}

// nextScheduledSavepoint is autoSavepointSeconds after the later of the job's start and the end
// of the last savepoint operation, so the interval holds whatever the savepoint timeout is.
func nextScheduledSavepoint(in Input) (time.Time, bool) {
	sec := in.Spec.AutoSavepointSeconds
	st := in.Status
	if sec == nil || st.StartTime == nil {
		return time.Time{}, false
	}
	base := st.StartTime.Time
	if st.LastSavepointTime != nil && st.LastSavepointTime.After(base) {
		base = st.LastSavepointTime.Time
	}
	return base.Add(time.Duration(*sec) * time.Second), true
}

func savepointsDir(spec v1beta1.JobSpec) string {
	if spec.SavepointsDir == nil {
		return ""
	}
	return *spec.SavepointsDir
}
