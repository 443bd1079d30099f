package controller

import (
	"context"
	"time"

	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// ClaimRetry is how soon a shard looks again at a cluster labelled for it that another live shard
// still owns: the owner's hand-over brings an event sooner, this catches an owner that dies.
const ClaimRetry = 10 * time.Second

// verdict is what a sync does after the shard gate.
type verdict struct {
	// act: go on with the sync; otherwise it ends here.
	act bool
	// forget: this process acts on the cluster no more; drop what it remembers of it.
	forget       bool
	requeueAfter time.Duration
}

// admit is the shard gate of a sync (docs/operations.md, Sharding): this process acts on the
// cluster only when shard.Decide says so; otherwise the gate carries out the decided step (a
// hand-over, a take-over, taking the children over) or leaves the cluster alone. Reads go through
// the observer and writes through the updater, like every sync's.
func (r *Reconciler) admit(ctx context.Context, namespace, name string, now time.Time) (verdict, error) {
	fc, err := r.Observer.CachedCluster(namespace, name)
	if err != nil {
		return verdict{}, err
	}
	if fc == nil {
		return r.admitUncached(ctx, namespace, name, now)
	}
	switch shard.Decide(r.Shard, fc.Labels, fc.Annotations) {
	case shard.Act:
		return verdict{act: true}, nil
	case shard.HandOver:
		return verdict{forget: true}, r.handOver(ctx, fc, now)
	case shard.Accept:
		return r.accept(ctx, fc)
	case shard.Claim:
		return r.claim(ctx, fc, now)
	}
	return verdict{}, nil
}

// admitUncached handles a cluster this process's cache does not hold: deleted, or labelled for
// another shard (a sharded cache selects by shard.Label). It may still be this shard's to hand
// over: the informer's deletion event or the start-up list of strays brought it here.
func (r *Reconciler) admitUncached(ctx context.Context, namespace, name string, now time.Time) (verdict, error) {
	if r.Shard == "" {
		return verdict{act: true}, nil // the unsharded cache holds every cluster: it is gone
	}
	fc, err := r.Observer.LiveCluster(ctx, namespace, name)
	if err != nil || fc == nil {
		return verdict{act: fc == nil && err == nil}, err // gone: the sync forgets it
	}
	if shard.Decide(r.Shard, fc.Labels, fc.Annotations) == shard.HandOver {
		return verdict{forget: true}, r.handOver(ctx, fc, now)
	}
	return verdict{forget: true}, nil
}

// handOver writes the shard fc is labelled for as its owner, and warns when no process runs it.
func (r *Reconciler) handOver(ctx context.Context, fc *v1beta1.FlinkCluster, now time.Time) error {
	to := fc.Labels[shard.Label]
	if err := r.Updater.HandOver(ctx, fc, r.Shard, to); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Handed the cluster over", "shard", shard.Name(r.Shard), "to", shard.Name(to))
	if !r.Observer.ReadsLeases() {
		return nil
	}
	if gone, leaseName, err := r.Observer.ShardGone(ctx, to, now); err == nil && gone {
		r.Updater.Unattended(fc, to, leaseName)
	}
	return nil // the hand-over is done; the warning is only worth a read
}

// claim takes fc over once no process runs its owner's shard (by the owner's Lease, on this
// process's clock); until then it waits for the owner's hand-over. A new cluster, created with
// the label, is taken with one write when no unsharded operator runs: none acted on it, since
// status says nobody did. (A running unsharded operator, its owner, hands it over at once
// itself; taking it from under one could overlap the first sync it began before the label came.)
func (r *Reconciler) claim(ctx context.Context, fc *v1beta1.FlinkCluster, now time.Time) (verdict, error) {
	owner := fc.Labels[shard.OwnerLabel]
	logger := klog.FromContext(ctx)
	if !r.Observer.ReadsLeases() {
		logger.V(2).Info("Waiting for the owner to hand the cluster over", "owner", shard.Name(owner))
		return verdict{requeueAfter: ClaimRetry}, nil
	}
	gone, leaseName, err := r.Observer.ShardGone(ctx, owner, now)
	if err != nil {
		return verdict{}, err
	}
	if !gone {
		logger.V(2).Info("Waiting for the owner to hand the cluster over", "owner", shard.Name(owner), "lease", leaseName)
		return verdict{requeueAfter: ClaimRetry}, nil
	}
	if owner == "" && !shard.HasChildren(fc) {
		leaseName = "" // a new cluster: nobody to take it from
	}
	if err := r.Updater.TakeOver(ctx, fc, r.Shard, owner, leaseName); err != nil {
		return verdict{}, err
	}
	logger.Info("Took the cluster over", "from", shard.Name(owner), "lease", leaseName)
	return verdict{}, nil // the owner label's update event brings the next step
}

// accept takes the children over and, once this process's caches hold them all, ends the
// hand-over; the next sync acts.
func (r *Reconciler) accept(ctx context.Context, fc *v1beta1.FlinkCluster) (verdict, error) {
	var pending []string
	if shard.HasChildren(fc) {
		children, err := r.Observer.ClusterChildren(ctx, fc)
		if err != nil {
			return verdict{}, err
		}
		for _, c := range children {
			if err := r.Updater.LabelChild(ctx, c, r.Shard); err != nil {
				return verdict{}, err
			}
			if !r.Observer.ChildCached(c, r.Shard) {
				pending = append(pending, c.String())
			}
		}
	}
	if len(pending) > 0 {
		// Their informer events bring the next sync; the requeue covers a lost race with them.
		klog.FromContext(ctx).V(2).Info("Waiting for the cache to hold the children taken over", "children", pending)
		return verdict{requeueAfter: time.Second}, nil
	}
	if err := r.Updater.EndHandover(ctx, fc, r.Shard); err != nil {
		return verdict{}, err
	}
	klog.FromContext(ctx).Info("Accepted the cluster", "shard", shard.Name(r.Shard), "from", fc.Annotations[shard.HandoverAnnotation])
	return verdict{}, nil
}
