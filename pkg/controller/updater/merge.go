package updater

import (
	"context"
	"reflect"
	"sort"
	"strings"

	appsv1client "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/apps/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// The merge functions put the desired fields onto a copy of the live object, keeping what other
// controllers own there (resourceVersion, allocated IPs and node ports, their annotations).

// ManagedAnnotationsKey lists, on each child, the annotation keys the operator set there: a key
// the spec no longer has (a removed spec.jobManager.ServiceAnnotations entry, say) is removed on
// the next update, and keys other writers set are kept. Children written before this key existed
// lose nothing: the operator then knows no key of its own to remove.
const ManagedAnnotationsKey = "flinkoperator.k8s.io/managed-annotations"

func mergeMeta(live *metav1.ObjectMeta, want metav1.ObjectMeta) {
	live.Labels = want.Labels
	if live.Annotations == nil {
		live.Annotations = map[string]string{}
	}
	delete(live.Annotations, desired.ObservedDigestAnnotation) // the cache's, never the API server's
	for _, k := range strings.Split(live.Annotations[ManagedAnnotationsKey], ",") {
		if _, wanted := want.Annotations[k]; k != "" && !wanted {
			delete(live.Annotations, k)
		}
	}
	for k, v := range want.Annotations {
		live.Annotations[k] = v
	}
	live.Annotations[ManagedAnnotationsKey] = managedAnnotations(want.Annotations)
	live.OwnerReferences = want.OwnerReferences
}

// labelForShard sets obj's shard.Label to the shard that acts on fc, or removes it for the
// operator without --shard: a sharded operator's informers select children by it. It is not part
// of the spec hash, so a cluster that moves to another shard keeps its children as they are (the
// new shard relabels them); obj's labels are copied, never changed in place.
func labelForShard[T metav1.Object](obj T, fc *v1beta1.FlinkCluster) T {
	if owner := fc.Labels[shard.OwnerLabel]; !shard.Labelled(obj.GetLabels(), owner) {
		obj.SetLabels(shard.WithLabel(obj.GetLabels(), owner))
	}
	return obj
}

// labelledForShard reports whether obj carries the shard label of the shard acting on fc.
func labelledForShard(obj metav1.Object, fc *v1beta1.FlinkCluster) bool {
	return shard.Labelled(obj.GetLabels(), fc.Labels[shard.OwnerLabel])
}

// managedAnnotations is the sorted, comma-separated list of the keys (annotation keys cannot hold
// a comma).
func managedAnnotations(annotations map[string]string) string {
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// withManagedAnnotations is want as it is created: a copy that lists its annotation keys.
func withManagedAnnotations[T metav1.Object](want T) T {
	out := any(want).(runtime.Object).DeepCopyObject().(T)
	annotations := map[string]string{}
	for k, v := range want.GetAnnotations() {
		annotations[k] = v
	}
	annotations[ManagedAnnotationsKey] = managedAnnotations(want.GetAnnotations())
	out.SetAnnotations(annotations)
	return out
}

func mergeConfigMap(live, want *corev1.ConfigMap) *corev1.ConfigMap {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	out.Data = want.Data
	out.BinaryData = want.BinaryData
	return out
}

func mergeDeployment(live, want *appsv1.Deployment) *appsv1.Deployment {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	out.Spec = want.Spec
	return out
}

// scaleDeployment plans writing the desired replicas through the scale subresource when they
// differ: the cached Deployment has no pod template (see controller.SlimChild), so it cannot be
// written back whole. The live resourceVersion makes a stale cache fail with a conflict, as
// updates do.
func scaleDeployment(deployments appsv1client.DeploymentInterface) scaler[*appsv1.Deployment] {
	return func(live, want *appsv1.Deployment) func(ctx context.Context) error {
		replicas := ptr.Deref(want.Spec.Replicas, 1)
		if ptr.Deref(live.Spec.Replicas, 1) == replicas {
			return nil
		}
		scale := &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: live.Name, Namespace: live.Namespace, ResourceVersion: live.ResourceVersion},
			Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
		}
		return func(ctx context.Context) error {
			_, err := deployments.UpdateScale(ctx, live.Name, scale, metav1.UpdateOptions{})
			return err
		}
	}
}

func mergeNetworkPolicy(live, want *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	out.Spec = want.Spec
	return out
}

// mergeDisruptionBudget and mergeAutoscaler replace the spec; the cache's copy has no status,
// which an update of the object (not of its status subresource) leaves as it is.
func mergeDisruptionBudget(live, want *policyv1.PodDisruptionBudget) *policyv1.PodDisruptionBudget {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	out.Spec = want.Spec
	return out
}

func mergeAutoscaler(live, want *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	out.Spec = want.Spec
	return out
}

func mergeIngress(live, want *networkingv1.Ingress) *networkingv1.Ingress {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	out.Spec = want.Spec
	return out
}

// mergeService keeps the allocated cluster IPs, and the node ports of ports that keep their
// name, unless the new type has no node ports.
func mergeService(live, want *corev1.Service) *corev1.Service {
	out := live.DeepCopy()
	mergeMeta(&out.ObjectMeta, want.ObjectMeta)
	nodePorts := map[string]int32{}
	for _, p := range live.Spec.Ports {
		nodePorts[p.Name] = p.NodePort
	}
	out.Spec.Type = want.Spec.Type
	out.Spec.Selector = want.Spec.Selector
	out.Spec.Ports = make([]corev1.ServicePort, len(want.Spec.Ports))
	for i, p := range want.Spec.Ports {
		if want.Spec.Type != corev1.ServiceTypeClusterIP {
			p.NodePort = nodePorts[p.Name]
		}
		out.Spec.Ports[i] = p
	}
	if want.Spec.Type == corev1.ServiceTypeClusterIP {
		out.Spec.ExternalTrafficPolicy = ""
		out.Spec.AllocateLoadBalancerNodePorts = nil
	}
	return out
}

// isNil is true for a nil interface and for a typed nil pointer inside one.
func isNil(v interface{}) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Ptr && rv.IsNil()
}
