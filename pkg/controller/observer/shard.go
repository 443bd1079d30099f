package observer

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
)

// ShardSources are what the shard gate reads beyond the caches (docs/operations.md, Sharding).
type ShardSources struct {
	// Flink reads a FlinkCluster that left this shard's cache.
	Flink versioned.Interface
	// Leases holds the shards' leader-election Leases, in LeaseNamespace, named by
	// shard.LeaseName(LeaseBase, shard); nil when this process reads none (no leader election).
	Leases         coordinationv1client.LeasesGetter
	LeaseNamespace string
	LeaseBase      string
	// Children reads a cluster's children that another shard labelled; Caches are this
	// process's child caches, by resource.
	Children dynamic.Interface
	Caches   map[schema.GroupVersionResource]cache.Indexer
}

// WithShards lets the observer read for the shard gate.
func (o *Observer) WithShards(s ShardSources) *Observer {
	o.shards = &s
	return o
}

// CachedCluster is the FlinkCluster in this process's cache; nil when the cache does not hold it.
func (o *Observer) CachedCluster(namespace, name string) (*v1beta1.FlinkCluster, error) {
	fc, err := o.listers.FlinkClusters.FlinkClusters(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return fc, err
}

// LiveCluster reads a FlinkCluster from the API server; nil when it does not exist.
func (o *Observer) LiveCluster(ctx context.Context, namespace, name string) (*v1beta1.FlinkCluster, error) {
	fc, err := o.shards.Flink.FlinkoperatorV1beta1().FlinkClusters(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading FlinkCluster that left this shard's cache: %w", err)
	}
	return fc, nil
}

// ReadsLeases reports whether this process can tell whether another shard is alive.
func (o *Observer) ReadsLeases() bool { return o.shards != nil && o.shards.Leases != nil }

// ShardLease is the leader-election Lease of shard s and its name; nil when it does not exist.
func (o *Observer) ShardLease(ctx context.Context, s string) (*coordinationv1.Lease, string, error) {
	name := shard.LeaseName(o.shards.LeaseBase, s)
	lease, err := o.shards.Leases.Leases(o.shards.LeaseNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, name, nil
	}
	if err != nil {
		return nil, name, fmt.Errorf("reading Lease %s/%s of shard %s: %w", o.shards.LeaseNamespace, name, shard.Name(s), err)
	}
	return lease, name, nil
}

// ClusterChildren reads fc's children from the API server by the names the operator gives them
// (shard.ChildNames): a sharded cache cannot see a child still labelled for another shard.
// Objects under those names that fc does not control are left out.
func (o *Observer) ClusterChildren(ctx context.Context, fc *v1beta1.FlinkCluster) ([]shard.Child, error) {
	names := shard.ChildNames(fc.Name)
	var out []shard.Child
	for gvr := range o.shards.Caches {
		client := o.shards.Children.Resource(gvr).Namespace(fc.Namespace)
		for _, name := range names[gvr.Resource] {
			obj, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s %s: %w", gvr.Resource, name, err)
			}
			if metav1.IsControlledBy(obj, fc) {
				out = append(out, shard.Child{Resource: gvr, Object: obj})
			}
		}
	}
	return out, nil
}

// ChildCached reports whether this process's cache holds c (the same object, by UID) labelled
// for shard s.
func (o *Observer) ChildCached(c shard.Child, s string) bool {
	indexer := o.shards.Caches[c.Resource]
	if indexer == nil {
		return false
	}
	item, ok, err := indexer.GetByKey(c.Object.GetNamespace() + "/" + c.Object.GetName())
	if err != nil || !ok {
		return false
	}
	cached, err := meta.Accessor(item)
	return err == nil && cached.GetUID() == c.Object.GetUID() && shard.Labelled(cached.GetLabels(), s)
}
