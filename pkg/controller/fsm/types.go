// Package fsm is the job and savepoint state machine of a job cluster: a declarative transition
// table (table.go), events detected from one observation (events.go), and Step, which takes at
// most one transition per sync. It is pure: time and every observation come in through Input,
// and side effects go out as Actions for the updater, after the new status has been written
// (write-ahead intent).
package fsm

import (
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
)

// State is the job state in status.components.job.state.
type State = v1beta1.JobState

// The states of the machine.
const (
	Pending      = v1beta1.JobStatePending
	Submitting   = v1beta1.JobStateSubmitting
	Running      = v1beta1.JobStateRunning
	Savepointing = v1beta1.JobStateSavepointing
	Cancelling   = v1beta1.JobStateCancelling
	Succeeded    = v1beta1.JobStateSucceeded
	Failed       = v1beta1.JobStateFailed
	Cancelled    = v1beta1.JobStateCancelled
	Lost         = v1beta1.JobStateLost
	Updating     = v1beta1.JobStateUpdating
	Deploying    = v1beta1.JobStateDeploying
	Deleting     = v1beta1.JobStateDeleting
	Suspending   = v1beta1.JobStateSuspending
	Suspended    = v1beta1.JobStateSuspended
	Failing      = v1beta1.JobStateFailing
)

// States lists every state, in the order the diagram shows them.
var States = []State{Pending, Submitting, Running, Savepointing, Cancelling, Failing, Updating, Suspending, Suspended, Deploying, Deleting, Succeeded, Failed, Cancelled, Lost}

// Event is something an observation shows.
type Event string

// The events; Detectors says when each is raised and in which priority Step considers them.
const (
	ClusterReady       Event = "ClusterReady"
	SavepointCompleted Event = "SavepointCompleted"
	SavepointFailed    Event = "SavepointFailed"
	SavepointTimedOut  Event = "SavepointTimedOut"
	SavepointUnknown   Event = "SavepointUnknown"
	StopUnconfirmed    Event = "StopUnconfirmed"
	JobFinished        Event = "JobFinished"
	JobFailed          Event = "JobFailed"
	JobCanceled        Event = "JobCanceled"
	JobActive          Event = "JobActive"
	JobRecovered       Event = "JobRecovered"
	JobMissing         Event = "JobMissing"
	JobLost            Event = "JobLost"
	SubmitterFailed    Event = "SubmitterFailed"
	SubmitterAbsent    Event = "SubmitterAbsent"
	CancelRequested    Event = "CancelRequested"
	SuspendRequested   Event = "SuspendRequested"
	ResumeRequested    Event = "ResumeRequested"
	RestoreRequested   Event = "RestoreRequested"
	SavepointDue       Event = "SavepointDue"
	RestartDue         Event = "RestartDue"
	JobUnhealthy       Event = "JobUnhealthy"
	SpecChanged        Event = "SpecChanged"
	RollbackDue        Event = "RollbackDue"
	SavepointRetry     Event = "SavepointRetry"
	DeletionRequested  Event = "DeletionRequested"
)

// SubmitterPhase is what became of the current attempt's submitter Job.
type SubmitterPhase string

// The submitter phases.
const (
	SubmitterNone      SubmitterPhase = "None"
	SubmitterActive    SubmitterPhase = "Active"
	SubmitterSucceeded SubmitterPhase = "Succeeded"
	SubmitterFailedP   SubmitterPhase = "Failed"
)

// FlinkObservation is what the JobManager's REST API said about the job this sync.
type FlinkObservation struct {
	// Polled is false when the observer did not ask (no job ID yet, or nothing to ask).
	Polled bool
	// Reachable is false when the JobManager did not answer.
	Reachable bool
	// Found is false when a reachable JobManager does not know the job ID.
	Found bool
	// State is Flink's job state (RUNNING, FAILED, ...).
	State string
	// Failure is the root exception of a failed job, when read.
	Failure string
	// RestoreMissing: the failure says the checkpoint or savepoint the job was to restore from
	// does not exist.
	RestoreMissing bool
	// StartTime is when Flink says the job started (zero when not read): a new JobManager
	// leader that recovers the job starts it anew.
	StartTime time.Time
}

// SavepointObservation is the poll of the savepoint in flight.
type SavepointObservation struct {
	Polled bool
	// NotFound: the JobManager does not know the trigger (not triggered yet, or forgotten).
	NotFound bool
	// Done and Failure: Done with empty Failure is success, at Location.
	Done     bool
	Location string
	Failure  string
}

// CheckpointObservation is what the job's checkpoint history (GET /jobs/{id}/checkpoints) said.
// The observer reads it only when NeedsCheckpoints asks for it.
type CheckpointObservation struct {
	// Read is true when the JobManager answered (a job without checkpointing counts: its history
	// is empty).
	Read bool
	// MaxID is the highest checkpoint ID the history shows (completed, failed or restored).
	MaxID int64
	// LatestSavepointID and LatestSavepointPath are the job's latest completed savepoint
	// (0 and "" when it has none).
	LatestSavepointID   int64
	LatestSavepointPath string
	// Latest is the newer of the job's latest completed checkpoint and its latest savepoint (ID 0
	// when it has neither).
	Latest CompletedCheckpoint
	// Restored: the job restored from a checkpoint or savepoint (Flink reports what it restored);
	// RestoredFrom is which.
	Restored     bool
	RestoredFrom CompletedCheckpoint
	// Older are older completed checkpoints (not savepoints) the history shows Flink still
	// retains, newest first, at most MaxOlderCheckpoints.
	Older []CompletedCheckpoint
}

// MaxOlderCheckpoints bounds the older candidates a checkpoint record keeps.
const MaxOlderCheckpoints = 3

// CompletedCheckpoint is one completed checkpoint or savepoint in the job's history.
type CompletedCheckpoint struct {
	ID        int64
	Path      string
	Savepoint bool
	// CompletedAt is when Flink completed it, on the JobManager's clock.
	CompletedAt time.Time
	// Discarded: Flink deleted it (a newer one subsumed it, or the job's end did).
	Discarded bool
}

// RetentionObservation is what the job's checkpoint configuration (GET
// /jobs/{id}/checkpoints/config) says Flink does with completed checkpoints when the job stops.
// The observer reads it once per attempt of a job whose policies resume from the latest state.
type RetentionObservation struct {
	Read      bool
	Retention v1beta1.CheckpointRetention
	// Interval is the job's checkpoint interval (0 without checkpointing).
	Interval time.Duration
}

// Settings are the operator-wide knobs of the machine.
type Settings struct {
	// PollInterval is how often a running job is polled.
	PollInterval time.Duration
	// SavepointPollInterval is how often a savepoint in flight is polled.
	SavepointPollInterval time.Duration
	// SavepointTimeout fails a savepoint that has not completed in time.
	SavepointTimeout time.Duration
	// LostGrace is how long a reachable JobManager may not know the job before it is Lost.
	LostGrace time.Duration
	// HARecoveryGrace replaces LostGrace with high availability: a new JobManager leader
	// recovers the job itself, and the operator waits this long for it before the job is Lost.
	HARecoveryGrace time.Duration
	// MaxUserSavepointRetries bounds the attempts at a savepoint requested through
	// savepointGeneration; then it is reported failed until the user asks again.
	MaxUserSavepointRetries int32
	// RestartBackoff is the first delay before restarting a failed job; it doubles per restart
	// up to MaxRestartBackoff.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// CheckpointRecordInterval is how often a running job's latest checkpoint is recorded when
	// its policies resume from the latest state (one REST call each time).
	CheckpointRecordInterval time.Duration
	// HealthCheckInterval is how often a running job's restart and checkpoint counters are read
	// (one REST call each time); Health says when they make it unhealthy.
	HealthCheckInterval time.Duration
	Health              health.Thresholds
}

// DefaultSettings are the defaults of the operator's flags.
func DefaultSettings() Settings {
	return Settings{
		PollInterval:             10 * time.Second,
		SavepointPollInterval:    2 * time.Second,
		SavepointTimeout:         10 * time.Minute,
		LostGrace:                time.Minute,
		HARecoveryGrace:          5 * time.Minute,
		MaxUserSavepointRetries:  3,
		RestartBackoff:           10 * time.Second,
		MaxRestartBackoff:        5 * time.Minute,
		CheckpointRecordInterval: time.Minute,
		HealthCheckInterval:      time.Minute,
		Health:                   health.DefaultThresholds(),
	}
}

// Input is everything one step looks at.
type Input struct {
	Now time.Time
	// Namespace and Name are the FlinkCluster's.
	Namespace, Name string
	ClusterUID      string
	Spec            v1beta1.JobSpec
	// HighAvailability: Flink's HA services run, so a new JobManager recovers the job itself.
	HighAvailability bool
	Status           v1beta1.JobStatus
	ClusterReady     bool
	Flink            FlinkObservation
	Submitter        SubmitterPhase
	// SubmitterReason says why a failed submitter failed.
	SubmitterReason string
	Savepoint       SavepointObservation
	// Checkpoints is the job's checkpoint history, when NeedsCheckpoints asked for it.
	Checkpoints CheckpointObservation
	// Retention is the job's checkpoint retention, when NeedsRetention asked for it.
	Retention RetentionObservation
	// Health is the running job's verdict (condition JobHealthy), from its Flink metrics.
	Health health.Verdict
	// Stable: the current attempt runs well, by its Flink metrics (a completed checkpoint; or
	// RUNNING, with checkpointing disabled). spec.job.rollback records such a revision.
	Stable bool
	// FlinkVersion is the Flink major.minor the current spec runs ("" when the image does not
	// say); checkpoints are restored only within one version.
	FlinkVersion string
	// SavepointSeenAt is when this operator process first saw the savepoint in flight (its own
	// clock, at the precision of Now); zero when unknown. Timeouts count from it, not from the
	// start recorded in status, which is truncated to the second and may come from another
	// replica's clock.
	SavepointSeenAt time.Time
	Settings        Settings
	// Revision is the revision of the current spec (desired.JobRevision).
	Revision string
	// ClusterUpToDate: every child carries the current spec.
	ClusterUpToDate bool
	// SpecInvalid: the current spec cannot be built, so it cannot be rolled out; the running
	// job is never stopped for it.
	SpecInvalid bool
	// Deleting: the FlinkCluster is being deleted.
	Deleting bool
	// SkipFinalSavepoint: the user asked to delete without a final savepoint.
	SkipFinalSavepoint bool
	// SavepointRetryToken is the value of the savepoint-retry annotation ("" when absent).
	SavepointRetryToken string
}

// ActionKind names a side effect the updater performs after writing status.
type ActionKind string

// The actions.
const (
	// ActCreateSubmitter creates the submitter Job for Status.ID (replacing an older one).
	ActCreateSubmitter ActionKind = "CreateSubmitter"
	// ActTriggerSavepoint triggers the savepoint recorded in Status.Savepoint.
	ActTriggerSavepoint ActionKind = "TriggerSavepoint"
	// ActStopWithSavepoint stops the job with the savepoint recorded in Status.Savepoint.
	ActStopWithSavepoint ActionKind = "StopWithSavepoint"
	// ActCancelJob cancels the job without a savepoint.
	ActCancelJob ActionKind = "CancelJob"
)

// Action is a side effect, as data. Everything it needs is in the status written before it.
type Action struct {
	Kind          ActionKind
	JobID         string
	FromSavepoint string
	TriggerID     string
	TargetDir     string
	// Format is the savepoint's format (spec.job.savepointFormatType).
	Format v1beta1.SavepointFormatType
}

// Decision is the result of one step.
type Decision struct {
	// Transition is the transition taken, nil when none applied.
	Transition *Transition
	// Event is the event the transition was taken on.
	Event Event
	// Status is the job status to write before the actions run.
	Status v1beta1.JobStatus
	// Actions run after Status is written.
	Actions []Action
	// RequeueAfter is when the job must be looked at again without a watch event (0: never).
	RequeueAfter time.Duration
	// Message describes what happened, for an event.
	Message string
}
