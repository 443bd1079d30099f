package controller

import (
	"context"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
)

// Reconciler is the sync of one FlinkCluster: observe → build → state machine → apply. It only
// orchestrates; every decision is in desired/state/fsm and every write in updater.
type Reconciler struct {
	Observer *observer.Observer
	Flink    observer.FlinkReader
	URLs     *names.JobManagerURLs
	Updater  *updater.Updater
	Settings fsm.Settings
	Now      func() time.Time

	// savepoints times the savepoints in flight on this process's own clock.
	savepoints savepointClock
}

// Sync implements Syncer.
func (r *Reconciler) Sync(ctx context.Context, key string) (Result, error) {
	logger := klog.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		logger.Error(err, "Dropping malformed key")
		return Result{}, nil
	}
	obs, err := r.Observer.Observe(ns, name)
	if err != nil {
		return Result{}, err
	}
	fc := obs.Cluster
	if fc == nil {
		metrics.ForgetCluster(ns, name)
		r.savepoints.seenAt(key, "", time.Time{})
		return Result{}, nil
	}
	if fc.DeletionTimestamp != nil {
		// The garbage collector removes the children through their ownerReferences; a job
		// cluster's finalizer holds the deletion for its final savepoint.
		return r.syncDeletion(ctx, obs)
	}
	if len(obs.Foreign) > 0 {
		r.Updater.ForeignChildren(fc, obs.Foreign)
	}
	want, buildErr := desired.Build(fc)
	if buildErr != nil {
		r.Updater.InvalidSpec(fc, buildErr)
	}
	if fc.Spec.Job == nil {
		return r.syncSession(ctx, obs, want, buildErr)
	}
	return r.syncJob(ctx, obs, want, buildErr)
}

func (r *Reconciler) syncSession(ctx context.Context, obs *observer.Observed, want *desired.Cluster, buildErr error) (Result, error) {
	if want != nil {
		if err := r.Updater.ApplyChildren(ctx, obs, want, updater.ApplyOptions{Want: desired.AllComponents}); err != nil {
			return Result{}, err
		}
	}
	// Status reflects what was observed before this sync's writes; their watch events bring
	// the next sync, which sees them.
	st := state.Derive(state.Input{Observed: obs, Want: want, BuildErr: buildErr, Now: r.Now(), Wanted: desired.AllComponents})
	if err := r.Updater.WriteStatus(ctx, obs.Cluster, st); err != nil {
		return Result{}, err
	}
	metrics.ObserveCluster(obs.Cluster.Namespace, obs.Cluster.Name, st)
	return Result{}, nil
}

// syncJob runs one step of the job's state machine. Its new status is written before its actions
// run, so whatever the operator is doing when it stops, the next sync resumes from status.
func (r *Reconciler) syncJob(ctx context.Context, obs *observer.Observed, want *desired.Cluster, buildErr error) (Result, error) {
	fc := obs.Cluster
	if needsFinalizer(fc) {
		// Added before anything runs, so a deletion always finds it.
		return Result{}, r.Updater.AddFinalizer(ctx, fc, FinalSavepointFinalizer)
	}
	jm := r.jobManagerURL(ctx, fc)
	in := r.fsmInput(ctx, obs, want, jm)
	decision := r.step(ctx, in, jm)
	job := decision.Status
	wanted := wantedComponents(*fc.Spec.Job, job)
	held := fsm.Active(job)
	// in.Revision is the spec's revision, hashed once per sync.
	changed := job.Revision != "" && job.Revision != in.Revision
	reason, message := pendingUpdate(fc, job, in.Revision, held && (changed || (want != nil && heldDrift(obs, want))), buildErr != nil)
	st := state.Derive(state.Input{Observed: obs, Want: want, BuildErr: buildErr, Now: in.Now,
		Job: &job, Wanted: wanted, HeldDrift: held, UpdateReason: reason, UpdateMessage: message,
		FlinkPolled: in.Flink.Polled, FlinkReachable: in.Flink.Reachable, JobManagerURL: jm})
	// The status goes first (write-ahead): a cleanup policy deletes children only after the
	// job's end, and whatever it recorded (a savepoint found in the checkpoint history), is in
	// status.
	return r.commit(ctx, obs, jm, decision, st, func() error {
		if want == nil {
			return nil
		}
		return r.Updater.ApplyChildren(ctx, obs, want, updater.ApplyOptions{Want: wanted, HoldDrift: held})
	})
}

// step completes the observation with the checkpoint history when the machine needs it, times
// the savepoint in flight on this process's clock, and takes one step.
func (r *Reconciler) step(ctx context.Context, in fsm.Input, jm string) fsm.Decision {
	key := in.Namespace + "/" + in.Name
	if fsm.NeedsCheckpoints(in) {
		in.Checkpoints = observer.ObserveCheckpoints(ctx, r.Flink, jm, in.Status.ID)
	}
	in.SavepointSeenAt = r.savepoints.seenAt(key, inFlightTrigger(in.Status), in.Now)
	d := fsm.Step(in)
	// A savepoint this step triggers is timed from now.
	r.savepoints.seenAt(key, inFlightTrigger(d.Status), in.Now)
	return d
}

func inFlightTrigger(st v1beta1.JobStatus) string {
	if !fsm.SavepointInFlight(st) {
		return ""
	}
	return st.Savepoint.TriggerID
}

// eventWorthy: every change of the job's state gets an event for `kubectl describe`, except
// self-transitions (a poll that changed only the status's details) and the start of a savepoint
// (its end gets one). Event recorders let one object emit only a burst of events before they drop
// them, and that noise once crowded out a deletion's final-savepoint event in the e2e tests.
func eventWorthy(t *fsm.Transition) bool {
	return t.From != t.To && !(t.From == fsm.Running && t.To == fsm.Savepointing)
}

// commit writes the status a step decided, then applies the children (when given) and runs the
// step's actions (write-ahead).
func (r *Reconciler) commit(ctx context.Context, obs *observer.Observed, jm string, decision fsm.Decision, st v1beta1.FlinkClusterStatus, applyChildren func() error) (Result, error) {
	fc, job := obs.Cluster, decision.Status
	if err := r.Updater.WriteStatus(ctx, fc, st); err != nil {
		return Result{}, err
	}
	observeMetrics(fc, st)
	if decision.Transition != nil {
		klog.FromContext(ctx).Info("Job transition", "transition", decision.Message, "jobID", job.ID)
		if eventWorthy(decision.Transition) {
			r.Updater.Transition(fc, decision.Message, job)
		}
	}
	var before v1beta1.JobStatus
	if fc.Status.Components.Job != nil {
		before = *fc.Status.Components.Job
	}
	for _, n := range fsm.Notices(before, job) {
		r.Updater.Notice(fc, n)
	}
	if applyChildren != nil {
		if err := applyChildren(); err != nil {
			return Result{}, err
		}
	}
	if err := r.Updater.Execute(ctx, obs, jm, decision.Actions); err != nil {
		return Result{}, err
	}
	return Result{RequeueAfter: decision.RequeueAfter}, nil
}

func (r *Reconciler) fsmInput(ctx context.Context, obs *observer.Observed, want *desired.Cluster, jm string) fsm.Input {
	fc := obs.Cluster
	var current v1beta1.JobStatus
	if fc.Status.Components.Job != nil {
		current = *fc.Status.Components.Job
	}
	flinkObs, savepointObs := observer.ObserveFlink(ctx, r.Flink, jm, &current)
	phase, reason := state.SubmitterPhase(obs.Submitter, current.ID)
	return fsm.Input{
		Now: r.Now(), Namespace: fc.Namespace, Name: fc.Name, ClusterUID: string(fc.UID), Spec: *fc.Spec.Job, Status: current,
		ClusterReady: state.ClusterReady(obs), Flink: flinkObs, Savepoint: savepointObs,
		Submitter: phase, SubmitterReason: reason, Settings: r.Settings,
		Revision:            desired.JobRevision(fc),
		ClusterUpToDate:     want != nil && state.ChildrenMatch(obs, want),
		SpecInvalid:         want == nil && fc.DeletionTimestamp == nil,
		Deleting:            fc.DeletionTimestamp != nil,
		SkipFinalSavepoint:  fc.Annotations[SkipFinalSavepointAnnotation] == "true",
		SavepointRetryToken: fc.Annotations[SavepointRetryAnnotation],
	}
}

func (r *Reconciler) jobManagerURL(ctx context.Context, fc *v1beta1.FlinkCluster) string {
	port := int32(8081)
	if p := fc.Spec.JobManager.Ports.UI; p != nil {
		port = *p
	}
	url, err := r.URLs.URL(fc.Name, fc.Namespace, port)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Cannot build the JobManager URL")
	}
	return url
}

// wantedComponents applies the cleanup policy the job's state calls for.
func wantedComponents(spec v1beta1.JobSpec, job v1beta1.JobStatus) desired.Components {
	switch fsm.Cleanup(spec, job) {
	case v1beta1.CleanupActionDeleteCluster:
		return desired.Components{}
	case v1beta1.CleanupActionDeleteTaskManager:
		return desired.Components{JobManager: true}
	}
	return desired.AllComponents
}

// heldDrift reports whether an existing child differs from the spec (changes held back while
// the job runs).
func heldDrift(obs *observer.Observed, want *desired.Cluster) bool {
	differs := func(live, desiredHash string) bool { return live != "" && live != desiredHash }
	hash := func(annotations map[string]string) string { return annotations[desired.SpecHashAnnotation] }
	return (obs.ConfigMap != nil && differs(hash(obs.ConfigMap.Annotations), hash(want.ConfigMap.Annotations))) ||
		(obs.JobManagerDeployment != nil && differs(hash(obs.JobManagerDeployment.Annotations), hash(want.JobManagerDeployment.Annotations))) ||
		(obs.TaskManagerDeployment != nil && differs(hash(obs.TaskManagerDeployment.Annotations), hash(want.TaskManagerDeployment.Annotations))) ||
		(obs.JobManagerService != nil && differs(hash(obs.JobManagerService.Annotations), hash(want.JobManagerService.Annotations)))
}

// The final-savepoint finalizer and the annotation that skips it.
const (
	FinalSavepointFinalizer      = "flinkoperator.k8s.io/final-savepoint"
	SkipFinalSavepointAnnotation = "flinkoperator.k8s.io/skip-final-savepoint"
	// SavepointRetryAnnotation: a new value asks again for a requested savepoint whose retries
	// were used up.
	SavepointRetryAnnotation = "flinkoperator.k8s.io/savepoint-retry"
)

// needsFinalizer: a job cluster with savepointsDir keeps its deletion until the final savepoint.
func needsFinalizer(fc *v1beta1.FlinkCluster) bool {
	job := fc.Spec.Job
	return job != nil && job.SavepointsDir != nil && *job.SavepointsDir != "" && !hasFinalizer(fc)
}

func hasFinalizer(fc *v1beta1.FlinkCluster) bool {
	for _, f := range fc.Finalizers {
		if f == FinalSavepointFinalizer {
			return true
		}
	}
	return false
}

// syncDeletion steps the job's state machine for a FlinkCluster being deleted (it takes the final
// savepoint of a running job) and releases the finalizer once that is done, has failed, was
// skipped, or its time ran out: a deletion never hangs.
func (r *Reconciler) syncDeletion(ctx context.Context, obs *observer.Observed) (Result, error) {
	fc := obs.Cluster
	if fc.Spec.Job == nil || !hasFinalizer(fc) {
		return Result{}, nil
	}
	jm := r.jobManagerURL(ctx, fc)
	decision := r.step(ctx, r.fsmInput(ctx, obs, nil, jm), jm)
	job := decision.Status
	st := *fc.Status.DeepCopy()
	st.Components.Job = &job
	if r.finalSavepointDone(fc, job, decision) {
		if job.Savepoint != nil && job.Savepoint.Reason == v1beta1.SavepointReasonDelete {
			r.Updater.FinalSavepointOutcome(fc, *job.Savepoint)
		}
		if err := r.Updater.ReleaseFinalizer(ctx, fc, st, FinalSavepointFinalizer); err != nil {
			return Result{}, err
		}
		countEndedSavepoint(fc, st)
		return Result{}, nil
	}
	res, err := r.commit(ctx, obs, jm, decision, st, nil)
	if deadline := r.deletionDeadline(fc).Sub(r.Now()); err == nil && (res.RequeueAfter == 0 || deadline < res.RequeueAfter) {
		res.RequeueAfter = maxDuration(deadline, time.Second)
	}
	return res, err
}

// finalSavepointDone: nothing (more) to wait for before the FlinkCluster may go.
func (r *Reconciler) finalSavepointDone(fc *v1beta1.FlinkCluster, job v1beta1.JobStatus, d fsm.Decision) bool {
	switch {
	case !r.Now().Before(r.deletionDeadline(fc)):
		return true
	case fc.Annotations[SkipFinalSavepointAnnotation] == "true" && job.State != fsm.Deleting:
		return true
	case job.State == fsm.Deleting:
		return !fsm.SavepointInFlight(job)
	case job.State == fsm.Running:
		// Waits while a final savepoint can still be taken (Flink not RUNNING yet, say).
		return d.Transition == nil && fc.Spec.Job.SavepointsDir == nil
	}
	// Savepointing, Cancelling, Updating finish their operation first; every other state has no
	// running job to save.
	return !fsm.Active(job)
}

// deletionDeadline bounds the wait for the final savepoint.
func (r *Reconciler) deletionDeadline(fc *v1beta1.FlinkCluster) time.Time {
	return fc.DeletionTimestamp.Add(r.Settings.SavepointTimeout + time.Minute)
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// pendingUpdate explains a spec change that has not rolled out to the running job; revision is
// the current spec's job revision.
func pendingUpdate(fc *v1beta1.FlinkCluster, job v1beta1.JobStatus, revision string, held, invalid bool) (reason, message string) {
	spec := fc.Spec.Job
	switch {
	case job.State == fsm.Updating || job.State == fsm.Deploying:
		return "Updating", "rolling out the new spec: stop with a savepoint, rebuild, resubmit from the savepoint"
	case !held:
		return "", ""
	case invalid:
		return "InvalidSpec", "the new spec cannot be built (condition Ready says why); the job keeps running on the spec it " +
			"was submitted with and nothing is stopped until the spec is fixed"
	case job.Revision == revision && fc.Generation == fc.Status.ObservedGeneration:
		// The children matched this very spec once, so only the builders can have changed.
		return "OperatorUpgrade", "this operator builds some children differently than the one that created them; " +
			"they are updated when the job next stops (restart, update or cancel), never under a running job"
	case job.Revision == revision:
		return "HeldUntilJobStops", "the spec changed only in fields that do not restart the job (such as " +
			"spec.job.savepointsDir, which new savepoints use at once), or this operator builds some children differently; " +
			"the children are updated when the job next stops (restart, update or cancel), never under a running job"
	case spec.SavepointsDir == nil && spec.SavepointOnUpdate():
		return "SavepointsDirRequired", "the spec changed while the job runs; the update needs a savepoint but " +
			"spec.job.savepointsDir is not set: set it, or set spec.job.takeSavepointOnUpdate to false to restart without state"
	}
	return "WaitingForJob", "the spec changed while the job runs; the update starts when the job is Running and no savepoint is in flight"
}

// observeMetrics updates the cluster's series after its status was written.
func observeMetrics(fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus) {
	metrics.ObserveCluster(fc.Namespace, fc.Name, st)
	countEndedSavepoint(fc, st)
}

// countEndedSavepoint counts a savepoint operation that ended between fc's status and st.
func countEndedSavepoint(fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus) {
	before, after := fc.Status.Components.Job, st.Components.Job
	if before == nil || after == nil || before.Savepoint == nil || after.Savepoint == nil {
		return
	}
	if before.Savepoint.State == v1beta1.SavepointStateInProgress && after.Savepoint.TriggerID == before.Savepoint.TriggerID &&
		after.Savepoint.State != v1beta1.SavepointStateInProgress {
		metrics.SavepointEnded(fc.Namespace, fc.Name, *after.Savepoint)
	}
}
