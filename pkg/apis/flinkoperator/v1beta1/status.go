package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterState is the overall state of a FlinkCluster.
type ClusterState string

// The cluster states; docs/state-derivation.md gives the rule for each.
const (
	ClusterStateCreating         ClusterState = "Creating"
	ClusterStateRunning          ClusterState = "Running"
	ClusterStateReconciling      ClusterState = "Reconciling"
	ClusterStateUpdating         ClusterState = "Updating"
	ClusterStateStopping         ClusterState = "Stopping"
	ClusterStatePartiallyStopped ClusterState = "PartiallyStopped"
	ClusterStateStopped          ClusterState = "Stopped"
)

// ComponentState is the state of one child object.
type ComponentState string

// The component states.
const (
	ComponentStateNotReady ComponentState = "NotReady"
	ComponentStateReady    ComponentState = "Ready"
	ComponentStateDeleted  ComponentState = "Deleted"
)

// JobState is the job's state as the operator sees it; flinkJobState keeps Flink's own value.
type JobState string

// The job states; docs/state-machine.md maps Flink's states onto them.
const (
	JobStatePending      JobState = "Pending"
	JobStateSubmitting   JobState = "Submitting"
	JobStateRunning      JobState = "Running"
	JobStateSavepointing JobState = "Savepointing"
	JobStateCancelling   JobState = "Cancelling"
	JobStateSucceeded    JobState = "Succeeded"
	JobStateFailed       JobState = "Failed"
	JobStateCancelled    JobState = "Cancelled"
	JobStateLost         JobState = "Lost"
	JobStateUpdating     JobState = "Updating"
	JobStateDeploying    JobState = "Deploying"
	JobStateDeleting     JobState = "Deleting"
	// JobStateFailing: the operator cancels a job judged unhealthy (spec.job.restartOnUnhealthy)
	// to restart it by its restartPolicy; it is Failed once Flink confirms the cancellation.
	JobStateFailing JobState = "Failing"
	// JobStateSuspending: the job is being stopped because spec.job.state is Suspended.
	JobStateSuspending JobState = "Suspending"
	// JobStateSuspended: the job was stopped for spec.job.state Suspended; it resumes when that
	// is Running again.
	JobStateSuspended JobState = "Suspended"
)

// SavepointReason says why a savepoint was taken.
type SavepointReason string

// The savepoint reasons.
const (
	SavepointReasonScheduled SavepointReason = "Scheduled"
	SavepointReasonUser      SavepointReason = "User"
	SavepointReasonUpdate    SavepointReason = "Update"
	SavepointReasonCancel    SavepointReason = "Cancel"
	SavepointReasonDelete    SavepointReason = "Delete"
	SavepointReasonSuspend   SavepointReason = "Suspend"
	// SavepointReasonExternal is a savepoint taken outside the operator (Flink's UI or REST
	// API) that stopped the job; the operator found it in the job's checkpoint history.
	SavepointReasonExternal SavepointReason = "External"
)

// SavepointState is the state of one savepoint operation.
type SavepointState string

// The savepoint operation states.
const (
	SavepointStateInProgress SavepointState = "InProgress"
	SavepointStateSucceeded  SavepointState = "Succeeded"
	SavepointStateFailed     SavepointState = "Failed"
	// SavepointStateUnconfirmed ends a stop-with-savepoint whose job stopped while neither
	// Flink's trigger status nor the job's checkpoint history shows the savepoint: the operator
	// does not resubmit from an older savepoint by itself.
	SavepointStateUnconfirmed SavepointState = "Unconfirmed"
)

// FlinkClusterStatus is what the operator last observed and did. Every field is optional.
type FlinkClusterStatus struct {
	// State is the overall cluster state: Creating, Running, Reconciling, Updating, Stopping,
	// PartiallyStopped or Stopped.
	// +optional
	State ClusterState `json:"state,omitempty"`

	// Components are the states of the cluster's child objects and job.
	// +optional
	Components FlinkClusterComponentsStatus `json:"components,omitempty"`

	// LastUpdateTime is when anything else in status last changed.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`

	// ObservedGeneration is the metadata.generation of the spec this status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions are the standard conditions (Ready, Progressing, ...).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FlinkClusterComponentsStatus are the states of a cluster's parts.
type FlinkClusterComponentsStatus struct {
	// JobManagerDeployment is the JobManager Deployment.
	// +optional
	JobManagerDeployment ComponentStatus `json:"jobManagerDeployment,omitempty"`

	// JobManagerService is the JobManager Service.
	// +optional
	JobManagerService ComponentStatus `json:"jobManagerService,omitempty"`

	// JobManagerIngress is the JobManager Ingress, when spec.jobManager.ingress is set.
	// +optional
	JobManagerIngress *IngressStatus `json:"jobManagerIngress,omitempty"`

	// TaskManagerDeployment is the TaskManager Deployment.
	// +optional
	TaskManagerDeployment TaskManagerStatus `json:"taskManagerDeployment,omitempty"`

	// Job is the job of a job cluster.
	// +optional
	Job *JobStatus `json:"job,omitempty"`
}

// ComponentStatus is the name and state of one child object.
type ComponentStatus struct {
	// Name is the child object's name.
	// +optional
	Name string `json:"name,omitempty"`

	// State is NotReady, Ready or Deleted.
	// +optional
	State ComponentState `json:"state,omitempty"`

	// NodePort is, for the JobManager Service with accessScope NodePort, the node port of the UI
	// and REST API port. Other components leave it unset.
	// +optional
	NodePort int32 `json:"nodePort,omitempty"`

	// DashboardURL is, for the JobManager Service, the Flink dashboard's URL when the operator
	// runs with --dashboard-url-template (for example through kubectl proxy and the API server's
	// Service proxy; docs/dev.md). Other components leave it unset.
	// +optional
	DashboardURL string `json:"dashboardURL,omitempty"`
}

// IngressStatus is the JobManager Ingress and the URLs it serves.
type IngressStatus struct {
	// Name is the Ingress's name.
	// +optional
	Name string `json:"name,omitempty"`

	// State is NotReady, Ready or Deleted.
	// +optional
	State ComponentState `json:"state,omitempty"`

	// URLs are the URLs of the JobManager UI through the Ingress.
	// +optional
	URLs []string `json:"urls,omitempty"`
}

// TaskManagerStatus is the TaskManager Deployment; replicas and selector serve the scale
// subresource.
type TaskManagerStatus struct {
	// Name is the Deployment's name.
	// +optional
	Name string `json:"name,omitempty"`

	// State is NotReady, Ready or Deleted.
	// +optional
	State ComponentState `json:"state,omitempty"`

	// Replicas is the number of ready TaskManagers.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// Selector is the TaskManager pods' label selector, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
}

// JobStatus is the state of a job cluster's job.
type JobStatus struct {
	// Name is the name of the job submitter (a batch/v1 Job).
	// +optional
	Name string `json:"name,omitempty"`

	// ID is the Flink job ID, chosen by the operator before submission.
	// +optional
	ID string `json:"id,omitempty"`

	// State is the job state as the operator sees it.
	// +optional
	State JobState `json:"state,omitempty"`

	// FlinkJobState is the job state as Flink's REST API last reported it.
	// +optional
	FlinkJobState string `json:"flinkJobState,omitempty"`

	// FromSavepoint is the savepoint the current run actually started from (it may differ from
	// spec.job.fromSavepoint after a restart or update).
	// +optional
	FromSavepoint string `json:"fromSavepoint,omitempty"`

	// RestoreGeneration is the spec.job.restoreGeneration the operator last acted on (restored
	// from spec.job.fromSavepoint, or submitted the first run with).
	// +optional
	RestoreGeneration int32 `json:"restoreGeneration,omitempty"`

	// RestoreTarget is the savepoint a restore request (restoreGeneration) resubmits the job
	// from, while that restart is in progress.
	// +optional
	RestoreTarget string `json:"restoreTarget,omitempty"`

	// AppliedFromSavepoint is the spec.job.fromSavepoint the operator last acted on (the first
	// submission or a restore request; "" when it was not set). A different value in the spec
	// without a new restoreGeneration is reported (condition UpdatePending, reason
	// FromSavepointNotApplied). Absent for attempts submitted by an operator before this field.
	// +optional
	AppliedFromSavepoint *string `json:"appliedFromSavepoint,omitempty"`

	// SavepointGeneration counts the savepoints the operator took into savepointsDir: it starts
	// at 0 and grows by 1 per successful savepoint.
	// +optional
	SavepointGeneration int32 `json:"savepointGeneration,omitempty"`

	// SavepointLocation is the location of the last successful savepoint.
	// +optional
	SavepointLocation string `json:"savepointLocation,omitempty"`

	// LastSavepointTriggerID is the trigger ID of the last savepoint operation.
	// +optional
	LastSavepointTriggerID string `json:"lastSavepointTriggerID,omitempty"`

	// LastSavepointTime is when the last savepoint operation, successful or failed, ended.
	// +optional
	LastSavepointTime *metav1.Time `json:"lastSavepointTime,omitempty"`

	// RestartCount is how many times the operator restarted the job after a failure.
	// +optional
	RestartCount int32 `json:"restartCount,omitempty"`

	// Attempt numbers the submissions of this cluster's job; the job ID is derived from the
	// cluster's UID and the attempt, so a resubmission of the same attempt is a duplicate.
	// +optional
	Attempt int32 `json:"attempt,omitempty"`

	// SubmitTime is when the current attempt's submitter was created.
	// +optional
	SubmitTime *metav1.Time `json:"submitTime,omitempty"`

	// DeployTime is when the operator last began to rebuild the cluster for a new attempt (an
	// update, a resume, a restore or a rollback): spec.job.rollback times a revision whose
	// cluster does not come up from it.
	// +optional
	DeployTime *metav1.Time `json:"deployTime,omitempty"`

	// StartTime is when the current attempt was first seen running in Flink.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// FlinkStartTime is the start time Flink reports for the current attempt. A new JobManager
	// leader that recovers the job by itself (high availability) starts it anew, so a later value
	// means a Flink-side recovery (lastFlinkRecovery).
	// +optional
	FlinkStartTime *metav1.Time `json:"flinkStartTime,omitempty"`

	// FlinkRecoveries counts the times a new JobManager recovered the current attempt by itself
	// (high availability). restartCount, the operator's restarts, does not count them.
	// +optional
	FlinkRecoveries int32 `json:"flinkRecoveries,omitempty"`

	// LastFlinkRecovery is the latest of those recoveries.
	// +optional
	LastFlinkRecovery *FlinkRecovery `json:"lastFlinkRecovery,omitempty"`

	// EndTime is when the job reached its last terminal state.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`

	// NotFoundSince is when a reachable JobManager first did not know the job; after a grace
	// period the job is Lost.
	// +optional
	NotFoundSince *metav1.Time `json:"notFoundSince,omitempty"`

	// UserSavepointFailures counts failed attempts at the savepoint requested through
	// spec.job.savepointGeneration; it resets when that savepoint succeeds.
	// +optional
	UserSavepointFailures int32 `json:"userSavepointFailures,omitempty"`

	// Revision identifies the spec the current attempt was submitted with; a spec whose revision
	// differs rolls out as savepoint, rebuild, resubmit from that savepoint.
	// +optional
	Revision string `json:"revision,omitempty"`

	// SavepointRetryToken is the last value of the annotation flinkoperator.k8s.io/savepoint-retry
	// the operator acted on: a new value asks again for a savepoint whose retries were used up.
	// +optional
	SavepointRetryToken string `json:"savepointRetryToken,omitempty"`

	// TargetRevision is the revision an update in progress rolls out, recorded before the job
	// is stopped so that a restarted operator finishes the same update.
	// +optional
	TargetRevision string `json:"targetRevision,omitempty"`

	// Savepoint is the savepoint operation in flight (or the last one), recorded before it is
	// polled so that an operator restart loses nothing.
	// +optional
	Savepoint *SavepointOperation `json:"savepoint,omitempty"`

	// SavepointHistory holds the last savepoint operations, newest first.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	SavepointHistory []SavepointOperation `json:"savepointHistory,omitempty"`

	// UpdateMode is how the update in progress stops the job and where it resumes (Savepoint,
	// LastState or Stateless), recorded with targetRevision so that the update finishes the way
	// it started.
	// +optional
	UpdateMode UpgradeMode `json:"updateMode,omitempty"`

	// FlinkVersion is the Flink major.minor the current attempt was submitted with (empty when
	// its image did not say): a LastState update to another version restores from a savepoint,
	// since checkpoints are not guaranteed to restore across versions.
	// +optional
	FlinkVersion string `json:"flinkVersion,omitempty"`

	// FromCheckpoint is true when the current attempt was restored from a retained checkpoint
	// (fromSavepoint names it) rather than a savepoint.
	// +optional
	FromCheckpoint bool `json:"fromCheckpoint,omitempty"`

	// LatestCheckpoint is the job's latest completed checkpoint or savepoint as its JobManager
	// last reported it. It is refreshed while a job whose policies resume from the latest state
	// runs (at most once a minute) and read again when the job stops.
	// +optional
	LatestCheckpoint *CheckpointRecord `json:"latestCheckpoint,omitempty"`

	// CheckpointRetention is what the current attempt's checkpoint configuration says Flink does
	// with its completed checkpoints when the job stops: RetainOnCancellation,
	// DeleteOnCancellation (kept only when the job fails), NotRetained, or CheckpointingDisabled.
	// Empty until read; read only for jobs whose policies resume from the latest state.
	// +optional
	CheckpointRetention CheckpointRetention `json:"checkpointRetention,omitempty"`

	// CheckpointInterval is the current attempt's checkpoint interval, read with
	// checkpointRetention (set in the job's code or the cluster's configuration).
	// +optional
	CheckpointInterval *metav1.Duration `json:"checkpointInterval,omitempty"`

	// UnrestorableLocations are checkpoints and savepoints Flink failed to restore from (most
	// likely deleted): the operator never tries them again and falls back to the next candidate.
	// Newest first.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	UnrestorableLocations []string `json:"unrestorableLocations,omitempty"`

	// Rollback is what spec.job.rollback needs: the last revision that ran well, and a rollback
	// in progress or in force. Absent without spec.job.rollback.
	// +optional
	Rollback *RollbackStatus `json:"rollback,omitempty"`

	// Message explains the job state when it needs one (a failure reason, a blocked update).
	// +optional
	Message string `json:"message,omitempty"`
}

// RollbackState is where a rollback is.
type RollbackState string

const (
	// RollbackStateRollingBack: the failed revision's job is stopped (if it runs) and the stable
	// revision's cluster is being rebuilt; the next attempt starts from restoreFrom.
	RollbackStateRollingBack RollbackState = "RollingBack"
	// RollbackStateRolledBack: the stable revision was resubmitted; it stays in force while the
	// spec's revision is failedRevision.
	RollbackStateRolledBack RollbackState = "RolledBack"
)

// RollbackStatus is the record spec.job.rollback works from.
type RollbackStatus struct {
	// StableRevision is the last job revision that ran well: its job ran with a completed
	// checkpoint (or ran, with checkpointing disabled). A failed update rolls back to it.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`

	// StableSpec is the spec of stableRevision (JSON), recorded while it ran well, so that the
	// operator can rebuild it after the spec has changed.
	// +optional
	StableSpec string `json:"stableSpec,omitempty"`

	// State is RollingBack or RolledBack while a rollback is in progress or in force; empty
	// otherwise.
	// +optional
	State RollbackState `json:"state,omitempty"`

	// FailedRevision is the revision rolled back from: while the spec's revision is this one,
	// the operator runs stableRevision instead. Any change of the spec lifts it.
	// +optional
	FailedRevision string `json:"failedRevision,omitempty"`

	// Reason is why it was rolled back: UpdateFailed (its job failed or was lost) or
	// UpdateTimedOut (it did not run with a completed checkpoint in time).
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message says what happened in words.
	// +optional
	Message string `json:"message,omitempty"`

	// Time is when the rollback started.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`

	// RestoreFrom is what the stable revision is resubmitted from: what the failed revision's
	// job started from (the update's savepoint, or a LastState update's checkpoint); empty for
	// a Stateless update.
	// +optional
	RestoreFrom string `json:"restoreFrom,omitempty"`

	// RestoreFromCheckpoint is true when restoreFrom is a retained checkpoint.
	// +optional
	RestoreFromCheckpoint bool `json:"restoreFromCheckpoint,omitempty"`
}

// CheckpointRecord is one completed checkpoint (or savepoint) of the job.
type CheckpointRecord struct {
	// JobID is the Flink job (attempt) that took it.
	// +optional
	JobID string `json:"jobID,omitempty"`

	// ID is Flink's checkpoint ID.
	// +optional
	ID int64 `json:"id,omitempty"`

	// Location is where it was written (its external path).
	// +optional
	Location string `json:"location,omitempty"`

	// Savepoint is true when it is a savepoint.
	// +optional
	Savepoint bool `json:"savepoint,omitempty"`

	// Discarded is true when Flink reported it deleted (the job's end deletes checkpoints its
	// retention does not keep); it is then no restore candidate.
	// +optional
	Discarded bool `json:"discarded,omitempty"`

	// CompletionTime is when Flink completed it, on the JobManager's clock.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// RecordTime is when the operator read it, on its own clock: a savepoint the operator saw
	// complete after this time is newer than this record.
	// +optional
	RecordTime *metav1.Time `json:"recordTime,omitempty"`

	// Older are the job's older completed checkpoints that Flink still retained when this record
	// was read and that are newer than the savepoint in savepointLocation, newest first: the next
	// candidates when this one cannot be restored.
	// +kubebuilder:validation:MaxItems=3
	// +optional
	Older []CheckpointRef `json:"older,omitempty"`
}

// CheckpointRef names one retained checkpoint.
type CheckpointRef struct {
	// ID is Flink's checkpoint ID.
	ID int64 `json:"id"`
	// Location is its external path.
	Location string `json:"location"`
}

// FlinkRecovery is a recovery of the job by a new JobManager leader.
type FlinkRecovery struct {
	// Time is when the new leader started the job again (Flink's clock).
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// CheckpointID is the checkpoint (or savepoint) Flink restored the job from; 0 when it
	// restored none.
	// +optional
	CheckpointID int64 `json:"checkpointID,omitempty"`
	// Location is that checkpoint's external path, when Flink reports one.
	// +optional
	Location string `json:"location,omitempty"`
	// Savepoint is true when it was a savepoint.
	// +optional
	Savepoint bool `json:"savepoint,omitempty"`
}

// CheckpointRetention is what Flink does with a job's completed checkpoints when the job stops.
type CheckpointRetention string

const (
	// CheckpointRetentionRetainOnCancellation keeps them when the job is cancelled or fails.
	CheckpointRetentionRetainOnCancellation CheckpointRetention = "RetainOnCancellation"
	// CheckpointRetentionDeleteOnCancellation keeps them when the job fails, deletes them when it
	// is cancelled.
	CheckpointRetentionDeleteOnCancellation CheckpointRetention = "DeleteOnCancellation"
	// CheckpointRetentionNotRetained deletes them whenever the job ends.
	CheckpointRetentionNotRetained CheckpointRetention = "NotRetained"
	// CheckpointRetentionCheckpointingDisabled: the job takes no checkpoints.
	CheckpointRetentionCheckpointingDisabled CheckpointRetention = "CheckpointingDisabled"
)

// SavepointOperation is one savepoint the operator triggered (or, with reason External, found).
type SavepointOperation struct {
	// TriggerID is Flink's savepoint trigger ID.
	// +optional
	TriggerID string `json:"triggerID,omitempty"`

	// Reason is why it was taken: Scheduled, User, Update, Cancel, Delete, Suspend, or External
	// (found in the checkpoint history of a job stopped outside the operator).
	// +optional
	Reason SavepointReason `json:"reason,omitempty"`

	// State is InProgress, Succeeded, Failed or (for a stop) Unconfirmed.
	// +optional
	State SavepointState `json:"state,omitempty"`

	// AfterCheckpointID is, for a stop with a savepoint, the highest checkpoint ID the
	// JobManager had reported before the stop was triggered: if Flink forgets the trigger, only a
	// savepoint above it in the job's checkpoint history can be the stop's own.
	// +optional
	AfterCheckpointID int64 `json:"afterCheckpointID,omitempty"`

	// StartTime is when it was triggered.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// EndTime is when it succeeded or failed.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`

	// Location is where the savepoint was written, once it succeeded.
	// +optional
	Location string `json:"location,omitempty"`

	// Message says why it failed, why a stop in progress is not confirmed yet, or how a
	// savepoint was confirmed when Flink no longer knew its trigger.
	// +optional
	Message string `json:"message,omitempty"`

	// Disposal is the operator's disposal of this savepoint under spec.job.savepointRetention.
	// +optional
	Disposal *SavepointDisposal `json:"disposal,omitempty"`
}

// SavepointDisposal is the disposal of one savepoint through the JobManager's REST API.
type SavepointDisposal struct {
	// State is InProgress, Disposed, or Failed (tried again after a backoff).
	// +optional
	State DisposalState `json:"state,omitempty"`

	// StartTime is when the last attempt was triggered.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// EndTime is when the savepoint was disposed of, or the last attempt failed.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`

	// Failures counts the failed attempts; the next waits twice as long as the previous (1
	// minute after the first failure, at most an hour).
	// +optional
	Failures int32 `json:"failures,omitempty"`

	// Message says why the last attempt failed, or that the savepoint was gone already.
	// +optional
	Message string `json:"message,omitempty"`
}

// DisposalState is the state of a savepoint's disposal.
type DisposalState string

// The disposal states.
const (
	DisposalStateInProgress DisposalState = "InProgress"
	DisposalStateDisposed   DisposalState = "Disposed"
	DisposalStateFailed     DisposalState = "Failed"
)
