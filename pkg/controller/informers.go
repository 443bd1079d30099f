package controller

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	fclisters "github.com/flink-operator/flink-operator/pkg/generated/listers/flinkoperator/v1beta1"
)

// Informers are the shared informers the operator watches: FlinkClusters and every kind of child
// object. Child informers see only objects carrying the operator's managed-by label.
type Informers struct {
	all []cache.SharedIndexInformer
	// running counts the informers' goroutines, for Shutdown.
	running sync.WaitGroup

	FlinkClusters cache.SharedIndexInformer
	Deployments   cache.SharedIndexInformer
	Services      cache.SharedIndexInformer
	Ingresses     cache.SharedIndexInformer
	ConfigMaps    cache.SharedIndexInformer
	Jobs          cache.SharedIndexInformer
	// NetworkPolicies are the FlinkClusters' NetworkPolicies (spec.networkPolicy).
	NetworkPolicies cache.SharedIndexInformer
	// PodDisruptionBudgets and Autoscalers (spec.podDisruptionBudget,
	// taskManager.horizontalPodAutoscaler) change status on their own; only their metadata and
	// spec concern the operator (quietChildren).
	PodDisruptionBudgets cache.SharedIndexInformer
	Autoscalers          cache.SharedIndexInformer
	// EndpointSlices are the EndpointSlices no Kubernetes controller manages; a JobManager
	// Service with one of them is not called (snapshot.ForeignEndpoints).
	EndpointSlices cache.SharedIndexInformer
}

// NewInformers builds the informers for one namespace, or for all namespaces when namespace is
// metav1.NamespaceAll, and for one shard (shard.Selector; "" watches every FlinkCluster). No
// periodic resync: the operator requeues what needs polling itself, so an idle cluster costs no
// work. They are built from the typed clients directly rather than by client-go's informer
// factory, which links the informers of every API group (package clients says why that matters).
func NewInformers(kube clients.Kube, flink clients.Flink, namespace, shardName string) *Informers {
	children := names.ManagedSelector().String()
	clusters := ""
	if s := shard.Selector(shardName); s != nil {
		children += "," + s.String()
		clusters = s.String()
	}
	core, networking := kube.CoreV1(), kube.NetworkingV1()
	i := &Informers{
		FlinkClusters:        newInformer(flink, flink.FlinkoperatorV1beta1().FlinkClusters(namespace), &v1beta1.FlinkCluster{}, clusters, SlimFlinkCluster),
		Deployments:          newInformer(kube, kube.AppsV1().Deployments(namespace), &appsv1.Deployment{}, children, SlimChild),
		Services:             newInformer(kube, core.Services(namespace), &corev1.Service{}, children, SlimChild),
		Ingresses:            newInformer(kube, networking.Ingresses(namespace), &networkingv1.Ingress{}, children, SlimChild),
		ConfigMaps:           newInformer(kube, core.ConfigMaps(namespace), &corev1.ConfigMap{}, children, SlimChild),
		Jobs:                 newInformer(kube, kube.BatchV1().Jobs(namespace), &batchv1.Job{}, children, SlimChild),
		NetworkPolicies:      newInformer(kube, networking.NetworkPolicies(namespace), &networkingv1.NetworkPolicy{}, children, SlimChild),
		PodDisruptionBudgets: newInformer(kube, kube.PolicyV1().PodDisruptionBudgets(namespace), &policyv1.PodDisruptionBudget{}, children, SlimChild),
		Autoscalers:          newInformer(kube, kube.AutoscalingV2().HorizontalPodAutoscalers(namespace), &autoscalingv2.HorizontalPodAutoscaler{}, children, SlimChild),
		EndpointSlices:       newInformer(kube, kube.DiscoveryV1().EndpointSlices(namespace), &discoveryv1.EndpointSlice{}, observer.ForeignEndpointsSelector, stripManagedFields),
	}
	i.all = append([]cache.SharedIndexInformer{i.FlinkClusters, i.EndpointSlices}, append(i.children(), i.quietChildren()...)...)
	return i
}

// listWatcher is what a typed client of one resource offers an informer.
type listWatcher[L runtime.Object] interface {
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// newInformer builds an informer over resource, restricted to selector, with a namespace index
// for the listers. client is the clientset resource came from: a fake one tells the reflector it
// cannot stream the initial list.
func newInformer[L runtime.Object](client any, resource listWatcher[L], example runtime.Object, selector string, transform cache.TransformFunc) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = selector
			return resource.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = selector
			return resource.Watch(ctx, opts)
		},
	}
	informer := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), example,
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}})
	if err := informer.SetTransform(transform); err != nil {
		panic(err) // only possible once the informer has started
	}
	return informer
}

// Listers returns listers over the informers' caches.
func (i *Informers) Listers() observer.Listers {
	return observer.Listers{
		FlinkClusters:        fclisters.NewFlinkClusterLister(i.FlinkClusters.GetIndexer()),
		Deployments:          appslisters.NewDeploymentLister(i.Deployments.GetIndexer()),
		Services:             corelisters.NewServiceLister(i.Services.GetIndexer()),
		Ingresses:            networkinglisters.NewIngressLister(i.Ingresses.GetIndexer()),
		ConfigMaps:           corelisters.NewConfigMapLister(i.ConfigMaps.GetIndexer()),
		Jobs:                 batchlisters.NewJobLister(i.Jobs.GetIndexer()),
		NetworkPolicies:      networkinglisters.NewNetworkPolicyLister(i.NetworkPolicies.GetIndexer()),
		PodDisruptionBudgets: policylisters.NewPodDisruptionBudgetLister(i.PodDisruptionBudgets.GetIndexer()),
		Autoscalers:          autoscalinglisters.NewHorizontalPodAutoscalerLister(i.Autoscalers.GetIndexer()),
		EndpointSlices:       discoverylisters.NewEndpointSliceLister(i.EndpointSlices.GetIndexer()),
	}
}

// ChildCaches are the caches of every kind of child, by resource: a shard taking a cluster over
// waits for them to hold its children.
func (i *Informers) ChildCaches() map[schema.GroupVersionResource]cache.Indexer {
	return map[schema.GroupVersionResource]cache.Indexer{
		appsv1.SchemeGroupVersion.WithResource("deployments"):                     i.Deployments.GetIndexer(),
		corev1.SchemeGroupVersion.WithResource("services"):                        i.Services.GetIndexer(),
		corev1.SchemeGroupVersion.WithResource("configmaps"):                      i.ConfigMaps.GetIndexer(),
		networkingv1.SchemeGroupVersion.WithResource("ingresses"):                 i.Ingresses.GetIndexer(),
		networkingv1.SchemeGroupVersion.WithResource("networkpolicies"):           i.NetworkPolicies.GetIndexer(),
		batchv1.SchemeGroupVersion.WithResource("jobs"):                           i.Jobs.GetIndexer(),
		policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets"):          i.PodDisruptionBudgets.GetIndexer(),
		autoscalingv2.SchemeGroupVersion.WithResource("horizontalpodautoscalers"): i.Autoscalers.GetIndexer(),
	}
}

// children lists the child informers, whose events enqueue the owning FlinkCluster.
func (i *Informers) children() []cache.SharedIndexInformer {
	return []cache.SharedIndexInformer{i.Deployments, i.Services, i.Ingresses, i.ConfigMaps, i.Jobs, i.NetworkPolicies}
}

// quietChildren lists the child informers whose updates enqueue the owner only when the object's
// metadata or spec changed: their controllers rewrite their status on their own schedule (an
// autoscaler every time a metric moves), which must not cost a sync each.
func (i *Informers) quietChildren() []cache.SharedIndexInformer {
	return []cache.SharedIndexInformer{i.PodDisruptionBudgets, i.Autoscalers}
}

// SpecOrMetadataChanged reports whether an update changed more than an object's status (and its
// resourceVersion): its generation, labels, annotations, owners or deletion.
func SpecOrMetadataChanged(old, cur metav1.Object) bool {
	return old.GetGeneration() != cur.GetGeneration() ||
		!reflect.DeepEqual(old.GetLabels(), cur.GetLabels()) ||
		!reflect.DeepEqual(old.GetAnnotations(), cur.GetAnnotations()) ||
		!reflect.DeepEqual(old.GetOwnerReferences(), cur.GetOwnerReferences()) ||
		!reflect.DeepEqual(old.GetFinalizers(), cur.GetFinalizers()) ||
		(old.GetDeletionTimestamp() == nil) != (cur.GetDeletionTimestamp() == nil)
}

// Start starts every informer; they stop when ctx is done.
func (i *Informers) Start(ctx context.Context) {
	for _, informer := range i.all {
		i.running.Go(func() { informer.RunWithContext(ctx) })
	}
}

// WaitForSync blocks until every cache has synced, or fails when ctx ends or timeout passes.
func (i *Informers) WaitForSync(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var synced []cache.InformerSynced
	for _, informer := range i.all {
		synced = append(synced, informer.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("informer caches did not sync within %s: check the API server and the operator's RBAC", timeout)
	}
	return nil
}

// Shutdown waits for the informers' goroutines to end after their context was cancelled.
func (i *Informers) Shutdown() {
	i.running.Wait()
}

// lastAppliedAnnotation is where `kubectl apply` keeps the whole manifest it applied, a second
// copy of the spec as JSON.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// SlimFlinkCluster is the cache transform of FlinkClusters: it drops managedFields and the copy of
// the manifest `kubectl apply` keeps in an annotation, which together are often as large as the
// rest of the object, and which the sync never reads. Nothing is written back from the cached
// copy that could lose them: status goes to the status subresource, which ignores metadata, and
// metadata changes are merge patches.
func SlimFlinkCluster(obj interface{}) (interface{}, error) {
	if fc, ok := obj.(*v1beta1.FlinkCluster); ok {
		if _, found := fc.Annotations[lastAppliedAnnotation]; found {
			annotations := make(map[string]string, len(fc.Annotations)-1)
			for k, v := range fc.Annotations {
				if k != lastAppliedAnnotation {
					annotations[k] = v
				}
			}
			fc.Annotations = annotations
		}
	}
	return stripManagedFields(obj)
}

// stripManagedFields drops managedFields before objects enter the caches: the operator never
// reads them and they are often the largest part of an object.
func stripManagedFields(obj interface{}) (interface{}, error) {
	if accessor, err := meta.Accessor(obj); err == nil {
		accessor.SetManagedFields(nil)
	}
	return obj, nil
}

// SlimChild is the cache transform of the children: besides managedFields it drops the pod
// templates of Deployments and Jobs and the data of ConfigMaps, the bulk of a cached child and
// most of the operator's memory at a thousand clusters. The operator never reads them: it tells
// whether a child drifted by its spec-hash annotation, an update replaces the whole spec or data,
// and scaling goes through the scale subresource. Exported for the sync tests, whose fake caches
// must hold what the real ones hold.
func SlimChild(obj interface{}) (interface{}, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		recordDigest(o)
		o.Spec.Template = corev1.PodTemplateSpec{}
	case *batchv1.Job:
		o.Spec.Template = corev1.PodTemplateSpec{}
	case *corev1.ConfigMap:
		recordDigest(o)
		o.Data, o.BinaryData = nil, nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	case *policyv1.PodDisruptionBudget:
		o.Status = policyv1.PodDisruptionBudgetStatus{}
	}
	return stripManagedFields(obj)
}

// recordDigest keeps, in the cached copy's annotations, the digest of what the slimming drops
// (desired.Digest), so drift is seen even when a writer kept the spec-hash annotation.
// A cached object seen again already carries it, and its dropped parts are gone: it is kept.
func recordDigest(obj metav1.Object) {
	if _, done := obj.GetAnnotations()[desired.ObservedDigestAnnotation]; done {
		return
	}
	annotations := make(map[string]string, len(obj.GetAnnotations())+1)
	for k, v := range obj.GetAnnotations() {
		annotations[k] = v
	}
	annotations[desired.ObservedDigestAnnotation] = desired.Digest(obj)
	obj.SetAnnotations(annotations)
}
