package controller

import (
	"context"
	"fmt"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
	fcinformers "github.com/flink-operator/flink-operator/pkg/generated/informers/externalversions"
	fclisters "github.com/flink-operator/flink-operator/pkg/generated/listers/flinkoperator/v1beta1"
)

// Informers are the shared informers the operator watches: FlinkClusters and every kind of child
// object. Child informers see only objects carrying the operator's managed-by label.
type Informers struct {
	kube  kubeinformers.SharedInformerFactory
	flink fcinformers.SharedInformerFactory
	// slices watches only hand-made EndpointSlices (observer.ForeignEndpointsSelector).
	slices kubeinformers.SharedInformerFactory

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
// work.
func NewInformers(kube kubernetes.Interface, flink versioned.Interface, namespace, shardName string) *Informers {
	selector := names.ManagedSelector().String()
	flinkOptions := []fcinformers.SharedInformerOption{fcinformers.WithNamespace(namespace), fcinformers.WithTransform(stripManagedFields)}
	if s := shard.Selector(shardName); s != nil {
		selector += "," + s.String()
		flinkOptions = append(flinkOptions, fcinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = s.String() }))
	}
	kubeFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0,
		kubeinformers.WithNamespace(namespace),
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }),
		kubeinformers.WithTransform(SlimChild))
	flinkFactory := fcinformers.NewSharedInformerFactoryWithOptions(flink, 0, flinkOptions...)

	slicesFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0,
		kubeinformers.WithNamespace(namespace),
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = observer.ForeignEndpointsSelector }),
		kubeinformers.WithTransform(stripManagedFields))

	return &Informers{
		kube:                 kubeFactory,
		slices:               slicesFactory,
		EndpointSlices:       slicesFactory.Discovery().V1().EndpointSlices().Informer(),
		flink:                flinkFactory,
		FlinkClusters:        flinkFactory.Flinkoperator().V1beta1().FlinkClusters().Informer(),
		Deployments:          kubeFactory.Apps().V1().Deployments().Informer(),
		Services:             kubeFactory.Core().V1().Services().Informer(),
		Ingresses:            kubeFactory.Networking().V1().Ingresses().Informer(),
		ConfigMaps:           kubeFactory.Core().V1().ConfigMaps().Informer(),
		Jobs:                 kubeFactory.Batch().V1().Jobs().Informer(),
		NetworkPolicies:      kubeFactory.Networking().V1().NetworkPolicies().Informer(),
		PodDisruptionBudgets: kubeFactory.Policy().V1().PodDisruptionBudgets().Informer(),
		Autoscalers:          kubeFactory.Autoscaling().V2().HorizontalPodAutoscalers().Informer(),
	}
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
	i.kube.StartWithContext(ctx)
	i.flink.StartWithContext(ctx)
	i.slices.StartWithContext(ctx)
}

// WaitForSync blocks until every cache has synced, or fails when ctx ends or timeout passes.
func (i *Informers) WaitForSync(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	synced := []cache.InformerSynced{i.FlinkClusters.HasSynced, i.EndpointSlices.HasSynced}
	for _, inf := range append(i.children(), i.quietChildren()...) {
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("informer caches did not sync within %s: check the API server and the operator's RBAC", timeout)
	}
	return nil
}

// Shutdown waits for the informers' goroutines to end after their context was cancelled.
func (i *Informers) Shutdown() {
	i.kube.Shutdown()
	i.flink.Shutdown()
}

// stripManagedFields drops managedFields before objects enter the caches: the operator never
// reads them and they are often the largest part of an object. FlinkClusters keep everything
// else: the operator writes them back whole (finalizers), so nothing else may be lost.
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
