package desired

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Env is what the builders need to know about where the operator runs.
type Env struct {
	// OperatorNamespace is the operator's own namespace, whose pods call the JobManagers' REST
	// APIs; "" when the operator runs outside the cluster (then no peer admits it).
	OperatorNamespace string
	// CheckpointRecordInterval is how often the operator records a running job's latest
	// checkpoint (its --checkpoint-record-interval); 0 means DefaultCheckpointRecordInterval.
	// Jobs that resume from the latest state retain enough checkpoints to outlive it.
	CheckpointRecordInterval time.Duration
	// JarFetcherImage is the operator's own image, which fetches an http(s) jarFile
	// (--jar-fetcher-image); "" when not set, and then such a jarFile is an invalid spec.
	JarFetcherImage string
}

func (e Env) recordInterval() time.Duration {
	if e.CheckpointRecordInterval <= 0 {
		return DefaultCheckpointRecordInterval
	}
	return e.CheckpointRecordInterval
}

// namespaceNameLabel is the label the API server sets on every namespace to its name; unlike
// other namespace labels, nobody can set it to something else.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// networkPolicy admits ingress to the cluster's pods from the cluster's own pods on every port,
// and on the JobManager's REST port from the operator's namespace, from restFrom, and from
// anywhere when the accessScope publishes it through a load balancer or node port (their traffic
// comes from node and client addresses no selector can name). Egress is not restricted.
func networkPolicy(fc *v1beta1.FlinkCluster, env Env) *networkingv1.NetworkPolicy {
	if !fc.Spec.NetworkPolicyEnabled() {
		return nil
	}
	spec := fc.Spec.NetworkPolicy
	own := metav1.LabelSelector{MatchLabels: map[string]string{names.LabelCluster: fc.Name}}
	rest := []networkingv1.NetworkPolicyPort{tcpPort(intstr.FromString("ui"))}
	rules := []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &own}}}}
	if env.OperatorNamespace != "" {
		operator := metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: env.OperatorNamespace}}
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: rest, From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &operator}}})
	}
	if len(spec.RESTFrom) > 0 {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: rest, From: spec.RESTFrom})
	}
	if publishedOutside(fc.Spec.JobManager.AccessScope) {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: rest})
	}
	if extra := extraPolicyPorts(fc); len(extra) > 0 && len(spec.ExtraPortsFrom) > 0 {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: extra, From: spec.ExtraPortsFrom})
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: objectMeta(fc, names.NetworkPolicy(fc.Name), names.ComponentJobManager),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: own,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
	delete(np.Labels, names.LabelComponent) // it covers every component
	return np
}

// publishedOutside reports whether the accessScope exposes the REST port beyond the cluster's
// pod network (a load balancer or a node port).
func publishedOutside(scope v1beta1.AccessScope) bool {
	switch scope {
	case v1beta1.AccessScopeVPC, v1beta1.AccessScopeExternal, v1beta1.AccessScopeNodePort:
		return true
	}
	return false
}

// extraPolicyPorts are the extraPorts of the JobManager and TaskManagers, each once.
func extraPolicyPorts(fc *v1beta1.FlinkCluster) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	seen := map[corev1.ContainerPort]bool{}
	for _, p := range extraContainerPorts(append(append([]v1beta1.NamedPort{}, fc.Spec.JobManager.ExtraPorts...), fc.Spec.TaskManager.ExtraPorts...)) {
		key := corev1.ContainerPort{ContainerPort: p.ContainerPort, Protocol: p.Protocol}
		if seen[key] {
			continue
		}
		seen[key] = true
		proto := p.Protocol
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: ptrTo(intstr.FromInt32(p.ContainerPort))})
	}
	return out
}

func tcpPort(port intstr.IntOrString) networkingv1.NetworkPolicyPort {
	proto := corev1.ProtocolTCP
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
}
