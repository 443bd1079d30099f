package desired

import (
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// clusterNamePlaceholder in hostFormat is replaced by the FlinkCluster's name.
const clusterNamePlaceholder = "{{$clusterName}}"

// IngressHost expands hostFormat for a cluster ("" when the ingress has no hostFormat).
func IngressHost(fc *v1beta1.FlinkCluster) string {
	ing := fc.Spec.JobManager.Ingress
	if ing == nil || ing.HostFormat == nil {
		return ""
	}
	return strings.ReplaceAll(*ing.HostFormat, clusterNamePlaceholder, fc.Name)
}

// IngressURLs are the URLs of the JobManager UI through the Ingress, as status reports them.
func IngressURLs(fc *v1beta1.FlinkCluster) []string {
	if fc.Spec.JobManager.Ingress == nil {
		return nil
	}
	host := IngressHost(fc)
	if host == "" {
		return nil
	}
	scheme := "http"
	if fc.Spec.JobManager.Ingress.TLSEnabled() {
		scheme = "https"
	}
	return []string{scheme + "://" + host}
}

// jobManagerIngress routes the host (or every host) to the JobManager Service's ui port.
func jobManagerIngress(fc *v1beta1.FlinkCluster) *networkingv1.Ingress {
	spec := fc.Spec.JobManager.Ingress
	if spec == nil {
		return nil
	}
	host := IngressHost(fc)
	pathType := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: objectMeta(fc, names.JobManagerIngress(fc.Name), names.ComponentJobManager),
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path:     "/",
					PathType: &pathType,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: names.JobManagerService(fc.Name),
						Port: networkingv1.ServiceBackendPort{Name: "ui"},
					}},
				}},
			}},
		}}},
	}
	ing.Annotations = copyMap(spec.Annotations)
	ing.Spec.IngressClassName = spec.IngressClassName
	if spec.TLSEnabled() {
		tls := networkingv1.IngressTLS{SecretName: deref(spec.TLSSecretName, "")}
		if host != "" {
			tls.Hosts = []string{host}
		}
		ing.Spec.TLS = []networkingv1.IngressTLS{tls}
	}
	return ing
}
