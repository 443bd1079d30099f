package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
	fclisters "github.com/flink-operator/flink-operator/pkg/generated/listers/flinkoperator/v1beta1"
)

// Event reasons of sharding.
const (
	ReasonHandedOver = "ShardHandedOver"
	ReasonTakenOver  = "ShardTakenOver"
	ReasonAccepted   = "ShardAccepted"
)

// Verdict is what the sync does after the gate.
type Verdict struct {
	// Act: go on with the sync. Otherwise the sync ends here.
	Act bool
	// Forget: this shard no longer acts on the cluster; drop what the process remembers of it.
	Forget bool
	// RequeueAfter, when positive, looks at the cluster again then.
	RequeueAfter time.Duration
}

// Leases reads the shards' leader-election Leases, all in one namespace and named by LeaseName.
type Leases struct {
	Client    coordinationv1client.LeasesGetter
	Namespace string
	Base      string
}

// ClaimRetry is how soon a shard looks again at a cluster labelled for it that another live
// shard still owns: the owner's hand-over brings an event sooner, this catches an owner that dies.
const ClaimRetry = 10 * time.Second

// Gate admits a sync only on the clusters this shard owns (Decide), and carries out the other
// steps.
type Gate struct {
	Self     string
	Clusters fclisters.FlinkClusterLister
	Flink    versioned.Interface
	// Leases is nil when this process cannot read Leases (no leader election): it then never
	// takes a cluster over and waits for hand-overs.
	Leases   *Leases
	Children *Children
	Recorder record.EventRecorder
	Now      func() time.Time
}

// Admit decides the sync of namespace/name for this shard.
func (g *Gate) Admit(ctx context.Context, namespace, name string) (Verdict, error) {
	fc, err := g.Clusters.FlinkClusters(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return g.notCached(ctx, namespace, name)
	}
	if err != nil {
		return Verdict{}, err
	}
	step := Decide(g.Self, fc.Labels, fc.Annotations)
	switch step {
	case Act:
		return Verdict{Act: true}, nil
	case HandOver:
		return Verdict{Forget: true}, g.handOver(ctx, fc)
	case Accept:
		return g.accept(ctx, fc)
	case Claim:
		return g.claim(ctx, fc)
	}
	return Verdict{}, nil
}

// notCached handles a cluster this shard's cache does not hold: deleted, or labelled for
// another shard (a sharded cache selects by Label). In the second case it may still be this
// shard's to hand over: the informer's deletion event or the start-up list (Strays) brought it.
func (g *Gate) notCached(ctx context.Context, namespace, name string) (Verdict, error) {
	if g.Self == "" {
		return Verdict{Act: true}, nil // the unsharded cache holds every cluster: it is gone
	}
	fc, err := g.Flink.FlinkoperatorV1beta1().FlinkClusters(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Verdict{Act: true}, nil // the sync finds it gone and forgets it
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("reading FlinkCluster that left this shard's cache: %w", err)
	}
	if Decide(g.Self, fc.Labels, fc.Annotations) == HandOver {
		return Verdict{Forget: true}, g.handOver(ctx, fc)
	}
	return Verdict{Forget: true}, nil
}

// handOver writes the shard fc is labelled for as its owner.
func (g *Gate) handOver(ctx context.Context, fc *v1beta1.FlinkCluster) error {
	to := fc.Labels[Label]
	if err := g.setOwner(ctx, fc, to); err != nil {
		return fmt.Errorf("handing over to shard %s: %w", Name(to), err)
	}
	klog.FromContext(ctx).Info("Handed the cluster over", "shard", Name(g.Self), "to", Name(to))
	g.Recorder.Eventf(fc, corev1.EventTypeNormal, ReasonHandedOver, "Shard %s handed the cluster over to shard %s", Name(g.Self), Name(to))
	return nil
}

// claim takes fc over when its owner's Lease expired; otherwise it waits for the hand-over.
func (g *Gate) claim(ctx context.Context, fc *v1beta1.FlinkCluster) (Verdict, error) {
	owner := fc.Labels[OwnerLabel]
	if g.Leases == nil {
		klog.FromContext(ctx).V(2).Info("Waiting for the owner to hand the cluster over", "owner", Name(owner))
		return Verdict{RequeueAfter: ClaimRetry}, nil
	}
	leaseName := LeaseName(g.Leases.Base, owner)
	lease, err := g.Leases.Client.Leases(g.Leases.Namespace).Get(ctx, leaseName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return Verdict{}, fmt.Errorf("reading Lease %s/%s of shard %s: %w", g.Leases.Namespace, leaseName, Name(owner), err)
	case !Expired(lease, g.Now()):
		klog.FromContext(ctx).V(2).Info("Waiting for the owner to hand the cluster over", "owner", Name(owner))
		return Verdict{RequeueAfter: ClaimRetry}, nil
	}
	if err := g.setOwner(ctx, fc, g.Self); err != nil {
		return Verdict{}, fmt.Errorf("taking over from shard %s: %w", Name(owner), err)
	}
	klog.FromContext(ctx).Info("Took the cluster over from a shard whose Lease expired", "from", Name(owner), "lease", leaseName)
	g.Recorder.Eventf(fc, corev1.EventTypeNormal, ReasonTakenOver, "Shard %s took the cluster over from shard %s, whose Lease %s expired",
		Name(g.Self), Name(owner), leaseName)
	return Verdict{}, nil
}

// accept takes the children over, and once this shard's caches hold them all, ends the
// hand-over; the next sync acts.
func (g *Gate) accept(ctx context.Context, fc *v1beta1.FlinkCluster) (Verdict, error) {
	pending, err := g.Children.TakeOver(ctx, fc, g.Self)
	if err != nil {
		return Verdict{}, fmt.Errorf("taking the children over: %w", err)
	}
	if len(pending) > 0 {
		// Their informer events bring the next sync; the requeue covers a lost race with them.
		klog.FromContext(ctx).V(2).Info("Waiting for the cache to hold the children taken over", "children", pending)
		return Verdict{RequeueAfter: time.Second}, nil
	}
	if err := g.patch(ctx, fc, nil, map[string]interface{}{HandoverAnnotation: nil}); err != nil {
		return Verdict{}, fmt.Errorf("ending the hand-over: %w", err)
	}
	from := fc.Annotations[HandoverAnnotation]
	klog.FromContext(ctx).Info("Accepted the cluster", "shard", Name(g.Self), "from", from)
	g.Recorder.Eventf(fc, corev1.EventTypeNormal, ReasonAccepted, "Shard %s took over the cluster and its children from shard %s", Name(g.Self), from)
	return Verdict{}, nil
}

// setOwner writes owner (absent for the shard "") and opens the hand-over.
func (g *Gate) setOwner(ctx context.Context, fc *v1beta1.FlinkCluster, owner string) error {
	var ownerValue interface{} = owner
	if owner == "" {
		ownerValue = nil
	}
	return g.patch(ctx, fc, map[string]interface{}{OwnerLabel: ownerValue},
		map[string]interface{}{HandoverAnnotation: Name(fc.Labels[OwnerLabel])})
}

// patch is a merge patch of fc's labels and annotations that carries the resourceVersion this
// shard decided on: a concurrent change (another shard's write, a new label) conflicts, and the
// sync decides again on the new object.
func (g *Gate) patch(ctx context.Context, fc *v1beta1.FlinkCluster, labels, annotations map[string]interface{}) error {
	meta := map[string]interface{}{"resourceVersion": fc.ResourceVersion}
	if labels != nil {
		meta["labels"] = labels
	}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	data, err := json.Marshal(map[string]interface{}{"metadata": meta})
	if err != nil {
		return err
	}
	metrics.APIWrite("FlinkCluster", "patch")
	_, err = g.Flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).Patch(ctx, fc.Name, types.MergePatchType, data, metav1.PatchOptions{})
	return err
}

// Strays lists the clusters shard self owns but that are labelled for another: the hand-overs a
// process that stopped before making them owes. A sharded cache does not hold them.
func Strays(ctx context.Context, flink versioned.Interface, namespace, self string) ([]string, error) {
	if self == "" {
		return nil, nil // the unsharded cache holds every cluster
	}
	owned, _ := labels.NewRequirement(OwnerLabel, selection.Equals, []string{self})
	elsewhere, _ := labels.NewRequirement(Label, selection.NotEquals, []string{self})
	list, err := flink.FlinkoperatorV1beta1().FlinkClusters(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.NewSelector().Add(*owned, *elsewhere).String()})
	if err != nil {
		return nil, fmt.Errorf("listing the clusters this shard still owns: %w", err)
	}
	keys := make([]string, 0, len(list.Items))
	for _, fc := range list.Items {
		keys = append(keys, fc.Namespace+"/"+fc.Name)
	}
	return keys, nil
}

// Selector is what shard self's informers select FlinkClusters and children by, on top of their
// own selectors; nil for the unsharded operator, which watches them all.
func Selector(self string) labels.Selector {
	if self == "" {
		return nil
	}
	return labels.SelectorFromSet(labels.Set{Label: self})
}
