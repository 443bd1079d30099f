// Package shard splits FlinkClusters between operator processes (--shard) so that two processes
// never act on one cluster, and moves a cluster from one to another without a gap or an overlap.
//
// Where a cluster should be is the user's label Label; which process acts on it is the label
// OwnerLabel, which only the operator writes. A process acts on a cluster only when both name
// it. The owner changes in one of two ways, each a write with the resourceVersion the writer saw,
// so that two writers conflict instead of both winning:
//
//   - hand-over: the owner sees the cluster labelled for another shard and writes that shard as the
//     owner. It acts no more on the cluster from then on: its syncs of one key never overlap,
//     so none of its writes can follow the hand-over.
//   - take-over: the shard the cluster is labelled for writes itself as owner when the owner's
//     leader-election Lease has expired: that process has stopped acting, as a leader does once
//     it cannot renew its Lease.
//
// Both leave HandoverAnnotation on the cluster. The new owner then labels the cluster's children
// for itself, waits until its own caches hold them, and only then removes the annotation and
// acts: a sync that ran on caches without the children would create them again.
//
// The process without --shard is the shard "": it owns clusters without the label and with no
// owner label, so a single operator writes nothing for sharding and upgrading to this version
// changes no object.
package shard

// Labels and annotations of sharding.
const (
	// Label on a FlinkCluster names the shard that should act on it; absent: the operator
	// without --shard. Sharded operators select FlinkClusters and children by it.
	Label = "flinkoperator.k8s.io/shard"
	// OwnerLabel names the shard that acts on a FlinkCluster; absent: the operator without
	// --shard. Only the operator writes it. A label (not an annotation) so that a starting
	// shard can list the clusters it still has to hand over.
	OwnerLabel = "flinkoperator.k8s.io/shard-owner"
	// HandoverAnnotation is on a FlinkCluster while its new owner takes its children over; its
	// value names the previous owner.
	HandoverAnnotation = "flinkoperator.k8s.io/shard-handover"
	// Unsharded is how the shard "" is written in HandoverAnnotation and in events.
	Unsharded = "(unsharded)"
)

// Step is what a shard does with one FlinkCluster in a sync.
type Step int

const (
	// Ignore: the cluster is another shard's and stays so, as far as this shard is concerned.
	Ignore Step = iota
	// Act: this shard owns the cluster and has its children; the sync goes on.
	Act
	// HandOver: this shard owns the cluster, which is labelled for another: write that shard as
	// owner.
	HandOver
	// Accept: this shard became the owner; take the children over before acting.
	Accept
	// Claim: the cluster is labelled for this shard and another owns it. That owner hands it
	// over; if its Lease expired, this shard takes it over.
	Claim
)

func (s Step) String() string {
	return [...]string{"Ignore", "Act", "HandOver", "Accept", "Claim"}[s]
}

// Decide is the step of shard self for a FlinkCluster with these labels and annotations.
func Decide(self string, labels, annotations map[string]string) Step {
	want, owner := labels[Label], labels[OwnerLabel]
	_, handingOver := annotations[HandoverAnnotation]
	switch {
	case owner == self && want != self:
		return HandOver
	case owner == self && handingOver:
		return Accept
	case owner == self:
		return Act
	case want == self:
		return Claim
	default:
		return Ignore
	}
}

// Name is how shard s is written in events and in HandoverAnnotation.
func Name(s string) string {
	if s == "" {
		return Unsharded
	}
	return s
}

// LeaseName is the leader-election Lease of shard s, given the Lease name of the operator
// without --shard: each shard elects its own leader.
func LeaseName(base, s string) string {
	if s == "" {
		return base
	}
	return base + "-" + s
}
