package controller

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
	"github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
)

var gateNow = time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)

var (
	deploymentsResource = appsv1.SchemeGroupVersion.WithResource("deployments")
	configMapsResource  = corev1.SchemeGroupVersion.WithResource("configmaps")
)

// gateFixture is one shard's sync over a cache holding cached (nil: none) and an API server
// holding live, these Leases and these children.
type gateFixture struct {
	r        *Reconciler
	indexers map[string]cache.Indexer
	flink    *fcfake.Clientset
	kube     *kubefake.Clientset
	dynamic  *dynamicfake.FakeDynamicClient
	recorder *record.FakeRecorder
}

func newGateFixture(t *testing.T, self string, cached, live *v1beta1.FlinkCluster, leases []runtime.Object, children ...runtime.Object) *gateFixture {
	t.Helper()
	f := &gateFixture{indexers: newIndexers(), recorder: record.NewFakeRecorder(10), dynamic: dynamicfake.NewSimpleDynamicClient(scheme.Scheme, children...)}
	if cached != nil {
		require.NoError(t, f.indexers["fc"].Add(cached))
	}
	var objs []runtime.Object
	if live != nil {
		objs = append(objs, live)
	}
	f.flink = fcfake.NewSimpleClientset(objs...)
	kube := kubefake.NewSimpleClientset(leases...)
	f.kube = kube
	rest := fake.New()
	f.r = testReconciler(t, f.indexers, kube, f.flink, rest, rest, f.recorder, func() time.Time { return gateNow })
	f.r.Shard = self
	f.r.Observer.WithShards(observer.ShardSources{Flink: f.flink, Leases: kube.CoordinationV1(), LeaseNamespace: "op", LeaseBase: "flink-operator",
		Children: f.dynamic, Caches: map[schema.GroupVersionResource]cache.Indexer{
			deploymentsResource: f.indexers["deploy"], configMapsResource: f.indexers["cm"]}})
	f.r.Updater.WithChildClient(f.dynamic)
	return f
}

func (f *gateFixture) admit(t *testing.T) verdict {
	t.Helper()
	return f.admitAt(t, gateNow)
}

func (f *gateFixture) admitAt(t *testing.T, now time.Time) verdict {
	t.Helper()
	v, err := f.r.admit(context.Background(), "ns", "fc", now)
	require.NoError(t, err)
	return v
}

// renew stands for the holder renewing its Lease: a new version, whatever its clock says.
func (f *gateFixture) renew(t *testing.T, name string) {
	t.Helper()
	l, err := f.kube.CoordinationV1().Leases("op").Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	l.ResourceVersion += "1" // the fake API server keeps what it is given
	l.Spec.RenewTime = &metav1.MicroTime{Time: l.Spec.RenewTime.Add(time.Second)}
	_, err = f.kube.CoordinationV1().Leases("op").Update(context.Background(), l, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// patches are the merge patches written to FlinkClusters, decoded.
func (f *gateFixture) patches(t *testing.T) []map[string]interface{} {
	var out []map[string]interface{}
	for _, a := range f.flink.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			var body map[string]interface{}
			require.NoError(t, json.Unmarshal(p.GetPatch(), &body))
			out = append(out, body["metadata"].(map[string]interface{}))
		}
	}
	return out
}

func gateCluster(labels, annotations map[string]string) *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fc", UID: "fc-uid", ResourceVersion: "7",
		Labels: labels, Annotations: annotations}}
}

func childOf(fc *v1beta1.FlinkCluster, obj interface {
	metav1.Object
	runtime.Object
}, name, s string) runtime.Object {
	obj.SetNamespace(fc.Namespace)
	obj.SetName(name)
	obj.SetUID(k8stypes.UID("uid-" + name))
	l := names.ClusterLabels(fc.Name)
	if s != "" {
		l[shard.Label] = s
	}
	obj.SetLabels(l)
	yes := true
	obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "flinkoperator.k8s.io/v1beta1", Kind: "FlinkCluster", Name: fc.Name, UID: fc.UID, Controller: &yes}})
	return obj
}

func lease(name, holder string, renewed time.Duration) runtime.Object {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "op", Name: name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](15),
			RenewTime: &metav1.MicroTime{Time: gateNow.Add(-renewed)}}}
}

func nextEvent(r *record.FakeRecorder) string {
	select {
	case e := <-r.Events:
		return e
	default:
		return ""
	}
}

func TestGateActsOnlyOnItsOwn(t *testing.T) {
	owned := gateCluster(map[string]string{shard.Label: "a", shard.OwnerLabel: "a"}, nil)
	f := newGateFixture(t, "a", owned, owned, nil)
	assert.Equal(t, verdict{act: true}, f.admit(t))
	assert.Empty(t, f.flink.Actions(), "an owned cluster costs no API call")

	other := gateCluster(map[string]string{shard.Label: "b", shard.OwnerLabel: "b"}, nil)
	f = newGateFixture(t, "", other, other, nil)
	assert.Equal(t, verdict{}, f.admit(t), "the unsharded operator sees another shard's cluster and leaves it")
	assert.Empty(t, f.flink.Actions())
}

func TestGateHandsOverWithTheResourceVersionItDecidedOn(t *testing.T) {
	relabelled := gateCluster(map[string]string{shard.Label: "b", shard.OwnerLabel: "a"}, nil)
	relabelled.Status.State = v1beta1.ClusterStateRunning
	f := newGateFixture(t, "a", relabelled, relabelled, []runtime.Object{lease("flink-operator-b", "op-b", time.Second)})
	assert.Equal(t, verdict{forget: true}, f.admit(t), "the old owner acts no more and forgets the cluster")
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7",
		"labels": map[string]interface{}{shard.OwnerLabel: "b"}, "annotations": map[string]interface{}{shard.HandoverAnnotation: "a"}}}, f.patches(t))
	assert.Contains(t, nextEvent(f.recorder), updater.ReasonShardHandedOver)
	assert.Empty(t, nextEvent(f.recorder), "shard b runs: no warning")
}

func TestGateWarnsWhenItHandsOverToAShardNobodyRuns(t *testing.T) {
	relabelled := gateCluster(map[string]string{shard.Label: "typo", shard.OwnerLabel: "a"}, nil)
	f := newGateFixture(t, "a", relabelled, relabelled, nil)
	assert.Equal(t, verdict{forget: true}, f.admit(t))
	assert.Contains(t, nextEvent(f.recorder), updater.ReasonShardHandedOver)
	warning := nextEvent(f.recorder)
	assert.Contains(t, warning, updater.ReasonShardUnattended)
	assert.Contains(t, warning, "flink-operator-typo")
}

func TestGateHandsOverToTheUnshardedOperatorByRemovingTheOwner(t *testing.T) {
	unlabelled := gateCluster(map[string]string{shard.OwnerLabel: "a"}, nil)
	unlabelled.Status.State = v1beta1.ClusterStateRunning
	f := newGateFixture(t, "a", nil, unlabelled, []runtime.Object{lease("flink-operator", "op", time.Second)}) // left a's cache
	assert.Equal(t, verdict{forget: true}, f.admit(t))
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7",
		"labels": map[string]interface{}{shard.OwnerLabel: nil}, "annotations": map[string]interface{}{shard.HandoverAnnotation: "a"}}}, f.patches(t))
}

func TestGateUncached(t *testing.T) {
	f := newGateFixture(t, "a", nil, nil, nil)
	assert.Equal(t, verdict{act: true}, f.admit(t), "deleted: the sync finds it gone and forgets it")

	elsewhere := gateCluster(map[string]string{shard.Label: "b", shard.OwnerLabel: "b"}, nil)
	f = newGateFixture(t, "a", nil, elsewhere, nil)
	assert.Equal(t, verdict{forget: true}, f.admit(t), "another shard's: forgotten, nothing written")
	assert.Empty(t, f.patches(t))

	f = newGateFixture(t, "", nil, nil, nil)
	assert.Equal(t, verdict{act: true}, f.admit(t))
	assert.Empty(t, f.flink.Actions(), "the unsharded cache holds every cluster: no read of the API server")
}

func TestGateClaim(t *testing.T) {
	claimed := gateCluster(map[string]string{shard.Label: "b", shard.OwnerLabel: "a"}, nil)
	claimed.Status.State = v1beta1.ClusterStateRunning // shard a acted on it
	wantTakeOver := []map[string]interface{}{{"resourceVersion": "7",
		"labels": map[string]interface{}{shard.OwnerLabel: "b"}, "annotations": map[string]interface{}{shard.HandoverAnnotation: "a"}}}
	// The holder's RenewTime is an hour off this clock: it is never compared with it.
	skewed := -time.Hour

	t.Run("owner renewing: wait for its hand-over, however long", func(t *testing.T) {
		f := newGateFixture(t, "b", claimed, claimed, []runtime.Object{lease("flink-operator-a", "op-a-1", -skewed)})
		for i := 0; i < 4; i++ {
			v := f.admitAt(t, gateNow.Add(time.Duration(i)*ClaimRetry))
			assert.Equal(t, verdict{requeueAfter: ClaimRetry}, v, "look %d", i)
			f.renew(t, "flink-operator-a")
		}
		assert.Empty(t, f.patches(t))
	})
	t.Run("owner's Lease unchanged for a lease duration on this clock: take over", func(t *testing.T) {
		f := newGateFixture(t, "b", claimed, claimed, []runtime.Object{lease("flink-operator-a", "op-a-1", time.Second)})
		assert.Equal(t, verdict{requeueAfter: ClaimRetry}, f.admitAt(t, gateNow), "first sight")
		assert.Equal(t, verdict{requeueAfter: ClaimRetry}, f.admitAt(t, gateNow.Add(14*time.Second)))
		assert.Empty(t, f.patches(t))
		assert.Equal(t, verdict{}, f.admitAt(t, gateNow.Add(15*time.Second)))
		assert.Equal(t, wantTakeOver, f.patches(t))
		assert.Contains(t, nextEvent(f.recorder), updater.ReasonShardTakenOver)
	})
	for name, leases := range map[string][]runtime.Object{
		"owner's Lease released: take over at once": {lease("flink-operator-a", "", time.Second)},
		"owner never ran: take over at once":        nil,
	} {
		t.Run(name, func(t *testing.T) {
			f := newGateFixture(t, "b", claimed, claimed, leases)
			assert.Equal(t, verdict{}, f.admit(t), "never acts in the sync that claims")
			assert.Equal(t, wantTakeOver, f.patches(t))
		})
	}
}

func TestGateWithoutLeasesNeverTakesOver(t *testing.T) {
	claimed := gateCluster(map[string]string{shard.Label: "b"}, nil)
	claimed.Status.State = v1beta1.ClusterStateRunning // the unsharded operator acted on it before the label came
	f := newGateFixture(t, "b", claimed, claimed, nil)
	f.r.Observer.WithShards(observer.ShardSources{Flink: f.flink})
	assert.Equal(t, verdict{requeueAfter: ClaimRetry}, f.admit(t))
	assert.Empty(t, f.patches(t))
}

// TestGateAcceptsOnlyOnceItsCachesHoldTheChildren follows a hand-over to shard b: the children,
// still labelled for shard a, are relabelled; the hand-over ends only when b's caches hold them,
// and b acts only after that.
func TestGateAcceptsOnlyOnceItsCachesHoldTheChildren(t *testing.T) {
	ctx := context.Background()
	fc := gateCluster(map[string]string{shard.Label: "b", shard.OwnerLabel: "b"}, map[string]string{shard.HandoverAnnotation: "a"})
	fc.Status.State = v1beta1.ClusterStateRunning
	deployment := childOf(fc, &appsv1.Deployment{}, "fc-jobmanager", "a")
	configMap := childOf(fc, &corev1.ConfigMap{}, "fc-configmap", "a")
	// Under a child's name, but another object's: left alone.
	stranger := childOf(fc, &appsv1.Deployment{}, "fc-taskmanager", "a")
	stranger.(*appsv1.Deployment).OwnerReferences[0].UID = "an-earlier-fc"
	f := newGateFixture(t, "b", fc, fc, nil, deployment, configMap, stranger)

	assert.Equal(t, verdict{requeueAfter: time.Second}, f.admit(t), "waits for its caches")
	for gvr, name := range map[schema.GroupVersionResource]string{deploymentsResource: "fc-jobmanager", configMapsResource: "fc-configmap"} {
		obj, err := f.dynamic.Resource(gvr).Namespace("ns").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "b", obj.GetLabels()[shard.Label], "%s relabelled for the new shard", name)
	}
	obj, err := f.dynamic.Resource(deploymentsResource).Namespace("ns").Get(ctx, "fc-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "a", obj.GetLabels()[shard.Label], "an object of another owner under a child's name is left alone")
	assert.Empty(t, f.patches(t), "the hand-over is still open")

	// One child arrives in the cache, then the other: only then is the hand-over closed.
	require.NoError(t, f.indexers["deploy"].Add(childOf(fc, &appsv1.Deployment{}, "fc-jobmanager", "b")))
	assert.Equal(t, verdict{requeueAfter: time.Second}, f.admit(t))
	require.NoError(t, f.indexers["cm"].Add(childOf(fc, &corev1.ConfigMap{}, "fc-configmap", "a")))
	assert.Equal(t, verdict{requeueAfter: time.Second}, f.admit(t), "a cached copy still labelled for the old shard is not enough")
	require.NoError(t, f.indexers["cm"].Update(childOf(fc, &corev1.ConfigMap{}, "fc-configmap", "b")))

	assert.Equal(t, verdict{}, f.admit(t), "closes the hand-over; the next sync acts")
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7", "annotations": map[string]interface{}{shard.HandoverAnnotation: nil}}}, f.patches(t))
	assert.Contains(t, nextEvent(f.recorder), updater.ReasonShardAccepted)
}

// TestGateAcceptsANewClusterWithoutReads: no owner wrote status yet, so no owner acted and there
// are no children to take over; the hand-over closes at once, without a read per child.
func TestGateAcceptsANewClusterWithoutReads(t *testing.T) {
	fc := gateCluster(map[string]string{shard.Label: "b", shard.OwnerLabel: "b"}, map[string]string{shard.HandoverAnnotation: shard.Unsharded})
	f := newGateFixture(t, "b", fc, fc, nil)
	assert.Equal(t, verdict{}, f.admit(t))
	assert.Empty(t, f.dynamic.Actions(), "no child read")
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7", "annotations": map[string]interface{}{shard.HandoverAnnotation: nil}}}, f.patches(t))
}

// TestGateTakesANewClusterAtOnce: created with a shard's label and no unsharded operator
// running, the cluster was never acted on, so the shard takes it with one write and no hand-over
// to close: its next sync acts. With an unsharded operator running, the shard leaves the cluster
// to it: it may be in the middle of a first sync begun before the label came, and it hands the
// cluster over at once itself.
func TestGateTakesANewClusterAtOnce(t *testing.T) {
	fresh := gateCluster(map[string]string{shard.Label: "b"}, nil)
	f := newGateFixture(t, "b", fresh, fresh, nil)
	assert.Equal(t, verdict{}, f.admit(t))
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7", "labels": map[string]interface{}{shard.OwnerLabel: "b"}}}, f.patches(t))
	assert.Contains(t, nextEvent(f.recorder), updater.ReasonShardTakenOver)

	taken := fresh.DeepCopy()
	taken.Labels[shard.OwnerLabel] = "b"
	f = newGateFixture(t, "b", taken, taken, nil)
	assert.Equal(t, verdict{act: true}, f.admit(t), "the next sync acts")

	f = newGateFixture(t, "b", fresh, fresh, []runtime.Object{lease("flink-operator", "op", time.Second)})
	assert.Equal(t, verdict{requeueAfter: ClaimRetry}, f.admit(t))
	assert.Empty(t, f.patches(t), "the running unsharded operator hands it over")
}

// TestGateHandsANewClusterOverWithoutAHandOverToClose: the unsharded operator, the owner of a
// cluster created with a shard's label, hands it over with no children to take over.
func TestGateHandsANewClusterOverWithoutAHandOverToClose(t *testing.T) {
	fresh := gateCluster(map[string]string{shard.Label: "b"}, nil)
	f := newGateFixture(t, "", fresh, fresh, []runtime.Object{lease("flink-operator-b", "op-b", time.Second)})
	assert.Equal(t, verdict{forget: true}, f.admit(t))
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7", "labels": map[string]interface{}{shard.OwnerLabel: "b"}}}, f.patches(t))
}
