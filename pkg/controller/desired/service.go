package desired

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// internalLoadBalancerAnnotations make a LoadBalancer Service internal (reachable inside the VPC
// only) on the major clouds; each cloud ignores the others' annotations.
var internalLoadBalancerAnnotations = map[string]string{
	"networking.gke.io/load-balancer-type":                    "Internal",
	"cloud.google.com/load-balancer-type":                     "Internal",
	"service.beta.kubernetes.io/aws-load-balancer-internal":   "true",
	"service.beta.kubernetes.io/azure-load-balancer-internal": "true",
	"service.beta.kubernetes.io/oci-load-balancer-internal":   "true",
}

// jobManagerService exposes the JobManager's rpc, blob, query and ui ports and its extraPorts;
// its type follows accessScope.
func jobManagerService(fc *v1beta1.FlinkCluster) *corev1.Service {
	jm := fc.Spec.JobManager
	svc := &corev1.Service{
		ObjectMeta: objectMeta(fc, names.JobManagerService(fc.Name), names.ComponentJobManager),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: names.SelectorLabels(fc.Name, names.ComponentJobManager),
			Ports: []corev1.ServicePort{
				servicePort("rpc", jm.Ports.RPC, 6123),
				servicePort("blob", jm.Ports.Blob, 6124),
				servicePort("query", jm.Ports.Query, 6125),
				servicePort("ui", jm.Ports.UI, 8081),
			},
		},
	}
	for _, p := range jm.ExtraPorts {
		svc.Spec.Ports = append(svc.Spec.Ports, extraServicePort(p))
	}
	svc.Labels = mergeLabels(jm.ServiceLabels, svc.Labels)
	svc.Annotations = copyMap(jm.ServiceAnnotations)
	switch jm.AccessScope {
	case v1beta1.AccessScopeVPC:
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		for k, v := range internalLoadBalancerAnnotations {
			if _, set := svc.Annotations[k]; !set {
				svc.Annotations[k] = v
			}
		}
	case v1beta1.AccessScopeExternal:
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	case v1beta1.AccessScopeNodePort:
		svc.Spec.Type = corev1.ServiceTypeNodePort
	case v1beta1.AccessScopeHeadless:
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return svc
}

// extraServicePort exposes an extra port; a Service with several ports needs a name for each,
// so an unnamed one is called port-NUMBER (with the protocol when it is not TCP) and targets the
// container port by number.
func extraServicePort(p v1beta1.NamedPort) corev1.ServicePort {
	sp := corev1.ServicePort{Name: p.Name, Port: p.ContainerPort, Protocol: protocol(p)}
	if p.Name != "" {
		sp.TargetPort = intstr.FromString(p.Name)
		return sp
	}
	sp.Name = fmt.Sprintf("port-%d", p.ContainerPort)
	if sp.Protocol != corev1.ProtocolTCP {
		sp.Name += "-" + strings.ToLower(string(sp.Protocol))
	}
	sp.TargetPort = intstr.FromInt32(p.ContainerPort)
	return sp
}

func servicePort(name string, p *int32, def int32) corev1.ServicePort {
	port := deref(p, def)
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromString(name), Protocol: corev1.ProtocolTCP}
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ServiceRedirected says how the live JobManager Service was changed to send traffic elsewhere
// than to this cluster's JobManager ("" when it was not). It checks only what the operator never
// changes for a cluster, whatever its spec (a held spec change must not look like tampering): the
// selector, an ExternalName, and the REST port reaching the container port named "ui". The
// operator makes no REST call through such a Service and puts it back.
func ServiceRedirected(fc *v1beta1.FlinkCluster, live *corev1.Service) string {
	want := names.SelectorLabels(fc.Name, names.ComponentJobManager)
	switch {
	case live.Spec.Type == corev1.ServiceTypeExternalName || live.Spec.ExternalName != "":
		return fmt.Sprintf("the Service was made an ExternalName (%q)", live.Spec.ExternalName)
	case !labels.Equals(live.Spec.Selector, want):
		return fmt.Sprintf("the Service's selector was changed to %v", live.Spec.Selector)
	}
	for _, p := range live.Spec.Ports {
		if p.Name == "ui" {
			if p.TargetPort != intstr.FromString("ui") {
				return fmt.Sprintf("the Service's ui port was pointed at %s", p.TargetPort.String())
			}
			return ""
		}
	}
	return "the Service has no ui port"
}
