package main

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/controller"
)

// newSyncer returns the sync run for each key. Until the reconcile pipeline lands (issue 4) it
// only reads the FlinkCluster from the cache and logs what it saw.
func newSyncer(listers controller.Listers) controller.Syncer {
	return controller.SyncerFunc(func(ctx context.Context, key string) (controller.Result, error) {
		ns, name, err := cache.SplitMetaNamespaceKey(key)
		if err != nil {
			return controller.Result{}, nil
		}
		fc, err := listers.FlinkClusters.FlinkClusters(ns).Get(name)
		if apierrors.IsNotFound(err) {
			klog.FromContext(ctx).V(2).Info("FlinkCluster gone")
			return controller.Result{}, nil
		}
		if err != nil {
			return controller.Result{}, err
		}
		klog.FromContext(ctx).V(2).Info("Observed FlinkCluster", "generation", fc.Generation)
		return controller.Result{}, nil
	})
}
