package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

var operatorEnv = Env{OperatorNamespace: "flink-operator-system"}

// withNetworkPolicy enables the NetworkPolicy with an ingress controller and a metrics scraper
// as extra peers.
func withNetworkPolicy(fc *v1beta1.FlinkCluster) *v1beta1.FlinkCluster {
	fc.Spec.NetworkPolicy = &v1beta1.NetworkPolicySpec{
		Enabled: ptr.To(true),
		RESTFrom: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}}}},
		ExtraPortsFrom: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}},
	}
	return fc
}

func TestNetworkPolicyGolden(t *testing.T) {
	fc := withNetworkPolicy(compat()) // NodePort, an ingress, metrics extraPorts
	c, err := Build(fc, operatorEnv)
	require.NoError(t, err)
	require.NotNil(t, c.NetworkPolicy)
	assertGolden(t, "network-policy", []interface{}{c.NetworkPolicy})
}

func TestNetworkPolicyIsOffUnlessEnabled(t *testing.T) {
	for name, np := range map[string]*v1beta1.NetworkPolicySpec{
		"absent": nil, "enabled absent": {}, "enabled false": {Enabled: ptr.To(false)},
	} {
		fc := base()
		fc.Spec.NetworkPolicy = np
		c, err := Build(fc, operatorEnv)
		require.NoError(t, err)
		assert.Nil(t, c.NetworkPolicy, name)
	}
}

// rulePorts maps each ingress rule's first port (or "all") to its peers' count (0: any source).
func rulePorts(np *networkingv1.NetworkPolicy) map[string]int {
	out := map[string]int{}
	for _, r := range np.Spec.Ingress {
		port := "all"
		if len(r.Ports) > 0 {
			port = r.Ports[0].Port.String()
		}
		out[port] += len(r.From)
		if len(r.From) == 0 {
			out[port+" from anywhere"]++
		}
	}
	return out
}

func TestNetworkPolicyRules(t *testing.T) {
	cases := []struct {
		name  string
		scope v1beta1.AccessScope
		env   Env
		want  map[string]int
	}{
		{"Cluster scope", v1beta1.AccessScopeCluster, operatorEnv, map[string]int{"all": 1, "ui": 2}},
		{"Headless scope", v1beta1.AccessScopeHeadless, operatorEnv, map[string]int{"all": 1, "ui": 2}},
		{"load balancer", v1beta1.AccessScopeExternal, operatorEnv, map[string]int{"all": 1, "ui": 2, "ui from anywhere": 1}},
		{"node port", v1beta1.AccessScopeNodePort, operatorEnv, map[string]int{"all": 1, "ui": 2, "ui from anywhere": 1}},
		{"operator outside the cluster", v1beta1.AccessScopeCluster, Env{}, map[string]int{"all": 1, "ui": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := withNetworkPolicy(session())
			fc.Spec.JobManager.AccessScope = tc.scope
			c, err := Build(fc, tc.env)
			require.NoError(t, err)
			assert.Equal(t, tc.want, rulePorts(c.NetworkPolicy), "no extraPorts: extraPortsFrom adds no rule")
			assert.Equal(t, map[string]string{"flinkoperator.k8s.io/cluster": fc.Name}, c.NetworkPolicy.Spec.PodSelector.MatchLabels)
			assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, c.NetworkPolicy.Spec.PolicyTypes, "egress stays open")
		})
	}
}

func TestNetworkPolicyExtraPortsOnce(t *testing.T) {
	fc := withNetworkPolicy(session())
	prom := v1beta1.NamedPort{Name: "prom", ContainerPort: 9249, Protocol: corev1.ProtocolTCP}
	fc.Spec.JobManager.ExtraPorts = []v1beta1.NamedPort{prom, {Name: "statsd", ContainerPort: 8125, Protocol: corev1.ProtocolUDP}}
	fc.Spec.TaskManager.ExtraPorts = []v1beta1.NamedPort{prom}
	c, err := Build(fc, operatorEnv)
	require.NoError(t, err)
	last := c.NetworkPolicy.Spec.Ingress[len(c.NetworkPolicy.Spec.Ingress)-1]
	require.Len(t, last.Ports, 2, "9249/TCP once, 8125/UDP")
	assert.Equal(t, corev1.ProtocolUDP, *last.Ports[1].Protocol)
	assert.Equal(t, fc.Spec.NetworkPolicy.ExtraPortsFrom, last.From)
}

// A NetworkPolicy change does not restart the job: the field is not in the job's revision.
func TestNetworkPolicyIsNotInTheJobRevision(t *testing.T) {
	plain := base()
	assert.Equal(t, JobRevision(plain), JobRevision(withNetworkPolicy(base())))
}
