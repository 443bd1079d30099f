package controller

import (
	"context"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
)

// Reconciler is the sync of one FlinkCluster: observe → derive → build → apply. It only
// orchestrates; every decision is in state/desired and every write in updater.
type Reconciler struct {
	Observer *observer.Observer
	Updater  *updater.Updater
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
	} else if err := r.Updater.ApplyChildren(ctx, obs, want); err != nil {
		return Result{}, err
	}
	// Status reflects what was observed before this sync's writes; their watch events bring
	// the next sync, which sees them.
	st := state.Derive(obs, want, buildErr, r.Now())
	if err := r.Updater.WriteStatus(ctx, fc, st); err != nil {
		return Result{}, err
	}
	return Result{}, nil
}
