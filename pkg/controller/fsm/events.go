package fsm

import (
	"fmt"
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

// Detector raises one event from an observation.
type Detector struct {
	Event Event
	// Raised reports whether the input shows the event.
	Raised func(Input) bool
	// When says when it is raised, for docs/state-machine.md, with the durations of settings.
	When func(Settings) string
}

// Detectors are the events in the priority Step considers them: the first event raised that has
// a transition from the current state whose guard holds is taken. It is the one source of that
// order: Events, the generated doc and detect all read it.
var Detectors = []Detector{
	{ClusterReady, func(in Input) bool { return in.ClusterReady },
		always("the JobManager and TaskManager Deployments are ready")},
	{SavepointCompleted, func(in Input) bool {
		sp := in.Savepoint
		_, inHistory := stopSavepointInHistory(in)
		return savepointInFlight(in.Status) && ((sp.Polled && sp.Done && sp.Failure == "") || inHistory)
	}, always("the poll of the savepoint in flight says it completed; or, for a stop whose job stopped after the JobManager forgot the trigger, the job's checkpoint history shows a savepoint above the checkpoint ID recorded before the stop (afterCheckpointID)")},
	{SavepointFailed, func(in Input) bool {
		sp := in.Savepoint
		return savepointInFlight(in.Status) && sp.Polled && sp.Done && sp.Failure != ""
	}, always("the poll of the savepoint in flight says it failed")},
	{SavepointTimedOut, savepointPastTimeout, func(s Settings) string {
		return fmt.Sprintf("the savepoint in flight is older than the savepoint timeout (%s), counted on this operator process's clock from when it first saw it; a stop is never timed out while Flink reports it in progress, and only once (it is then marked overdue and still polled)", s.SavepointTimeout)
	}},
	{SavepointUnknown, func(in Input) bool {
		sp := in.Savepoint
		return savepointInFlight(in.Status) && sp.Polled && sp.NotFound && !stopForgotten(in) && (stopInFlight(in.Status) || !savepointExpired(in))
	}, always("the JobManager does not know the recorded trigger ID (the operator stopped before triggering, or the JobManager restarted) while the job has not stopped: it is triggered again with the same ID")},
	{StopUnconfirmed, func(in Input) bool {
		_, inHistory := stopSavepointInHistory(in)
		return stopForgotten(in) && in.Checkpoints.Read && !inHistory
	}, always("the job stopped while a stop of ours was in flight, the JobManager no longer knows the trigger, and the checkpoint history shows no savepoint above the recorded checkpoint ID")},
	{JobFinished, flinkReports(JobFinished), always("Flink reports FINISHED for the job ID")},
	{JobFailed, flinkReports(JobFailed), always("Flink reports FAILED for the job ID")},
	{JobCanceled, flinkReports(JobCanceled), always("Flink reports CANCELED for the job ID")},
	{JobRecovered, FlinkRecovered, always("Flink reports the job active with a start time later than the one recorded for the attempt (flinkStartTime): a new JobManager leader recovered it by itself (high availability)")},
	{JobActive, flinkReports(JobActive), always("Flink reports any other state for the job ID")},
	{SubmitterFailed, func(in Input) bool { return jobUnknown(in) && in.Submitter == SubmitterFailedP },
		always("the submitter Job failed and Flink does not know the job")},
	{SubmitterAbsent, func(in Input) bool {
		return in.Submitter == SubmitterNone && (jobUnknown(in) || in.Spec.ApplicationMode())
	}, always("no submitter exists and Flink does not know the job; in application mode: the attempt's JobManager (its Job) does not exist")},
	{JobLost, func(in Input) bool { return (jobUnknown(in) && lostGraceOver(in)) || applicationJobManagerGone(in) }, func(s Settings) string {
		return fmt.Sprintf("the job has been missing for the grace period (%s; with high availability %s, the time Flink has to recover it itself) and no submitter is still running; in application mode, also: the attempt's JobManager ended or is gone (nothing runs the job again: its Job never restarts the pod)", s.LostGrace, s.HARecoveryGrace)
	}},
	{JobMissing, jobUnknown, always("the JobManager answers but does not know the job ID")},
	{DeletionRequested, func(in Input) bool { return in.Deleting },
		always("the FlinkCluster has a deletion timestamp (the final-savepoint finalizer holds it)")},
	{CancelRequested, func(in Input) bool { return in.Spec.CancelRequested != nil && *in.Spec.CancelRequested },
		always("spec.job.cancelRequested is true")},
	{SuspendRequested, func(in Input) bool { return in.Spec.Suspended() }, always("spec.job.state is Suspended")},
	{ResumeRequested, func(in Input) bool { return in.Status.State == Suspended && !in.Spec.Suspended() },
		always("the job is Suspended and spec.job.state is Running or absent")},
	{RestoreRequested, restoreRequested,
		always("spec.job.restoreGeneration is above the one status recorded, spec.job.fromSavepoint is set, and no restore is in progress")},
	{SpecChanged, func(in Input) bool {
		return !in.SpecInvalid && in.Revision != "" && in.Status.Revision != "" && in.Revision != in.Status.Revision
	}, always("the spec's job revision (a hash of the spec without the fields that do not restart the job, v1beta1.SpecFieldEffects) differs from the one the running attempt was submitted with, and the new spec can be built (an unbuildable spec never stops the job; condition Ready says why)")},
	{RollbackDue, rollbackDue, always("spec.job.rollback is set, a stable revision is recorded, and the revision the spec asks for (not the stable one) failed or was lost, or did not run with a completed checkpoint within spec.job.rollback.timeoutSeconds of its submission (or of the start of its cluster's deployment)")},
	{JobUnhealthy, func(in Input) bool { return in.Health.Known && !in.Health.Healthy },
		always("condition JobHealthy is False: a restart loop inside Flink or stalled checkpoints (the operator's health check, from the job's numRestarts and numberOfCompletedCheckpoints metrics)")},
	{RestartDue, restartDue, func(s Settings) string {
		return fmt.Sprintf("restartPolicy FromSavepointOnFailure with a savepoint recorded, or FromLatestStateOnFailure with a kept checkpoint or a savepoint recorded, and the restart backoff (%s, doubling per restart, at most %s) passed since the job ended", s.RestartBackoff, s.MaxRestartBackoff)
	}},
	{SavepointRetry, func(in Input) bool {
		return in.SavepointRetryToken != "" && in.SavepointRetryToken != in.Status.SavepointRetryToken
	}, func(s Settings) string {
		return fmt.Sprintf("the annotation flinkoperator.k8s.io/savepoint-retry has a value the operator has not acted on: the requested savepoint, given up after %d failures, is tried again", s.MaxUserSavepointRetries)
	}},
	{SavepointDue, func(in Input) bool { return savepointDue(in) != "" }, func(s Settings) string {
		return fmt.Sprintf("spec.job.savepointGeneration = status + 1 (tried at most %d times, waiting %s after the first failure and twice as long after each further one), or autoSavepointSeconds passed since the job's start or the last savepoint operation; only with savepointsDir", s.MaxUserSavepointRetries, userRetryBaseDelay)
	}},
}

func always(text string) func(Settings) string { return func(Settings) string { return text } }

// flinkReports: Flink knows the job and its state means ev.
func flinkReports(ev Event) func(Input) bool {
	return func(in Input) bool {
		f := in.Flink
		if !f.Polled || !f.Reachable || !f.Found {
			return false
		}
		got, ok := FlinkStateMeaning[f.State]
		return ok && got == ev
	}
}

// FlinkRecovered: Flink started the job again under the same ID without the operator: a new
// JobManager leader recovered it. Compared at the second, the precision status keeps.
func FlinkRecovered(in Input) bool {
	st := in.Status.FlinkStartTime
	return flinkReports(JobActive)(in) && st != nil && !in.Flink.StartTime.IsZero() &&
		in.Flink.StartTime.Truncate(time.Second).After(st.Time)
}

// applicationJobManagerGone: in application mode, the Job that runs the attempt's JobManager
// ended (its pod exited and is never restarted) or does not exist: no JobManager will run or
// report the job again.
func applicationJobManagerGone(in Input) bool {
	return in.Spec.ApplicationMode() && in.Submitter != SubmitterActive
}

// jobUnknown: a reachable JobManager does not know the job ID.
func jobUnknown(in Input) bool {
	return in.Flink.Polled && in.Flink.Reachable && !in.Flink.Found
}

// Events lists every event in priority order.
var Events = func() []Event {
	evs := make([]Event, len(Detectors))
	for i, d := range Detectors {
		evs[i] = d.Event
	}
	return evs
}()

// detect returns the events the input shows, in priority order.
func detect(in Input) []Event {
	var evs []Event
	for _, d := range Detectors {
		if d.Raised(in) {
			evs = append(evs, d.Event)
		}
	}
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
	return r == v1beta1.SavepointReasonCancel || r == v1beta1.SavepointReasonUpdate || r == v1beta1.SavepointReasonDelete ||
		r == v1beta1.SavepointReasonSuspend
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
		in.Now.Sub(st.NotFoundSince.Time) >= lostGrace(in)
}

// lostGrace is how long the job may be missing before it is Lost: with high availability, the
// time a new JobManager leader has to recover it (the operator never submits a second copy
// meanwhile).
func lostGrace(in Input) time.Duration {
	if in.HighAvailability {
		return in.Settings.HARecoveryGrace
	}
	return in.Settings.LostGrace
}

// restartDue: FromSavepointOnFailure, a savepoint to restart from, and the backoff passed.
func restartDue(in Input) bool {
	st := in.Status
	if !restartAllowed(in.Spec, st) {
		return false
	}
	return st.EndTime == nil || !in.Now.Before(st.EndTime.Add(restartBackoff(in)))
}

// restartAllowed: the restart policy has state to restart from, unless the job stopped for an
// update whose savepoint could not be confirmed: restarting from the older savepoint would drop
// the state since, so that is left to the user.
func restartAllowed(spec v1beta1.JobSpec, st v1beta1.JobStatus) bool {
	return restartSource(spec, st).Location != "" && !UpdateStopUnconfirmed(st)
}

// UpdateStopUnconfirmed: the job stopped for an update and its savepoint could not be confirmed.
func UpdateStopUnconfirmed(st v1beta1.JobStatus) bool {
	sp := st.Savepoint
	return st.State == Failed && sp != nil && (sp.Reason == v1beta1.SavepointReasonUpdate || sp.Reason == v1beta1.SavepointReasonSuspend) &&
		sp.State == v1beta1.SavepointStateUnconfirmed
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

// userRetryBaseDelay is the wait after a requested savepoint's first failure; it doubles after
// each further one.
const userRetryBaseDelay = 30 * time.Second

// userRetryAllowed bounds retries of a failed user savepoint, waiting longer after each failure.
func userRetryAllowed(in Input) bool {
	n := in.Status.UserSavepointFailures
	if n == 0 {
		return true
	}
	if n >= in.Settings.MaxUserSavepointRetries || in.Status.LastSavepointTime == nil {
		return false
	}
	wait := userRetryBaseDelay << (n - 1)
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

// restoreRequested: the user asks for a restart from spec.job.fromSavepoint that is not in
// progress yet.
func restoreRequested(in Input) bool {
	return in.Spec.RestoreGeneration > in.Status.RestoreGeneration && in.Status.RestoreTarget == "" &&
		in.Spec.FromSavepoint != nil && *in.Spec.FromSavepoint != ""
}
