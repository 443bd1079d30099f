package shard

import (
	"context"
	"encoding/json"
	"testing"
	"time"

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
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
	fclisters "github.com/flink-operator/flink-operator/pkg/generated/listers/flinkoperator/v1beta1"
)

var (
	now         = time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)
	deployments = appsv1.SchemeGroupVersion.WithResource("deployments")
	configMaps  = corev1.SchemeGroupVersion.WithResource("configmaps")
)

type fixture struct {
	gate     *Gate
	flink    *fcfake.Clientset
	dynamic  *dynamicfake.FakeDynamicClient
	caches   map[schema.GroupVersionResource]cache.Indexer
	recorder *record.FakeRecorder
}

func cluster(labels, annotations map[string]string) *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fc", UID: "fc-uid", ResourceVersion: "7",
		Labels: labels, Annotations: annotations}}
}

func childOf(fc *v1beta1.FlinkCluster, obj interface {
	metav1.Object
	runtime.Object
}, name, shard string) runtime.Object {
	obj.SetNamespace(fc.Namespace)
	obj.SetName(name)
	obj.SetUID(k8stypes.UID("uid-" + name))
	l := names.ClusterLabels(fc.Name)
	if shard != "" {
		l[Label] = shard
	}
	obj.SetLabels(l)
	yes := true
	obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "flinkoperator.k8s.io/v1beta1", Kind: "FlinkCluster", Name: fc.Name, UID: fc.UID, Controller: &yes}})
	return obj
}

// newFixture is shard self's gate; cached is in its FlinkCluster cache, live on the API server.
func newFixture(t *testing.T, self string, cached, live *v1beta1.FlinkCluster, leases []runtime.Object, children ...runtime.Object) *fixture {
	t.Helper()
	clusters := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if cached != nil {
		require.NoError(t, clusters.Add(cached))
	}
	var objs []runtime.Object
	if live != nil {
		objs = append(objs, live)
	}
	f := &fixture{flink: fcfake.NewSimpleClientset(objs...), recorder: record.NewFakeRecorder(10),
		caches: map[schema.GroupVersionResource]cache.Indexer{
			deployments: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
			configMaps:  cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		}}
	f.dynamic = dynamicfake.NewSimpleDynamicClient(scheme.Scheme, children...)
	f.gate = &Gate{Self: self, Clusters: fclisters.NewFlinkClusterLister(clusters), Flink: f.flink,
		Leases:   &Leases{Client: kubefake.NewClientset(leases...).CoordinationV1(), Namespace: "op", Base: "flink-operator"},
		Children: &Children{Client: f.dynamic, Caches: f.caches}, Recorder: f.recorder, Now: func() time.Time { return now }}
	return f
}

// patches are the merge patches written to FlinkClusters, decoded.
func (f *fixture) patches(t *testing.T) []map[string]interface{} {
	var out []map[string]interface{}
	for _, a := range f.flink.Actions() {
		if p, ok := a.(clienttesting.PatchAction); ok {
			var body map[string]interface{}
			require.NoError(t, json.Unmarshal(p.GetPatch(), &body))
			out = append(out, body["metadata"].(map[string]interface{}))
		}
	}
	return out
}

func lease(name, holder string, renewed time.Duration) runtime.Object {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "op", Name: name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](15),
			RenewTime: &metav1.MicroTime{Time: now.Add(-renewed)}}}
}

func TestGateActsOnlyOnItsOwn(t *testing.T) {
	ctx := context.Background()
	owned := cluster(map[string]string{Label: "a", OwnerLabel: "a"}, nil)
	f := newFixture(t, "a", owned, owned, nil)
	v, err := f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{Act: true}, v)
	assert.Empty(t, f.flink.Actions(), "an owned cluster costs no API call")

	other := cluster(map[string]string{Label: "b", OwnerLabel: "b"}, nil)
	f = newFixture(t, "", other, other, nil)
	v, err = f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{}, v, "the unsharded operator sees another shard's cluster and leaves it")
	assert.Empty(t, f.flink.Actions())
}

func TestGateHandsOverWithTheResourceVersionItDecidedOn(t *testing.T) {
	relabelled := cluster(map[string]string{Label: "b", OwnerLabel: "a"}, nil)
	f := newFixture(t, "a", relabelled, relabelled, nil)
	v, err := f.gate.Admit(context.Background(), "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{Forget: true}, v, "the old owner acts no more and forgets the cluster")
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7",
		"labels": map[string]interface{}{OwnerLabel: "b"}, "annotations": map[string]interface{}{HandoverAnnotation: "a"}}}, f.patches(t))
	assert.Contains(t, <-f.recorder.Events, ReasonHandedOver)
}

func TestGateHandsOverToTheUnshardedOperatorByRemovingTheOwner(t *testing.T) {
	unlabelled := cluster(map[string]string{OwnerLabel: "a"}, nil)
	f := newFixture(t, "a", nil, unlabelled, nil) // left shard a's cache with its label
	v, err := f.gate.Admit(context.Background(), "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{Forget: true}, v)
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7",
		"labels": map[string]interface{}{OwnerLabel: nil}, "annotations": map[string]interface{}{HandoverAnnotation: "a"}}}, f.patches(t))
}

func TestGateNotCached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "a", nil, nil, nil)
	v, err := f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{Act: true}, v, "deleted: the sync finds it gone and forgets it")

	elsewhere := cluster(map[string]string{Label: "b", OwnerLabel: "b"}, nil)
	f = newFixture(t, "a", nil, elsewhere, nil)
	v, err = f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{Forget: true}, v, "another shard's: forgotten, nothing written")
	assert.Empty(t, f.patches(t))

	f = newFixture(t, "", nil, nil, nil)
	v, err = f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{Act: true}, v)
	assert.Empty(t, f.flink.Actions(), "the unsharded cache holds every cluster: no read of the API server")
}

func TestGateClaim(t *testing.T) {
	claimed := cluster(map[string]string{Label: "b", OwnerLabel: "a"}, nil)
	for _, tc := range []struct {
		name     string
		leases   []runtime.Object
		takeOver bool
	}{
		{name: "owner alive: wait for its hand-over", leases: []runtime.Object{lease("flink-operator-a", "op-a-1", 5*time.Second)}},
		{name: "owner's Lease expired: take over", leases: []runtime.Object{lease("flink-operator-a", "op-a-1", 16*time.Second)}, takeOver: true},
		{name: "owner's Lease released: take over", leases: []runtime.Object{lease("flink-operator-a", "", time.Second)}, takeOver: true},
		{name: "owner never ran: take over", takeOver: true},
		{name: "another shard's Lease says nothing about the owner", leases: []runtime.Object{lease("flink-operator-a", "op-a-1", time.Second),
			lease("flink-operator-c", "", time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "b", claimed, claimed, tc.leases)
			v, err := f.gate.Admit(context.Background(), "ns", "fc")
			require.NoError(t, err)
			assert.False(t, v.Act, "never acts in the sync that claims")
			if !tc.takeOver {
				assert.Equal(t, ClaimRetry, v.RequeueAfter)
				assert.Empty(t, f.patches(t))
				return
			}
			assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7",
				"labels": map[string]interface{}{OwnerLabel: "b"}, "annotations": map[string]interface{}{HandoverAnnotation: "a"}}}, f.patches(t))
			assert.Contains(t, <-f.recorder.Events, ReasonTakenOver)
		})
	}
}

func TestGateWithoutLeasesNeverTakesOver(t *testing.T) {
	claimed := cluster(map[string]string{Label: "b"}, nil)
	f := newFixture(t, "b", claimed, claimed, nil)
	f.gate.Leases = nil
	v, err := f.gate.Admit(context.Background(), "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{RequeueAfter: ClaimRetry}, v)
	assert.Empty(t, f.patches(t))
}

// TestGateAcceptsOnlyOnceItsCachesHoldTheChildren follows a hand-over to shard b: the children,
// still labelled for shard a, are relabelled; the hand-over ends only when b's caches hold them,
// and b acts only after that.
func TestGateAcceptsOnlyOnceItsCachesHoldTheChildren(t *testing.T) {
	ctx := context.Background()
	fc := cluster(map[string]string{Label: "b", OwnerLabel: "b"}, map[string]string{HandoverAnnotation: "a"})
	fc.Status.State = v1beta1.ClusterStateRunning
	deployment := childOf(fc, &appsv1.Deployment{}, "fc-jobmanager", "a")
	configMap := childOf(fc, &corev1.ConfigMap{}, "fc-configmap", "a")
	// Under a child's name, but another object's: left alone.
	stranger := childOf(fc, &appsv1.Deployment{}, "fc-taskmanager", "a")
	stranger.(*appsv1.Deployment).OwnerReferences[0].UID = "an-earlier-fc"
	f := newFixture(t, "b", fc, fc, nil, deployment, configMap, stranger)

	v, err := f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{RequeueAfter: time.Second}, v, "waits for its caches")
	for gvr, name := range map[schema.GroupVersionResource]string{deployments: "fc-jobmanager", configMaps: "fc-configmap"} {
		obj, err := f.dynamic.Resource(gvr).Namespace("ns").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "b", obj.GetLabels()[Label], "%s relabelled for the new shard", name)
	}
	obj, err := f.dynamic.Resource(deployments).Namespace("ns").Get(ctx, "fc-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "a", obj.GetLabels()[Label], "an object of another owner under a child's name is left alone")
	assert.Empty(t, f.patches(t), "the hand-over is still open")

	// One child arrives in the cache, then the other: only then is the hand-over closed.
	require.NoError(t, f.caches[deployments].Add(childOf(fc, &appsv1.Deployment{}, "fc-jobmanager", "b")))
	v, err = f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{RequeueAfter: time.Second}, v)
	require.NoError(t, f.caches[configMaps].Add(childOf(fc, &corev1.ConfigMap{}, "fc-configmap", "a")))
	v, err = f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{RequeueAfter: time.Second}, v, "a cached copy still labelled for the old shard is not enough")
	require.NoError(t, f.caches[configMaps].Update(childOf(fc, &corev1.ConfigMap{}, "fc-configmap", "b")))

	v, err = f.gate.Admit(ctx, "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{}, v, "closes the hand-over; the next sync acts")
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7", "annotations": map[string]interface{}{HandoverAnnotation: nil}}}, f.patches(t))
	assert.Contains(t, <-f.recorder.Events, ReasonAccepted)
}

func TestStrays(t *testing.T) {
	flink := fcfake.NewSimpleClientset()
	keys, err := Strays(context.Background(), flink, "", "a")
	require.NoError(t, err)
	assert.Empty(t, keys)
	list := flink.Actions()[0].(clienttesting.ListAction)
	assert.Equal(t, Label+"!=a,"+OwnerLabel+"=a", list.GetListRestrictions().Labels.String())

	keys, err = Strays(context.Background(), flink, "", "")
	require.NoError(t, err)
	assert.Empty(t, keys)
	assert.Len(t, flink.Actions(), 1, "the unsharded operator lists nothing")
}

// TestGateAcceptsANewClusterWithoutReads: no owner wrote status yet, so no owner acted and there
// are no children to take over; the hand-over closes at once, without a read per child.
func TestGateAcceptsANewClusterWithoutReads(t *testing.T) {
	fc := cluster(map[string]string{Label: "b", OwnerLabel: "b"}, map[string]string{HandoverAnnotation: Unsharded})
	f := newFixture(t, "b", fc, fc, nil)
	v, err := f.gate.Admit(context.Background(), "ns", "fc")
	require.NoError(t, err)
	assert.Equal(t, Verdict{}, v)
	assert.Empty(t, f.dynamic.Actions(), "no child read")
	assert.Equal(t, []map[string]interface{}{{"resourceVersion": "7", "annotations": map[string]interface{}{HandoverAnnotation: nil}}}, f.patches(t))
}
