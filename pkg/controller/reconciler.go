package controller

import (
	"context"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
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
	if fc == nil || fc.DeletionTimestamp != nil {
		// The garbage collector removes the children through their ownerReferences.
		return Result{}, nil
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
	return Result{}, r.Updater.WriteStatus(ctx, obs.Cluster, st)
}

// syncJob runs one step of the job's state machine. Its new status is written before its actions
// run, so whatever the operator is doing when it stops, the next sync resumes from status.
func (r *Reconciler) syncJob(ctx context.Context, obs *observer.Observed, want *desired.Cluster, buildErr error) (Result, error) {
	fc := obs.Cluster
	jm := r.jobManagerURL(ctx, fc)
	decision := fsm.Step(r.fsmInput(ctx, obs, jm))
	job := decision.Status
	wanted := wantedComponents(*fc.Spec.Job, job)
	held := fsm.Active(job)
	if want != nil {
		if err := r.Updater.ApplyChildren(ctx, obs, want, updater.ApplyOptions{Want: wanted, HoldDrift: held}); err != nil {
			return Result{}, err
		}
	}
	st := state.Derive(state.Input{Observed: obs, Want: want, BuildErr: buildErr, Now: r.Now(),
		Job: &job, Wanted: wanted, HeldDrift: held && want != nil && heldDrift(obs, want)})
	if err := r.Updater.WriteStatus(ctx, fc, st); err != nil {
		return Result{}, err
	}
	if decision.Transition != nil {
		klog.FromContext(ctx).Info("Job transition", "transition", decision.Message, "jobID", job.ID)
		r.Updater.Transition(fc, decision.Message, job)
	}
	if err := r.Updater.Execute(ctx, obs, jm, decision.Actions); err != nil {
		return Result{}, err
	}
	return Result{RequeueAfter: decision.RequeueAfter}, nil
}

func (r *Reconciler) fsmInput(ctx context.Context, obs *observer.Observed, jm string) fsm.Input {
	fc := obs.Cluster
	var current v1beta1.JobStatus
	if fc.Status.Components.Job != nil {
		current = *fc.Status.Components.Job
	}
	flinkObs, savepointObs := observer.ObserveFlink(ctx, r.Flink, jm, &current)
	phase, reason := state.SubmitterPhase(obs.Submitter, current.ID)
	return fsm.Input{
		Now: r.Now(), ClusterUID: string(fc.UID), Spec: *fc.Spec.Job, Status: current,
		ClusterReady: state.ClusterReady(obs), Flink: flinkObs, Savepoint: savepointObs,
		Submitter: phase, SubmitterReason: reason, Settings: r.Settings,
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
