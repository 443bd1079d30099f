package observer

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1client "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// ShardSources are what the shard gate reads beyond the caches (docs/operations.md, Sharding).
type ShardSources struct {
	// Flink reads a FlinkCluster that left this shard's cache.
	Flink clients.Flink
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

// ShardGone reports whether no process acts as shard s any more, by its leader-election Lease
// (shard.Gone, on this process's clock): the Lease is missing, unheld, or unchanged for a whole
// lease duration since this process first saw it. It also returns the Lease's name.
func (o *Observer) ShardGone(ctx context.Context, s string, now time.Time) (bool, string, error) {
	name := shard.LeaseName(o.shards.LeaseBase, s)
	lease, err := o.shards.Leases.Leases(o.shards.LeaseNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		o.sightings.forget(name)
		return true, name, nil
	}
	if err != nil {
		return false, name, fmt.Errorf("reading Lease %s/%s of shard %s: %w", o.shards.LeaseNamespace, name, shard.Name(s), err)
	}
	gone, seen := shard.Gone(lease, o.sightings.get(name), now)
	o.sightings.set(name, seen)
	return gone, name, nil
}

// leaseSightings remembers when this process first saw each Lease in its current version.
type leaseSightings struct {
	mu   sync.Mutex
	seen map[string]shard.Sighting
}

func (l *leaseSightings) get(name string) shard.Sighting {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[name]
}

func (l *leaseSightings) set(name string, s shard.Sighting) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]shard.Sighting{}
	}
	l.seen[name] = s
}

func (l *leaseSightings) forget(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, name)
}

// ClusterChildren reads fc's children from the API server by the names the operator gives them
// (shard.ChildNames): a sharded cache cannot see a child still labelled for another shard.
// Objects under those names that fc does not control are left out.
func (o *Observer) ClusterChildren(ctx context.Context, fc *v1beta1.FlinkCluster) ([]shard.Child, error) {
	childNames := shard.ChildNames(fc.Name)
	var out []shard.Child
	for gvr := range o.shards.Caches {
		client := o.shards.Children.Resource(gvr).Namespace(fc.Namespace)
		for _, name := range childNames[gvr.Resource] {
			obj, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s %s: %w", gvr.Resource, name, err)
			}
			// Without the managed-by label the caches never hold it: the sync reports it (a
			// name conflict) instead of the hand-over waiting for it for ever.
			if metav1.IsControlledBy(obj, fc) && names.ManagedSelector().Matches(labels.Set(obj.GetLabels())) {
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
