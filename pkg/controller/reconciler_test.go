package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
	fcfake "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/fake"
)

// fixture is a sync test bench: fake clientsets for the writes, indexers standing in for the
// informer caches, a fake recorder and a fixed clock.
type fixture struct {
	t        *testing.T
	rest     *flinkfake.Client
	kube     *kubefake.Clientset
	flink    *fcfake.Clientset
	indexers map[string]cache.Indexer
	recorder *record.FakeRecorder
	r        *Reconciler
	now      time.Time
}

func newFixture(t *testing.T, fc *v1beta1.FlinkCluster) *fixture {
	f := &fixture{t: t, kube: kubefake.NewSimpleClientset(), flink: fcfake.NewSimpleClientset(fc),
		recorder: record.NewFakeRecorder(100), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.indexers = newIndexers()
	require.NoError(t, f.indexers["fc"].Add(fc))
	f.kube.PrependReactor("update", "deployments", f.scaleReactor)
	f.kube.PrependReactor("*", "deployments", rejectDeploymentWithoutContainers)
	f.rest = flinkfake.New()
	f.r = f.newProcess()
	return f
}

// newProcess is a fresh operator process over the fixture's caches, clients and clock.
func (f *fixture) newProcess() *Reconciler {
	return testReconciler(f.t, f.indexers, f.kube, f.flink, f.rest, f.rest, f.recorder, func() time.Time { return f.now })
}

// sync runs one sync and returns the mutating actions it made, then feeds every written object
// back into the caches, as the informers would.
func (f *fixture) sync() []string {
	f.kube.ClearActions()
	f.flink.ClearActions()
	_, err := f.r.Sync(context.Background(), "ns/c")
	require.NoError(f.t, err)
	var actions []string
	for _, a := range append(f.kube.Actions(), f.flink.Actions()...) {
		if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		desc := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			desc += "/" + a.GetSubresource()
		}
		actions = append(actions, desc)
		f.feed(a)
	}
	return actions
}

// feed stores a written object as the informers would: through the same cache transform, so a
// sync that needs what the caches drop fails here too.
func (f *fixture) feed(a k8stesting.Action) {
	if update, ok := a.(k8stesting.UpdateAction); ok && a.GetSubresource() == "scale" {
		f.feedScale(update)
		return
	}
	var obj runtime.Object
	switch a := a.(type) {
	case k8stesting.PatchAction:
		// The tracker applied the patch; the informer would deliver the stored object.
		stored, err := f.flink.Tracker().Get(v1beta1.SchemeGroupVersion.WithResource(a.GetResource().Resource), a.GetNamespace(), a.GetName())
		if err != nil {
			return // a patch of a deleted object
		}
		obj = stored
	case k8stesting.CreateAction: // also every update: the two interfaces have the same methods
		obj = a.GetObject().DeepCopyObject()
	case k8stesting.DeleteAction:
		idx := f.indexerFor(a.GetResource().Resource)
		if item, ok, _ := idx.GetByKey(a.GetNamespace() + "/" + a.GetName()); ok {
			require.NoError(f.t, idx.Delete(item))
		}
		return
	default:
		return
	}
	if a.GetResource().Resource != "flinkclusters" {
		slim, err := SlimChild(obj)
		require.NoError(f.t, err)
		obj = slim.(runtime.Object)
	}
	require.NoError(f.t, f.indexerFor(a.GetResource().Resource).Update(obj))
}

// scaleReactor plays the API server's deployments/scale, which the fake clientset's object
// tracker does not know: it sets the stored Deployment's replicas.
func (f *fixture) scaleReactor(a k8stesting.Action) (bool, runtime.Object, error) {
	update, ok := a.(k8stesting.UpdateAction)
	if !ok || a.GetSubresource() != "scale" {
		return false, nil, nil
	}
	scale := update.GetObject().(*autoscalingv1.Scale)
	gvr := appsv1.SchemeGroupVersion.WithResource("deployments")
	obj, err := f.kube.Tracker().Get(gvr, a.GetNamespace(), scale.Name)
	if err != nil {
		return true, nil, err
	}
	d := obj.(*appsv1.Deployment).DeepCopy()
	d.Spec.Replicas = ptr.To(scale.Spec.Replicas)
	return true, scale, f.kube.Tracker().Update(gvr, d, a.GetNamespace())
}

// rejectDeploymentWithoutContainers is the API server's validation that matters to the sync
// tests: a Deployment written back from the slimmed cache has no containers.
func rejectDeploymentWithoutContainers(a k8stesting.Action) (bool, runtime.Object, error) {
	write, ok := a.(k8stesting.CreateAction)
	if !ok || a.GetSubresource() != "" {
		return false, nil, nil
	}
	if d, ok := write.GetObject().(*appsv1.Deployment); ok && len(d.Spec.Template.Spec.Containers) == 0 {
		return true, nil, apierrors.NewInvalid(appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind(), d.Name,
			field.ErrorList{field.Required(field.NewPath("spec", "template", "spec", "containers"), "")})
	}
	return false, nil, nil
}

// feedScale plays the API server's deployments/scale: new replicas, a new generation.
func (f *fixture) feedScale(a k8stesting.UpdateAction) {
	scale := a.GetObject().(*autoscalingv1.Scale)
	item, ok, err := f.indexers["deploy"].GetByKey(a.GetNamespace() + "/" + scale.Name)
	require.NoError(f.t, err)
	require.True(f.t, ok, "scaled Deployment %s is not cached", scale.Name)
	d := item.(*appsv1.Deployment).DeepCopy()
	require.Equal(f.t, d.ResourceVersion, scale.ResourceVersion, "the scale carries the observed resourceVersion")
	d.Spec.Replicas = ptr.To(scale.Spec.Replicas)
	d.Generation++
	require.NoError(f.t, f.indexers["deploy"].Update(d))
}

func (f *fixture) indexerFor(resource string) cache.Indexer {
	return map[string]cache.Indexer{"flinkclusters": f.indexers["fc"], "deployments": f.indexers["deploy"],
		"services": f.indexers["svc"], "ingresses": f.indexers["ing"], "configmaps": f.indexers["cm"], "jobs": f.indexers["job"],
		"networkpolicies": f.indexers["netpol"], "poddisruptionbudgets": f.indexers["pdb"],
		"horizontalpodautoscalers": f.indexers["hpa"]}[resource]
}

// makeAvailable plays the Deployment controller: every Deployment reports all replicas ready.
func (f *fixture) makeAvailable() {
	for _, item := range f.indexers["deploy"].List() {
		d := item.(*appsv1.Deployment).DeepCopy()
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
		require.NoError(f.t, f.indexers["deploy"].Update(d))
	}
}

func (f *fixture) cluster() *v1beta1.FlinkCluster {
	item, _, _ := f.indexers["fc"].GetByKey("ns/c")
	return item.(*v1beta1.FlinkCluster)
}

// edit changes the spec as a user would (new generation).
func (f *fixture) edit(change func(*v1beta1.FlinkCluster)) {
	fc := f.cluster().DeepCopy()
	change(fc)
	fc.Generation++
	require.NoError(f.t, f.indexers["fc"].Update(fc))
}

func sessionCluster() *v1beta1.FlinkCluster {
	min := resource.MustParse("600M")
	mem := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}
	return &v1beta1.FlinkCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid-c", Generation: 1},
		Spec: v1beta1.FlinkClusterSpec{
			Image:       v1beta1.ImageSpec{Name: "flink:2.1"},
			JobManager:  v1beta1.JobManagerSpec{AccessScope: v1beta1.AccessScopeCluster, Resources: *mem.DeepCopy(), MemoryOffHeapRatio: ptr.To[int32](25), MemoryOffHeapMin: &min},
			TaskManager: v1beta1.TaskManagerSpec{Replicas: 2, Resources: *mem.DeepCopy(), MemoryOffHeapRatio: ptr.To[int32](25), MemoryOffHeapMin: &min},
		},
	}
}

func TestSessionClusterLifecycle(t *testing.T) {
	f := newFixture(t, sessionCluster())

	writes := f.sync()
	require.Len(t, writes, 5, "the first sync creates every child and reports Creating: %v", writes)
	assert.Equal(t, "create configmaps", writes[0], "the configuration exists before any pod can start")
	assert.ElementsMatch(t, []string{"create deployments", "create services", "create deployments"}, writes[1:4],
		"the other children are created concurrently, in any order")
	assert.Equal(t, "update flinkclusters/status", writes[4], "status after the children")
	assert.Equal(t, v1beta1.ClusterStateCreating, f.cluster().Status.State)

	assert.Equal(t, []string{"update flinkclusters/status"}, f.sync(), "the next sync sees the Service it created")
	assert.Empty(t, f.sync(), "nothing changed, nothing written")

	f.makeAvailable()
	assert.Equal(t, []string{"update flinkclusters/status"}, f.sync())
	st := f.cluster().Status
	assert.Equal(t, v1beta1.ClusterStateRunning, st.State)
	assert.Equal(t, int64(1), st.ObservedGeneration)
	assert.Equal(t, v1beta1.ComponentStateReady, st.Components.TaskManagerDeployment.State)
	assert.Equal(t, int32(2), st.Components.TaskManagerDeployment.Replicas)
	assert.Equal(t, "flinkoperator.k8s.io/cluster=c,app.kubernetes.io/component=taskmanager", sortedSelector(st.Components.TaskManagerDeployment.Selector))

	f.now = f.now.Add(time.Hour)
	assert.Empty(t, f.sync(), "an idle Running cluster costs zero writes, even later")
}

func sortedSelector(s string) string {
	// FormatLabelSelector sorts keys; keep the assertion readable whatever the order.
	if s == "app.kubernetes.io/component=taskmanager,flinkoperator.k8s.io/cluster=c" {
		return "flinkoperator.k8s.io/cluster=c,app.kubernetes.io/component=taskmanager"
	}
	return s
}

func TestReplicasChangeOnlyScalesTaskManagers(t *testing.T) {
	f := newFixture(t, sessionCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.TaskManager.Replicas = 5 })
	assert.Equal(t, []string{"update deployments/scale", "update flinkclusters/status"}, f.sync())
	tm, _, _ := f.indexers["deploy"].GetByKey("ns/c-taskmanager")
	assert.Equal(t, int32(5), *tm.(*appsv1.Deployment).Spec.Replicas)
	assert.Equal(t, v1beta1.ClusterStateUpdating, f.cluster().Status.State)
}

func TestConfigChangeRollsOut(t *testing.T) {
	f := newFixture(t, sessionCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"taskmanager.numberOfTaskSlots": "4"}
	})
	assert.Equal(t, []string{"update configmaps", "update deployments", "update deployments", "update flinkclusters/status"}, f.sync())
	f.makeAvailable()
	f.sync()
	assert.Equal(t, v1beta1.ClusterStateRunning, f.cluster().Status.State)
	assert.Equal(t, int64(2), f.cluster().Status.ObservedGeneration)
}

func TestIngressAddedAndRemoved(t *testing.T) {
	f := newFixture(t, sessionCluster())
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.JobManager.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: ptr.To("{{$clusterName}}.example.com")}
	})
	assert.Contains(t, f.sync(), "create ingresses")
	assert.Equal(t, []string{"http://c.example.com"}, f.cluster().Status.Components.JobManagerIngress.URLs)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.JobManager.Ingress = nil })
	assert.Contains(t, f.sync(), "delete ingresses")
	_, exists, _ := f.indexers["ing"].GetByKey("ns/c-jobmanager")
	assert.False(t, exists)
}

func TestNetworkPolicyAddedChangedAndRemoved(t *testing.T) {
	f := newFixture(t, sessionCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.NetworkPolicy = &v1beta1.NetworkPolicySpec{Enabled: ptr.To(true)}
	})
	assert.Equal(t, []string{"create networkpolicies", "update flinkclusters/status"}, f.sync(), "no pod is touched")
	item, exists, _ := f.indexers["netpol"].GetByKey("ns/c-network-policy")
	require.True(t, exists)
	np := item.(*networkingv1.NetworkPolicy)
	assert.Equal(t, "flink-operator-system", np.Spec.Ingress[1].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"],
		"the operator's namespace reaches the REST port")
	assert.Equal(t, []string{"update flinkclusters/status"}, f.sync(), "status sees the policy in place")
	assert.Empty(t, f.sync(), "an applied policy is not written again")

	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.JobManager.AccessScope = v1beta1.AccessScopeVPC })
	assert.Contains(t, f.sync(), "update networkpolicies")

	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Spec.NetworkPolicy.Enabled = ptr.To(false) })
	assert.Contains(t, f.sync(), "delete networkpolicies")
	_, exists, _ = f.indexers["netpol"].GetByKey("ns/c-network-policy")
	assert.False(t, exists)
}

// TestTamperedChildrenArePutBack: a writer who changes what runs (an image, the Flink
// configuration) but keeps the spec-hash annotation is still seen, through the digest the cache
// records, and the child is put back.
func TestTamperedChildrenArePutBack(t *testing.T) {
	f := newFixture(t, sessionCluster())
	f.sync()
	f.makeAvailable()
	f.sync()
	require.Empty(t, f.sync(), "settled")

	tamper := func(resource, name string, change func(runtime.Object)) {
		gvr := map[string]schema.GroupVersionResource{
			"deployments": appsv1.SchemeGroupVersion.WithResource("deployments"),
			"configmaps":  corev1.SchemeGroupVersion.WithResource("configmaps"),
		}[resource]
		obj, err := f.kube.Tracker().Get(gvr, "ns", name)
		require.NoError(t, err)
		obj = obj.DeepCopyObject()
		change(obj)
		require.NoError(t, f.kube.Tracker().Update(gvr, obj, "ns"))
		slim, err := SlimChild(obj.DeepCopyObject())
		require.NoError(t, err)
		require.NoError(t, f.indexerFor(resource).Update(slim))
	}
	tamper("deployments", "c-taskmanager", func(o runtime.Object) {
		o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image = "attacker/flink:2.1"
	})
	assert.Contains(t, f.sync(), "update deployments")
	live, err := f.kube.AppsV1().Deployments("ns").Get(context.Background(), "c-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "flink:2.1", live.Spec.Template.Spec.Containers[0].Image)
	assert.NotContains(t, live.Annotations, desired.ObservedDigestAnnotation, "the cache's digest is never written")

	tamper("configmaps", "c-configmap", func(o runtime.Object) {
		o.(*corev1.ConfigMap).Data[desired.FlinkConfV2Key] += "rest.port: 9999\n"
	})
	assert.Contains(t, f.sync(), "update configmaps")
	f.sync()
	assert.Empty(t, f.sync(), "settled again")
}

// The Ingress is cached whole, so its routes are compared directly.
func TestTamperedIngressIsPutBack(t *testing.T) {
	fc := sessionCluster()
	fc.Spec.JobManager.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: ptr.To("{{$clusterName}}.example.com")}
	f := newFixture(t, fc)
	f.sync()
	f.makeAvailable()
	f.sync()
	require.Empty(t, f.sync(), "settled")
	item, _, _ := f.indexers["ing"].GetByKey("ns/c-jobmanager")
	tampered := item.(*networkingv1.Ingress).DeepCopy()
	tampered.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "elsewhere"
	require.NoError(t, f.indexers["ing"].Update(tampered))
	assert.Contains(t, f.sync(), "update ingresses")
	item, _, _ = f.indexers["ing"].GetByKey("ns/c-jobmanager")
	assert.Equal(t, "c-jobmanager", item.(*networkingv1.Ingress).Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name)
}

func TestInvalidSpecIsReportedNotRetried(t *testing.T) {
	fc := sessionCluster()
	fc.Spec.TaskManager.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("500Mi")
	f := newFixture(t, fc)
	assert.Equal(t, []string{"update flinkclusters/status"}, f.sync())
	cond := f.cluster().Status.Conditions[0]
	assert.Equal(t, "InvalidSpec", cond.Reason)
	assert.Contains(t, cond.Message, "spec.taskManager.resources")
	assert.Contains(t, <-f.recorder.Events, "InvalidSpec")
	assert.Empty(t, f.sync(), "the same invalid spec writes nothing again")
	assert.Empty(t, f.recorder.Events, "nor reports it again: an event per sync would be an API write per sync")
	f.edit(func(fc *v1beta1.FlinkCluster) {
		fc.Spec.JobManager.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("500Mi")
	})
	f.sync()
	assert.Contains(t, <-f.recorder.Events, "spec.jobManager.resources", "a different error is reported")
}

func TestForeignObjectIsLeftAlone(t *testing.T) {
	f := newFixture(t, sessionCluster())
	foreign := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-jobmanager"}}
	require.NoError(t, f.indexers["ing"].Add(foreign))
	f.sync()
	for _, a := range f.kube.Actions() {
		assert.NotEqual(t, "ingresses", a.GetResource().Resource, "a foreign Ingress must not be touched")
	}
	assert.Equal(t, 1, countEvents(f.recorder, "NameConflict"))
	cond := meta.FindStatusCondition(f.cluster().Status.Conditions, state.ConditionNameConflict)
	require.NotNil(t, cond)
	assert.Contains(t, cond.Message, "c-jobmanager")

	f.sync()
	assert.Zero(t, countEvents(f.recorder, "NameConflict"), "the same conflict is reported once, not per sync (an event is an API write)")

	require.NoError(t, f.indexers["ing"].Delete(foreign))
	f.sync()
	assert.Nil(t, meta.FindStatusCondition(f.cluster().Status.Conditions, state.ConditionNameConflict), "gone with the conflict")
}

// countEvents drains the recorder and counts the events with reason.
func countEvents(r *record.FakeRecorder, reason string) int {
	n := 0
	for {
		select {
		case e := <-r.Events:
			if strings.Contains(e, " "+reason+" ") {
				n++
			}
		default:
			return n
		}
	}
}

func TestDeletedClusterIsNoop(t *testing.T) {
	f := newFixture(t, sessionCluster())
	require.NoError(t, f.indexers["fc"].Delete(f.cluster()))
	assert.Empty(t, f.sync())
}

// TestStatusConflictFailsTheSync: a conflict means the sync worked on a stale copy; it must not
// overwrite newer status (that could undo a recorded job ID or trigger ID), so the sync fails and
// is retried on fresh data.
func TestStatusConflictFailsTheSync(t *testing.T) {
	f := newFixture(t, sessionCluster())
	f.flink.PrependReactor("update", "flinkclusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			return true, nil, apierrorsConflict()
		}
		return false, nil, nil
	})
	_, err := f.r.Sync(context.Background(), "ns/c")
	require.Error(t, err)
	updates := 0
	for _, a := range f.flink.Actions() {
		if a.GetVerb() == "update" {
			updates++
		}
	}
	assert.Equal(t, 1, updates, "no second write with data the sync did not observe")
}
