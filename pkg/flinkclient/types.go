package flinkclient

import "time"

// JobState is Flink's JobStatus as reported by the REST API. Unknown values
// (from a future Flink) are kept verbatim rather than rejected so that an
// operator built today still reports what a newer JobManager says.
type JobState string

// Every JobStatus value listed in the Flink 1.20 and 2.x REST specification.
const (
	JobStateInitializing JobState = "INITIALIZING"
	JobStateCreated      JobState = "CREATED"
	JobStateRunning      JobState = "RUNNING"
	JobStateFailing      JobState = "FAILING"
	JobStateFailed       JobState = "FAILED"
	JobStateCancelling   JobState = "CANCELLING"
	JobStateCanceled     JobState = "CANCELED"
	JobStateFinished     JobState = "FINISHED"
	JobStateRestarting   JobState = "RESTARTING"
	JobStateSuspended    JobState = "SUSPENDED"
	JobStateReconciling  JobState = "RECONCILING"
)

// AllJobStates lists the known states, in Flink's declaration order.
var AllJobStates = []JobState{
	JobStateInitializing, JobStateCreated, JobStateRunning, JobStateFailing,
	JobStateFailed, JobStateCancelling, JobStateCanceled, JobStateFinished,
	JobStateRestarting, JobStateSuspended, JobStateReconciling,
}

// IsGloballyTerminal reports whether the job can never run again in this
// cluster (FAILED, CANCELED, FINISHED). SUSPENDED is deliberately excluded:
// it is only locally terminal, the job is recovered by the next leader.
func (s JobState) IsGloballyTerminal() bool {
	switch s {
	case JobStateFailed, JobStateCanceled, JobStateFinished:
		return true
	}
	return false
}

// IsKnown reports whether s is one of the states in AllJobStates.
func (s JobState) IsKnown() bool {
	for _, k := range AllJobStates {
		if s == k {
			return true
		}
	}
	return false
}

// EpochMillis is a Flink timestamp: milliseconds since the Unix epoch. Flink
// uses -1 (and sometimes 0) for "not set", e.g. end-time of a running job.
type EpochMillis int64

// Time converts m to a time.Time; unset values (<= 0) give the zero Time so
// callers can test with IsZero instead of remembering Flink's -1 convention.
func (m EpochMillis) Time() time.Time {
	if m <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// ClusterOverview is GET /overview.
type ClusterOverview struct {
	TaskManagers   int    `json:"taskmanagers"`
	SlotsTotal     int    `json:"slots-total"`
	SlotsAvailable int    `json:"slots-available"`
	JobsRunning    int    `json:"jobs-running"`
	JobsFinished   int    `json:"jobs-finished"`
	JobsCancelled  int    `json:"jobs-cancelled"`
	JobsFailed     int    `json:"jobs-failed"`
	FlinkVersion   string `json:"flink-version"`
	FlinkCommit    string `json:"flink-commit"`
}

// DashboardConfig is the subset of GET /config the operator needs.
type DashboardConfig struct {
	FlinkVersion  string `json:"flink-version"`
	FlinkRevision string `json:"flink-revision"`
}

// JobOverview is one entry of GET /jobs/overview.
type JobOverview struct {
	ID               string      `json:"jid"`
	Name             string      `json:"name"`
	State            JobState    `json:"state"`
	StartTime        EpochMillis `json:"start-time"`
	EndTime          EpochMillis `json:"end-time"`
	DurationMillis   int64       `json:"duration"`
	LastModification EpochMillis `json:"last-modification"`
}

// JobDetails is the subset of GET /jobs/{id} the operator needs.
type JobDetails struct {
	ID             string      `json:"jid"`
	Name           string      `json:"name"`
	State          JobState    `json:"state"`
	StartTime      EpochMillis `json:"start-time"`
	EndTime        EpochMillis `json:"end-time"`
	DurationMillis int64       `json:"duration"`
	// Now is the JobManager's clock when it answered; compare timestamps
	// against it rather than against the operator's clock.
	Now            EpochMillis `json:"now"`
	IsStoppable    bool        `json:"isStoppable"`
	MaxParallelism int64       `json:"maxParallelism"`
	// JobType is "STREAMING" or "BATCH"; empty before Flink 1.20.
	JobType string `json:"job-type"`
	// Timestamps maps a state to when the job entered it.
	Timestamps map[JobState]EpochMillis `json:"timestamps"`
	Vertices   []VertexSummary          `json:"vertices"`
}

// VertexSummary is one job vertex of JobDetails; Status is an ExecutionState
// (CREATED, SCHEDULED, DEPLOYING, RUNNING, ...), useful to tell a job that is
// RUNNING but still deploying tasks from one that is really processing.
type VertexSummary struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Parallelism int    `json:"parallelism"`
	Status      string `json:"status"`
}

// JobExceptions is GET /jobs/{id}/exceptions, normalised across versions.
type JobExceptions struct {
	// RootException is the stack trace of the most recent root failure. On
	// Flink 1.x it is the deprecated top-level "root-exception"; on 2.x,
	// where that field was removed, it comes from the newest history entry.
	RootException string
	Timestamp     EpochMillis
	// History holds exceptionHistory.entries, newest first.
	History          []ExceptionEntry
	HistoryTruncated bool
}

// ExceptionEntry is one exceptionHistory entry.
type ExceptionEntry struct {
	ExceptionName string            `json:"exceptionName"`
	Stacktrace    string            `json:"stacktrace"`
	Timestamp     EpochMillis       `json:"timestamp"`
	TaskName      string            `json:"taskName"`
	Endpoint      string            `json:"endpoint"`
	TaskManagerID string            `json:"taskManagerId"`
	FailureLabels map[string]string `json:"failureLabels"`
}

// CheckpointStats is the subset of GET /jobs/{id}/checkpoints the operator
// needs; the summary and the per-task statistics are not decoded.
type CheckpointStats struct {
	Counts          CheckpointCounts
	LatestCompleted *CompletedCheckpoint
	LatestSavepoint *CompletedCheckpoint
	LatestFailed    *FailedCheckpoint
	LatestRestored  *RestoredCheckpoint
	// RecentCompleted are the completed checkpoints and savepoints of the
	// history (Flink keeps the last web.checkpoints.history operations, 10 by
	// default), newest first; Discarded says which Flink deleted since.
	RecentCompleted []CompletedCheckpoint
}

// CheckpointConfig is the subset of GET /jobs/{id}/checkpoints/config the
// operator needs: the job's effective checkpoint settings, which its code may
// have set differently from the cluster's configuration.
type CheckpointConfig struct {
	// Interval is the checkpoint interval in milliseconds.
	Interval        int64                  `json:"interval"`
	Externalization ExternalizedCheckpoint `json:"externalization"`
}

// ExternalizedCheckpoint says what happens to completed checkpoints when
// the job stops: without Enabled they are deleted whenever it ends; with
// DeleteOnCancellation they are kept only when it fails.
type ExternalizedCheckpoint struct {
	Enabled              bool `json:"enabled"`
	DeleteOnCancellation bool `json:"delete_on_cancellation"`
}

// CheckpointCounts is "counts" of the checkpoint statistics.
type CheckpointCounts struct {
	Restored   int64 `json:"restored"`
	Total      int64 `json:"total"`
	InProgress int64 `json:"in_progress"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
}

// CompletedCheckpoint is latest.completed or latest.savepoint.
type CompletedCheckpoint struct {
	ID                 int64       `json:"id"`
	Status             string      `json:"status"`
	IsSavepoint        bool        `json:"is_savepoint"`
	CheckpointType     string      `json:"checkpoint_type"`
	SavepointFormat    string      `json:"savepointFormat"`
	TriggerTimestamp   EpochMillis `json:"trigger_timestamp"`
	LatestAckTimestamp EpochMillis `json:"latest_ack_timestamp"`
	ExternalPath       string      `json:"external_path"`
	Discarded          bool        `json:"discarded"`
	StateSize          int64       `json:"state_size"`
	EndToEndDuration   int64       `json:"end_to_end_duration"`
}

// FailedCheckpoint is latest.failed.
type FailedCheckpoint struct {
	ID               int64       `json:"id"`
	IsSavepoint      bool        `json:"is_savepoint"`
	TriggerTimestamp EpochMillis `json:"trigger_timestamp"`
	FailureTimestamp EpochMillis `json:"failure_timestamp"`
	FailureMessage   string      `json:"failure_message"`
}

// RestoredCheckpoint is latest.restored: what the job last restored from.
type RestoredCheckpoint struct {
	ID               int64       `json:"id"`
	IsSavepoint      bool        `json:"is_savepoint"`
	RestoreTimestamp EpochMillis `json:"restore_timestamp"`
	ExternalPath     string      `json:"external_path"`
}

// SavepointFormat is the "formatType" of a savepoint request.
type SavepointFormat string

// Savepoint formats accepted by Flink (since 1.15, FLIP-203).
const (
	SavepointFormatCanonical SavepointFormat = "CANONICAL"
	SavepointFormatNative    SavepointFormat = "NATIVE"
)

// SavepointRequest is the body of POST /jobs/{id}/savepoints.
type SavepointRequest struct {
	// TargetDirectory may be empty to use the cluster's configured default
	// savepoint directory (the savepoint fails if none is configured).
	TargetDirectory string
	CancelJob       bool
	// FormatType may be empty for Flink's default (CANONICAL).
	FormatType SavepointFormat
	// TriggerID, when set, makes the request idempotent: Flink answers a
	// repeated request with the same ID instead of taking a second
	// savepoint. Use NewTriggerID and persist it before calling.
	TriggerID string
}

// StopRequest is the body of POST /jobs/{id}/stop (stop-with-savepoint).
type StopRequest struct {
	TargetDirectory string
	// Drain emits MAX_WATERMARK before the savepoint (fires all timers).
	Drain      bool
	FormatType SavepointFormat
	TriggerID  string
}

// OperationState is the outcome of an asynchronous Flink operation.
type OperationState string

// Operation states; Flink itself only has IN_PROGRESS and COMPLETED, failure
// is a COMPLETED operation carrying a failure-cause.
const (
	OperationInProgress OperationState = "InProgress"
	OperationCompleted  OperationState = "Completed"
	OperationFailed     OperationState = "Failed"
)

// SavepointStatus is the status of a savepoint, stop-with-savepoint or
// savepoint-disposal operation.
type SavepointStatus struct {
	State OperationState
	// Location is the savepoint path once a savepoint completed (empty for
	// disposals).
	Location string
	// Failure is set iff State is OperationFailed.
	Failure *FailureCause
}

// FailureCause is Flink's serialized throwable (the binary
// "serialized-throwable" field is not kept).
type FailureCause struct {
	Class      string `json:"class"`
	StackTrace string `json:"stack-trace"`
}
