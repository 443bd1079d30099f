// Package controller is the operator's plumbing: informer events become FlinkCluster keys on a
// typed rate-limited workqueue, and workers hand each key to a Syncer. The sync itself lives in
// the observer, state, fsm, desired and updater packages; this package only orchestrates.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
)

// Result tells the controller when to look at a key again without an event.
type Result struct {
	// RequeueAfter, when positive, syncs the key again after this delay (Flink polls, savepoint
	// schedules, timeouts).
	RequeueAfter time.Duration
}

// Syncer brings one FlinkCluster, named by its namespace/name key, towards its spec.
type Syncer interface {
	Sync(ctx context.Context, key string) (Result, error)
}

// SyncerFunc adapts a function to Syncer.
type SyncerFunc func(ctx context.Context, key string) (Result, error)

// Sync calls f.
func (f SyncerFunc) Sync(ctx context.Context, key string) (Result, error) { return f(ctx, key) }

// QueueName names the workqueue (and its metrics).
const QueueName = "flinkcluster"

// Controller feeds FlinkCluster keys from informer events to a Syncer.
type Controller struct {
	queue  workqueue.TypedRateLimitingInterface[string]
	syncer Syncer
	health *Heartbeat
	// syncTimeout bounds one sync, Kubernetes API calls included (client-go's calls have no
	// timeout of their own, and a per-request HTTP timeout would also cut the informers' watches).
	syncTimeout time.Duration
}

// SyncTimeout bounds one sync: well under the liveness probe's one minute without worker progress,
// and above a sync's slowest legitimate I/O (four Flink REST calls of at most 5 s each by default,
// then a few API writes). A sync cut short resumes from status on its retry.
const SyncTimeout = 30 * time.Second

// New registers event handlers on the informers and returns a controller ready to Run.
func New(informers *Informers, syncer Syncer, heartbeat *Heartbeat) (*Controller, error) {
	c := &Controller{
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: QueueName}),
		syncer:      syncer,
		health:      heartbeat,
		syncTimeout: SyncTimeout,
	}
	if _, err := informers.FlinkClusters.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.onFlinkClusterUpdate,
		DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, fmt.Errorf("registering FlinkCluster handler: %w", err)
	}
	for _, inf := range informers.children() {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueOwner,
			UpdateFunc: func(_, obj interface{}) { c.enqueueOwner(obj) },
			DeleteFunc: c.enqueueOwner,
		}); err != nil {
			return nil, fmt.Errorf("registering child handler: %w", err)
		}
	}
	for _, inf := range informers.quietChildren() {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: c.enqueueOwner,
			UpdateFunc: func(old, cur interface{}) {
				o, oldOK := old.(metav1.Object)
				n, curOK := cur.(metav1.Object)
				if !oldOK || !curOK || SpecOrMetadataChanged(o, n) {
					c.enqueueOwner(cur)
				}
			},
			DeleteFunc: c.enqueueOwner,
		}); err != nil {
			return nil, fmt.Errorf("registering child handler: %w", err)
		}
	}
	return c, nil
}

// Run starts workers and blocks until ctx is done; then it stops taking new keys and waits for
// in-flight syncs to finish, so a SIGTERM never cuts a sync in half.
func (c *Controller) Run(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNextItem(ctx) {
			}
		}()
	}
	logger.Info("Controller started", "workers", workers)
	<-ctx.Done()
	logger.Info("Shutting down: waiting for in-flight syncs")
	c.queue.ShutDownWithDrain()
	wg.Wait()
	logger.Info("Controller stopped")
}

// Enqueue adds a FlinkCluster key, as an informer event would.
func (c *Controller) Enqueue(key string) { c.queue.Add(key) }

// Len is the number of keys waiting; tests and health checks read it.
func (c *Controller) Len() int { return c.queue.Len() }

func (c *Controller) processNextItem(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	c.health.Beat()
	// Syncs run on a context that outlives SIGTERM so they finish cleanly; syncTimeout bounds
	// them, so this cannot hang shutdown or wedge a worker.
	syncCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.syncTimeout)
	defer cancel()
	syncCtx = klog.NewContext(syncCtx, klog.FromContext(ctx).WithValues("flinkcluster", key))
	start := time.Now()
	result, err := c.syncer.Sync(syncCtx, key)
	metrics.SyncDone(time.Since(start), err)
	c.health.Beat()
	if err != nil {
		logger := klog.FromContext(syncCtx)
		if onlyConflicts(err) {
			// A write based on a cache that had not caught up yet: normal, and retried at once.
			logger.V(2).Info("Sync saw a stale copy; retrying", "err", err)
		} else {
			logger.Error(err, "Sync failed; retrying with backoff", "retries", c.queue.NumRequeues(key))
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	if result.RequeueAfter > 0 {
		c.queue.AddAfter(key, result.RequeueAfter)
	}
	return true
}

func (c *Controller) enqueue(obj interface{}) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// onFlinkClusterUpdate ignores updates that changed only status: the operator's own status writes
// must never be the reason for another sync (that is how hot loops start).
func (c *Controller) onFlinkClusterUpdate(oldObj, newObj interface{}) {
	oldFC, ok1 := oldObj.(*v1beta1.FlinkCluster)
	newFC, ok2 := newObj.(*v1beta1.FlinkCluster)
	if ok1 && ok2 && !specOrMetaChanged(oldFC, newFC) {
		return
	}
	c.enqueue(newObj)
}

func specOrMetaChanged(oldFC, newFC *v1beta1.FlinkCluster) bool {
	return oldFC.Generation != newFC.Generation ||
		!equalStringMaps(oldFC.Annotations, newFC.Annotations) ||
		!equalStringMaps(oldFC.Labels, newFC.Labels) ||
		!oldFC.DeletionTimestamp.Equal(newFC.DeletionTimestamp) ||
		len(oldFC.Finalizers) != len(newFC.Finalizers)
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// enqueueOwner enqueues the FlinkCluster that controls a child object.
func (c *Controller) enqueueOwner(obj interface{}) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	child, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	owner := metav1.GetControllerOf(child)
	if owner == nil || owner.Kind != "FlinkCluster" || owner.APIVersion != v1beta1.SchemeGroupVersion.String() {
		return
	}
	c.queue.Add(child.GetNamespace() + "/" + owner.Name)
}

// onlyConflicts reports whether every failure in err is a conflict (a write based on a cache that
// had not caught up). A sync's writes fail together in one joined error; apierrors.IsConflict
// would answer for the first API error in it and hide a real failure beside a conflict.
func onlyConflicts(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, inner := range errs {
			if !onlyConflicts(inner) {
				return false
			}
		}
		return len(errs) > 0
	case apierrors.APIStatus:
		return apierrors.IsConflict(err)
	}
	return onlyConflicts(errors.Unwrap(err))
}
