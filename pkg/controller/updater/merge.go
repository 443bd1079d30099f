package updater

import (
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The merge functions put the desired fields onto a copy of the live object, keeping what other
// controllers own there (resourceVersion, allocated IPs and node ports, their annotations).

func mergeMeta(live *metav1.ObjectMeta, want metav1.ObjectMeta) {
	live.Labels = want.Labels
	if live.Annotations == nil {
		live.Annotations = map[string]string{}
	}
	for k, v := range want.Annotations {
		live.Annotations[k] = v
	}
	live.OwnerReferences = want.OwnerReferences
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

// scaleDeployment copies the desired replicas onto the live Deployment when they differ.
func scaleDeployment(live, want *appsv1.Deployment) (*appsv1.Deployment, bool) {
	if live.Spec.Replicas != nil && want.Spec.Replicas != nil && *live.Spec.Replicas == *want.Spec.Replicas {
		return nil, false
	}
	out := live.DeepCopy()
	out.Spec.Replicas = want.Spec.Replicas
	return out, true
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
