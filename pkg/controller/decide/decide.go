// Package decide is the pure decision of one sync: from the snapshot the observer took, the
// operator's settings and the time, it returns one Plan (the status to write, the children to
// apply, the Flink actions, the events, the finalizer to add or release, when to look again). It
// composes the desired builders, the job's state machine and status derivation; every policy of a
// sync is a small function here, each with a table test. It does no I/O.
package decide

import (
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/retention"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// The final-savepoint finalizer and the annotations that steer a job cluster.
const (
	FinalSavepointFinalizer = "flinkoperator.k8s.io/final-savepoint"
	// HACleanupFinalizer holds the deletion of a cluster with high availability until its
	// JobManagers are gone and the ConfigMaps Flink's HA services made are deleted.
	HACleanupFinalizer           = "flinkoperator.k8s.io/ha-cleanup"
	SkipFinalSavepointAnnotation = "flinkoperator.k8s.io/skip-final-savepoint"
	// SavepointRetryAnnotation: a new value asks again for a requested savepoint whose retries
	// were used up.
	SavepointRetryAnnotation = "flinkoperator.k8s.io/savepoint-retry"
)

// Plan is everything one sync does, decided without I/O. The updater applies it in this order:
// events for foreign children, foreign EndpointSlices and an invalid spec; a finalizer to add
// (and nothing else after it); the HA cleanup; then either the release of the finalizer (with
// Status), or Status and Children in the order StatusFirst says, the job's transition and
// notices as events, and the job's actions.
type Plan struct {
	// Gone: the FlinkCluster no longer exists; its series and timers are forgotten.
	Gone bool
	// AddFinalizers: add these finalizers before anything else runs.
	AddFinalizers []string
	// Foreign names children whose names other objects hold; BuildErr says why the spec cannot
	// be built. Each is reported as an event; BuildErr only when it is new (see newBuildErr).
	Foreign []string
	// ForeignEndpoints describes hand-made EndpointSlices of the JobManager Service when status
	// does not report them yet (one event per change).
	ForeignEndpoints string
	BuildErr         error
	// Children are the children to apply (nil: none).
	Children *Children
	// Status is the status to write (nil: none).
	Status *v1beta1.FlinkClusterStatus
	// StatusFirst: write Status before applying Children (job clusters: write-ahead, so a
	// cleanup policy never runs before what the step recorded is in status).
	StatusFirst bool
	// Job is the state machine's step (nil for a session cluster).
	Job *fsm.Decision
	// TransitionEvent: the step's transition gets an event (see eventWorthy).
	TransitionEvent bool
	// Notices are the savepoint events of the step.
	Notices []fsm.Notice
	// HACleanup removes what Flink's HA services left of a cluster whose JobManagers go: it runs
	// before Status is written, so a failure is retried by the next sync.
	HACleanup *HACleanup
	// ReleaseFinalizer names the finalizer whose work is done ("" none); Status (when set) is
	// written with the release. FinalSavepoint, when set, is the final savepoint's outcome to
	// report.
	ReleaseFinalizer string
	FinalSavepoint   *v1beta1.SavepointOperation
	// DisposeSavepoint is the savepoint whose disposal spec.job.savepointRetention triggers now
	// ("" none), after the job's actions; status records it InProgress first.
	DisposeSavepoint string
	// RequeueAfter is when to look again without a watch event (0: never).
	RequeueAfter time.Duration
	// Acting is the FlinkCluster with the spec the job's actions act on (a submitter is built
	// from it) when that is not the user's: the stable revision's while a rollback is in force.
	Acting *v1beta1.FlinkCluster
}

// Children are the children to apply.
type Children struct {
	Want *desired.Cluster
	// Components are the components that should exist; the others are deleted.
	Components desired.Components
	// HoldDrift leaves existing children whose spec changed alone (a running job's pods are never
	// replaced under it).
	HoldDrift bool
	// RepairService puts back a JobManager Service that was redirected (snapshot.ServiceRedirected),
	// held drift or not.
	RepairService string
}

// Decide returns the plan for one sync.
func Decide(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) Plan {
	user := snap.Cluster
	snap = effective(snap)
	fc := snap.Cluster
	switch {
	case fc == nil:
		return Plan{Gone: true}
	case fc.DeletionTimestamp != nil:
		// The garbage collector removes the children through their ownerReferences; a job
		// cluster's finalizer holds the deletion for its final savepoint.
		return decideDeletion(snap, settings, now)
	}
	want, buildErr := desired.Build(fc, env(snap, settings))
	if add := missingFinalizers(fc); len(add) > 0 {
		// Added before anything runs, so a deletion always finds them.
		return Plan{AddFinalizers: add, Foreign: newForeign(fc, snap.Foreign), BuildErr: newBuildErr(fc, buildErr)}
	}
	var p Plan
	if fc.Spec.Job == nil {
		p = decideSession(snap, want, buildErr, now)
	} else if p = decideJob(snap, user, want, buildErr, settings, now); fc != user {
		p.Acting = fc
	}
	if snap.RESTTLSError != "" {
		// Secrets are not watched: come back when the observer reads it again.
		p.RequeueAfter = fsm.Sooner(p.RequeueAfter, snapshot.RESTTLSRetry)
	}
	return p
}

func decideSession(snap *snapshot.Snapshot, want *desired.Cluster, buildErr error, now time.Time) Plan {
	p := Plan{Foreign: newForeign(snap.Cluster, snap.Foreign), BuildErr: newBuildErr(snap.Cluster, buildErr)}
	if want != nil {
		p.Children = &Children{Want: want, Components: desired.AllComponents, RepairService: snap.ServiceRedirected}
	}
	// Status reflects what was observed before this sync's writes; their watch events bring
	// the next sync, which sees them.
	st := state.Derive(state.Input{Observed: snap, Want: want, BuildErr: buildErr, Now: now, Wanted: desired.AllComponents})
	p.Status = &st
	return p
}

// decideJob runs one step of the job's state machine. Its new status is written before its
// actions run, so whatever the operator is doing when it stops, the next sync resumes from status.
// user is the FlinkCluster as the user wrote it; snap holds the spec the operator acts on
// (another while a rollback is in force).
func decideJob(snap *snapshot.Snapshot, user *v1beta1.FlinkCluster, want *desired.Cluster, buildErr error, settings fsm.Settings, now time.Time) Plan {
	fc := snap.Cluster
	in := JobInput(snap, want, settings, now)
	d := fsm.Step(in)
	kept := retention.Step(retentionInput(snap, in, d.Status, settings))
	d.Status.SavepointHistory = kept.History
	d.Status.Rollback = nextRollback(user, in.Stable, d.Status)
	job := d.Status
	wanted := wantedComponents(*fc.Spec.Job, job)
	held := fsm.Active(job)
	changed := job.Revision != "" && job.Revision != in.Revision
	after := in
	after.Status = job
	verdict := judgeHealth(snap, job, settings)
	reason, message := pendingUpdate(fc, job, in.Revision, held && (changed || (want != nil && heldDrift(snap, want))), buildErr != nil, fsm.LastStateBlocker(after))
	st := state.Derive(state.Input{Observed: snap, Want: want, BuildErr: buildErr, Now: now,
		Job: &job, Wanted: wanted, HeldDrift: held, UpdateReason: reason, UpdateMessage: message,
		FlinkPolled: in.Flink.Polled, FlinkReachable: in.Flink.Reachable, JobManagerURL: snap.JobManagerURL,
		ServiceRedirected: snap.ServiceRedirected, ForeignEndpoints: snap.ForeignEndpoints, Health: verdict})
	p := Plan{Foreign: newForeign(fc, snap.Foreign), BuildErr: newBuildErr(fc, buildErr), Status: &st, StatusFirst: true, Job: &d,
		ForeignEndpoints: newForeignEndpoints(fc, snap.ForeignEndpoints),
		TransitionEvent:  eventWorthy(d.Transition), Notices: append(append(fsm.Notices(in.Status, job), kept.Notices...), rollbackNotices(in.Status, job)...),
		RequeueAfter: fsm.Sooner(d.RequeueAfter, kept.RequeueAfter), DisposeSavepoint: kept.Dispose}
	if want != nil {
		p.Children = &Children{Want: want, Components: wanted, HoldDrift: held, RepairService: snap.ServiceRedirected}
	}
	if (haConfigMapsDue(snap) || (attemptMayStart(snap) && startsAttempt(d))) && len(snap.HAConfigMaps) > 0 {
		p.HACleanup = &HACleanup{ConfigMaps: snap.HAConfigMaps}
	}
	// The verdict the step saw: a restartOnUnhealthy step leaves the job Failing, unjudged.
	if n, ok := healthNotice(previousVerdict(fc, in.Status), in.Health); ok {
		p.Notices = append(p.Notices, n)
	}
	if reason == ReasonFromSavepointNotApplied && !reported(fc, state.ConditionUpdatePending, reason, message) {
		// Once per edit, not per sync: the condition carries it from then on.
		p.Notices = append(p.Notices, fsm.Notice{Warning: true, Reason: reason, Message: message})
	}
	return p
}

// JobInput is the state machine's input for the snapshot; want is nil when the spec cannot be
// built (or the cluster is being deleted).
func JobInput(snap *snapshot.Snapshot, want *desired.Cluster, settings fsm.Settings, now time.Time) fsm.Input {
	fc := snap.Cluster
	current := jobStatus(fc)
	phase, reason := state.SubmitterPhase(snap.Submitter, current.ID)
	if reason != "" && snap.SubmitterPodFailure != "" {
		reason += "; " + snap.SubmitterPodFailure
	}
	if phase == fsm.SubmitterNone && current.ID != "" && snap.SubmitterCreated == current.ID {
		phase = fsm.SubmitterActive
	}
	return fsm.Input{
		Now: now, Namespace: fc.Namespace, Name: fc.Name, ClusterUID: string(fc.UID), Spec: *fc.Spec.Job, Status: current,
		HighAvailability: fc.Spec.HighAvailabilityEnabled(),
		ClusterReady:     state.ClusterReady(snap) && haPermitted(snap), Flink: snap.Flink, Savepoint: snap.Savepoint, Checkpoints: snap.Checkpoints,
		Retention: snap.Retention, FlinkVersion: desired.FlinkVersion(fc),
		SavepointSeenAt: snap.SavepointSeenAt, Submitter: phase, SubmitterReason: reason, Settings: settings,
		Health:              judgeHealth(snap, current, settings),
		Stable:              provedStable(snap),
		Revision:            desired.JobRevision(fc),
		ClusterUpToDate:     want != nil && state.ChildrenMatch(snap, want),
		SpecInvalid:         want == nil && fc.DeletionTimestamp == nil,
		Deleting:            fc.DeletionTimestamp != nil,
		SkipFinalSavepoint:  fc.Annotations[SkipFinalSavepointAnnotation] == "true",
		SavepointRetryToken: fc.Annotations[SavepointRetryAnnotation],
	}
}

// mayReadHistory is a cheap first test for NeedsCheckpoints, so that the poll of a running job
// that nothing asks to stop builds nothing: only a stop to trigger (deletion, cancellation, a
// suspension, a restore request, a new revision), a stop in flight (or a suspension's cancellation), a job Flink reports stopped, a failed one whose policies resume
// from the latest state, or one a new JobManager recovered (which checkpoint it restored) can
// take a transition that reads the history.
func mayReadHistory(snap *snapshot.Snapshot) bool {
	fc := snap.Cluster
	job := jobStatus(fc)
	ended := fsm.FlinkStateMeaning[snap.Flink.State]
	cancel := fc.Spec.Job.CancelRequested != nil && *fc.Spec.Job.CancelRequested
	suspend := fc.Spec.Job.Suspended() && job.State == fsm.Running
	restore := fc.Spec.Job.RestoreGeneration > job.RestoreGeneration && job.State == fsm.Running
	return fc.DeletionTimestamp != nil || cancel || suspend || restore || job.State == fsm.Suspending || fsm.SavepointInFlight(job) ||
		fsm.FlinkRecovered(fsm.Input{Flink: snap.Flink, Status: job}) ||
		ended == fsm.JobFinished || ended == fsm.JobCanceled ||
		(ended == fsm.JobFailed && fc.Spec.Job.UsesLatestState()) ||
		(job.Revision != "" && desired.JobRevision(fc) != job.Revision)
}

func jobStatus(fc *v1beta1.FlinkCluster) v1beta1.JobStatus {
	if fc.Status.Components.Job == nil {
		return v1beta1.JobStatus{}
	}
	return *fc.Status.Components.Job
}

// Reads says which optional REST calls the decision on snap needs, for the observer, which makes
// them only then: the checkpoint history when a transition reads it (fsm.NeedsCheckpoints) or
// the latest checkpoint is due to be recorded, the checkpoint configuration once per attempt, the HA ConfigMaps when they are to be deleted.
func Reads(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) snapshot.Reads {
	fc := snap.Cluster
	if fc == nil {
		return snapshot.Reads{}
	}
	snap = effective(snap)
	reads := snapshot.Reads{HAConfigMaps: haConfigMapsDue(snap) || haCleanupReady(snap, settings, now) || attemptMayStart(snap)}
	if fc.Spec.Job == nil || !snap.Flink.Polled {
		return reads
	}
	reads.Checkpoints = checkpointRecordDue(snap, settings, now) || needsCheckpoints(snap, settings, now)
	reads.Retention = checkpointConfigUnknown(snap)
	reads.JobMetrics = healthReadDue(snap, settings, now) || onTrial(snap, settings, now)
	return reads
}

func needsCheckpoints(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) bool {
	fc := snap.Cluster
	if !mayReadHistory(snap) {
		return false
	}
	var want *desired.Cluster
	if fc.DeletionTimestamp == nil {
		want, _ = desired.Build(fc, env(snap, settings))
	}
	return fsm.NeedsCheckpoints(JobInput(snap, want, settings, now))
}

// liveLatestStateJob: the job runs in Flink, and its policies resume from the latest state.
func liveLatestStateJob(snap *snapshot.Snapshot) bool {
	return snap.Cluster.Spec.Job.UsesLatestState() && liveJob(snap)
}

// checkpointRecordDue: the latest checkpoint of a running job whose policies resume from the
// latest state is recorded at most once per CheckpointRecordInterval (one REST call), and once
// more after each savepoint ends, so that status never holds a record older than its savepoint
// for longer than one poll.
func checkpointRecordDue(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) bool {
	if !liveLatestStateJob(snap) {
		return false
	}
	read, job := snap.CheckpointsReadAt, jobStatus(snap.Cluster)
	return read.IsZero() || now.Sub(read) >= settings.CheckpointRecordInterval ||
		(job.LastSavepointTime != nil && read.Before(job.LastSavepointTime.Time))
}

// checkpointConfigUnknown: the job's checkpoint configuration (retention and interval) is read
// once per attempt, once Flink runs it: latest-state policies need the retention, the health
// check the interval.
func checkpointConfigUnknown(snap *snapshot.Snapshot) bool {
	return liveJob(snap) && snap.Flink.State == "RUNNING" && jobStatus(snap.Cluster).CheckpointRetention == ""
}

// haPermitted: nothing is known to be missing for Flink's HA services. Without those permissions
// a JobManager may answer REST calls with no leader behind it, so the job is not submitted (it
// would fail) until the Role is there; condition HighAvailabilityPermitted says why.
func haPermitted(snap *snapshot.Snapshot) bool {
	return len(snap.HAAccess.Missing) == 0
}

// retentionInput is the savepoint retention's input: job is the status after the machine's step.
func retentionInput(snap *snapshot.Snapshot, in fsm.Input, job v1beta1.JobStatus, settings fsm.Settings) retention.Input {
	spec := snap.Cluster.Spec.Job
	from := ""
	if spec.FromSavepoint != nil {
		from = *spec.FromSavepoint
	}
	return retention.Input{Now: in.Now, Policy: spec.SavepointRetention, Before: in.Status, Status: job, SpecFromSavepoint: from,
		LatestState:  spec.UsesLatestState() || job.UpdateMode == v1beta1.UpgradeModeLastState,
		JobManagerUp: jobManagerUp(snap), Disposal: snap.Disposal,
		PollInterval: settings.SavepointPollInterval, Timeout: settings.SavepointTimeout}
}

// jobManagerUp: the JobManager runs and the operator may ask it something (a disposal).
func jobManagerUp(snap *snapshot.Snapshot) bool {
	return state.JobManagerReady(snap) && snap.JobManagerURL != "" && !snap.RESTBlocked() && haPermitted(snap)
}
