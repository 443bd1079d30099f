package controller

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/decide"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
)

// The final-savepoint finalizer and the annotations that steer a job cluster (see decide).
const (
	FinalSavepointFinalizer      = decide.FinalSavepointFinalizer
	HACleanupFinalizer           = decide.HACleanupFinalizer
	SkipFinalSavepointAnnotation = decide.SkipFinalSavepointAnnotation
	SavepointRetryAnnotation     = decide.SavepointRetryAnnotation
)

// Reconciler is the sync of one FlinkCluster: observe → decide → apply. It only orchestrates:
// every read is in observer, every decision in decide, every write in updater.
type Reconciler struct {
	// Shard is this process's shard (--shard; "": the operator without it). Only the clusters
	// it owns are synced (admit).
	Shard    string
	Observer *observer.Observer
	Updater  *updater.Updater
	Settings fsm.Settings
	Now      func() time.Time
}

// Sync implements Syncer.
func (r *Reconciler) Sync(ctx context.Context, key string) (Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Dropping malformed key")
		return Result{}, nil
	}
	now := r.Now()
	v, err := r.admit(ctx, ns, name, now)
	if v.forget {
		r.Observer.Forget(ns, name, now)
		metrics.ForgetCluster(ns, name)
	}
	if err != nil || !v.act {
		return Result{RequeueAfter: v.requeueAfter}, err
	}
	snap, err := r.Observer.Observe(ctx, ns, name, now, func(s *snapshot.Snapshot) snapshot.Reads {
		return decide.Reads(s, r.Settings, now)
	})
	if err != nil {
		return Result{}, err
	}
	plan := decide.Decide(snap, r.Settings, now)
	if plan.Gone {
		metrics.ForgetCluster(ns, name)
		return Result{}, nil
	}
	return r.apply(ctx, snap, plan, now)
}

// apply carries out a plan, in the order decide.Plan documents.
func (r *Reconciler) apply(ctx context.Context, snap *snapshot.Snapshot, plan decide.Plan, now time.Time) (Result, error) {
	fc := snap.Cluster
	ctx = r.Observer.RESTContext(ctx, snap)
	if len(plan.Foreign) > 0 {
		r.Updater.ForeignChildren(fc, plan.Foreign)
	}
	if plan.ForeignEndpoints != "" {
		r.Updater.ForeignEndpoints(fc, plan.ForeignEndpoints)
	}
	if plan.BuildErr != nil {
		r.Updater.InvalidSpec(fc, plan.BuildErr)
	}
	if len(plan.AddFinalizers) > 0 {
		return Result{}, r.Updater.AddFinalizers(ctx, fc, plan.AddFinalizers...)
	}
	if plan.HACleanup != nil {
		if err := r.Updater.CleanUpHA(ctx, fc, snap.JobManager(), *plan.HACleanup); err != nil {
			return Result{}, err
		}
	}
	switch {
	case plan.ReleaseFinalizer != "":
		if plan.FinalSavepoint != nil {
			r.Updater.FinalSavepointOutcome(fc, *plan.FinalSavepoint)
		}
		if err := r.Updater.ReleaseFinalizer(ctx, fc, plan.Status, plan.ReleaseFinalizer); err != nil {
			return Result{}, err
		}
		if plan.Status != nil {
			countEndedSavepoint(fc, *plan.Status)
		}
		return Result{}, nil
	case plan.Status == nil:
		return Result{RequeueAfter: plan.RequeueAfter}, nil
	}
	if !plan.StatusFirst {
		if err := r.applyChildren(ctx, snap, plan.Children); err != nil {
			return Result{}, err
		}
	}
	if err := r.Updater.WriteStatus(ctx, fc, *plan.Status); err != nil {
		return Result{}, err
	}
	metrics.ObserveCluster(fc.Namespace, fc.Name, *plan.Status)
	countEndedSavepoint(fc, *plan.Status)
	countEndedDisposals(fc, *plan.Status)
	if plan.Job == nil {
		return Result{}, nil
	}
	r.reportStep(ctx, fc, plan)
	r.Observer.SavepointStarted(fc, plan.Job.Status, now)
	if err := r.applyChildren(ctx, snap, plan.Children); err != nil {
		return Result{}, err
	}
	if err := r.Updater.Execute(ctx, acting(snap, plan), snap.JobManagerURL, plan.Job.Actions); err != nil {
		return Result{}, err
	}
	if location := plan.DisposeSavepoint; location != "" {
		trigger, err := r.Updater.DisposeSavepoint(ctx, fc, snap.JobManagerURL, location)
		if err != nil {
			return Result{}, err
		}
		r.Observer.DisposalStarted(fc, location, trigger)
	}
	return Result{RequeueAfter: plan.RequeueAfter}, nil
}

func (r *Reconciler) applyChildren(ctx context.Context, snap *snapshot.Snapshot, c *decide.Children) error {
	if c == nil {
		return nil
	}
	return r.Updater.ApplyChildren(ctx, snap, c.Want, updater.ApplyOptions{Want: c.Components, HoldDrift: c.HoldDrift, RepairService: c.RepairService})
}

// reportStep logs the job's transition and records its events.
func (r *Reconciler) reportStep(ctx context.Context, fc *v1beta1.FlinkCluster, plan decide.Plan) {
	d := plan.Job
	if d.Transition != nil {
		klog.FromContext(ctx).Info("Job transition", "transition", d.Message, "jobID", d.Status.ID)
	}
	if plan.TransitionEvent {
		r.Updater.Transition(fc, d.Message, d.Status)
	}
	for _, n := range plan.Notices {
		r.Updater.Notice(fc, n)
	}
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

// countEndedDisposals counts the savepoint disposals that ended between fc's status and st.
func countEndedDisposals(fc *v1beta1.FlinkCluster, st v1beta1.FlinkClusterStatus) {
	before, after := fc.Status.Components.Job, st.Components.Job
	if before == nil || after == nil {
		return
	}
	inFlight := observer.DisposalInFlight(*before)
	if inFlight == "" {
		return
	}
	for _, e := range after.SavepointHistory {
		if e.Location == inFlight && e.Disposal != nil && e.Disposal.State != v1beta1.DisposalStateInProgress {
			metrics.DisposalEnded(fc.Namespace, fc.Name, e.Disposal.State)
		}
	}
}

// Config is what a Reconciler is built from.
type Config struct {
	Listers observer.Listers
	Kube    clients.Kube
	Flink   clients.Flink
	// FlinkReader reads the JobManagers' REST APIs; FlinkWriter acts on them.
	FlinkReader observer.FlinkReader
	FlinkWriter updater.FlinkWriter
	URLs        *names.JobManagerURLs
	Recorder    record.EventRecorder
	Settings    fsm.Settings
	Now         func() time.Time
	// Namespace is the operator's own namespace ("" outside the cluster).
	Namespace string
	// JarFetcherImage is the operator's own image, run to fetch http(s) jarFiles.
	JarFetcherImage string
	// DashboardURLs builds the Flink dashboard URL status reports (nil: none).
	DashboardURLs *names.JobManagerURLs
	// Shard is this process's shard ("": the operator without --shard); Shards is what it reads
	// to hand clusters over and take them over (its Flink and Caches are set here).
	Shard  string
	Shards observer.ShardSources
	// Dynamic relabels the children of a cluster this shard takes over.
	Dynamic     dynamic.Interface
	ChildCaches map[schema.GroupVersionResource]cache.Indexer
}

// NewReconciler wires the pipeline of one operator process.
func NewReconciler(c Config) *Reconciler {
	obs := observer.New(c.Listers, c.FlinkReader, c.URLs, c.Namespace).WithAccessReviews(c.Kube.AuthorizationV1()).
		WithHAConfigMaps(c.Kube.CoreV1()).WithJarFetcherImage(c.JarFetcherImage).WithPods(c.Kube.CoreV1()).
		WithDashboardURLs(c.DashboardURLs).WithRESTTLS(c.Kube.CoreV1())
	shards := c.Shards
	shards.Flink, shards.Children, shards.Caches = c.Flink, c.Dynamic, c.ChildCaches
	obs.WithShards(shards)
	upd := updater.New(c.Kube, c.Flink, c.FlinkWriter, c.Recorder).WithChildClient(c.Dynamic)
	upd.SubmitterCreated = func(fc *v1beta1.FlinkCluster, jobID string) { obs.SubmitterCreated(fc, jobID, c.Now()) }
	return &Reconciler{Shard: c.Shard, Observer: obs, Updater: upd, Settings: c.Settings, Now: c.Now}
}

// acting is the snapshot with the FlinkCluster the plan's job actions act on.
func acting(snap *snapshot.Snapshot, plan decide.Plan) *snapshot.Snapshot {
	if plan.Acting == nil {
		return snap
	}
	out := *snap
	out.Cluster = plan.Acting
	return &out
}
