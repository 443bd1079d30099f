package updater

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// Event reasons of sharding.
const (
	ReasonShardHandedOver = "ShardHandedOver"
	ReasonShardTakenOver  = "ShardTakenOver"
	ReasonShardAccepted   = "ShardAccepted"
	// ReasonShardUnattended: the cluster was handed over to a shard no live process runs.
	ReasonShardUnattended = "ShardUnattended"
)

// WithChildClient lets the updater relabel the children a shard takes over.
func (u *Updater) WithChildClient(children dynamic.Interface) *Updater {
	u.children = children
	return u
}

// HandOver writes shard to as fc's owner; self, the shard writing, acts on fc no more.
func (u *Updater) HandOver(ctx context.Context, fc *v1beta1.FlinkCluster, self, to string) error {
	if err := u.setShardOwner(ctx, fc, self, to); err != nil {
		return fmt.Errorf("handing over to shard %s: %w", shard.Name(to), err)
	}
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonShardHandedOver, "Shard %s handed the cluster over to shard %s", shard.Name(self), shard.Name(to))
	return nil
}

// Unattended warns that fc went to a shard whose Lease nobody holds: nothing acts on it until a
// process runs that shard or the label changes.
func (u *Updater) Unattended(fc *v1beta1.FlinkCluster, to, lease string) {
	u.recorder.Eventf(fc, corev1.EventTypeWarning, ReasonShardUnattended,
		"No operator process holds Lease %s of shard %s: nothing acts on this cluster until one runs with --shard=%s or label %s changes",
		lease, shard.Name(to), to, shard.Label)
}

// TakeOver writes self as fc's owner in place of owner, whose process is gone (lease names its
// Lease), or which never acted on fc (lease "").
func (u *Updater) TakeOver(ctx context.Context, fc *v1beta1.FlinkCluster, self, owner, lease string) error {
	if err := u.setShardOwner(ctx, fc, owner, self); err != nil {
		return fmt.Errorf("taking over from shard %s: %w", shard.Name(owner), err)
	}
	if lease == "" {
		u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonShardTakenOver, "Shard %s acts on the cluster", shard.Name(self))
		return nil
	}
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonShardTakenOver, "Shard %s took the cluster over from shard %s: no process holds its Lease %s",
		shard.Name(self), shard.Name(owner), lease)
	return nil
}

// LabelChild labels a child of a cluster this shard takes over for shard s; nothing when it is.
func (u *Updater) LabelChild(ctx context.Context, c shard.Child, s string) error {
	if shard.Labelled(c.Object.GetLabels(), s) {
		return nil
	}
	obj := c.Object.DeepCopy()
	obj.SetLabels(shard.WithLabel(obj.GetLabels(), s))
	metrics.APIWrite(obj.GetKind(), "update")
	if _, err := u.children.Resource(c.Resource).Namespace(obj.GetNamespace()).Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("labelling %s for shard %s: %w", c, shard.Name(s), err)
	}
	return nil
}

// EndHandover removes shard.HandoverAnnotation once shard self holds fc's children.
func (u *Updater) EndHandover(ctx context.Context, fc *v1beta1.FlinkCluster, self string) error {
	if err := u.patchShardMeta(ctx, fc, nil, map[string]interface{}{shard.HandoverAnnotation: nil}); err != nil {
		return fmt.Errorf("ending the hand-over: %w", err)
	}
	u.recorder.Eventf(fc, corev1.EventTypeNormal, ReasonShardAccepted, "Shard %s took over the cluster and its children from shard %s",
		shard.Name(self), fc.Annotations[shard.HandoverAnnotation])
	return nil
}

// setShardOwner writes owner to (absent for the shard "") and, when a previous owner may have
// left children (shard.HasChildren), opens the hand-over, naming from; without children the new
// owner acts at once.
func (u *Updater) setShardOwner(ctx context.Context, fc *v1beta1.FlinkCluster, from, to string) error {
	var owner interface{} = to
	if to == "" {
		owner = nil
	}
	var annotations map[string]interface{}
	if shard.HasChildren(fc) {
		annotations = map[string]interface{}{shard.HandoverAnnotation: shard.Name(from)}
	}
	return u.patchShardMeta(ctx, fc, map[string]interface{}{shard.OwnerLabel: owner}, annotations)
}

// patchShardMeta sets fc's labels and annotations given (patchMeta), against the resourceVersion
// the shard decided on: another shard's write or a new label makes it conflict.
func (u *Updater) patchShardMeta(ctx context.Context, fc *v1beta1.FlinkCluster, labels, annotations map[string]interface{}) error {
	fields := map[string]interface{}{}
	if labels != nil {
		fields["labels"] = labels
	}
	if annotations != nil {
		fields["annotations"] = annotations
	}
	return u.patchMeta(ctx, fc, fields)
}
