package updater

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestMergeService(t *testing.T) {
	live := func(typ corev1.ServiceType) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "c-jobmanager", ResourceVersion: "7",
				Labels: map[string]string{"old": "label"}, Annotations: map[string]string{"cloud.example/allocated": "x", "ours": "old"}},
			Spec: corev1.ServiceSpec{Type: typ, ClusterIP: "10.96.0.9", ClusterIPs: []string{"10.96.0.9"},
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, AllocateLoadBalancerNodePorts: ptr.To(true),
				Ports: []corev1.ServicePort{{Name: "rpc", Port: 6123, NodePort: 30001}, {Name: "ui", Port: 8081, NodePort: 30002}}},
		}
	}
	want := func(typ corev1.ServiceType) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "c-jobmanager", Labels: map[string]string{"new": "label"}, Annotations: map[string]string{"ours": "new"}},
			Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "c"},
				Ports: []corev1.ServicePort{{Name: "ui", Port: 8081}, {Name: "blob", Port: 6124}}},
		}
	}
	tests := []struct {
		name      string
		from, to  corev1.ServiceType
		nodePorts []int32
		policy    corev1.ServiceExternalTrafficPolicy
		allocate  *bool
	}{
		{"NodePort stays NodePort: node ports of ports that keep their name are kept", corev1.ServiceTypeNodePort, corev1.ServiceTypeNodePort,
			[]int32{30002, 0}, corev1.ServiceExternalTrafficPolicyLocal, ptr.To(true)},
		{"LoadBalancer to ClusterIP: node ports and traffic policy cleared", corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeClusterIP,
			[]int32{0, 0}, "", nil},
		{"ClusterIP to NodePort: node ports of known names kept for the API server to reuse", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort,
			[]int32{30002, 0}, corev1.ServiceExternalTrafficPolicyLocal, ptr.To(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := live(tt.from)
			out := mergeService(l, want(tt.to))
			assert.Equal(t, tt.to, out.Spec.Type)
			assert.Equal(t, "10.96.0.9", out.Spec.ClusterIP, "the allocated cluster IP is kept")
			assert.Equal(t, []string{"10.96.0.9"}, out.Spec.ClusterIPs)
			assert.Equal(t, "7", out.ResourceVersion, "written with the live resourceVersion")
			assert.Equal(t, map[string]string{"app": "c"}, out.Spec.Selector)
			assert.Equal(t, tt.nodePorts, []int32{out.Spec.Ports[0].NodePort, out.Spec.Ports[1].NodePort})
			assert.Equal(t, tt.policy, out.Spec.ExternalTrafficPolicy)
			assert.Equal(t, tt.allocate, out.Spec.AllocateLoadBalancerNodePorts)
			assert.Equal(t, map[string]string{"new": "label"}, out.Labels, "labels are the operator's")
			assert.Equal(t, map[string]string{"cloud.example/allocated": "x", "ours": "new", ManagedAnnotationsKey: "ours"}, out.Annotations,
				"the operator's annotations are set and listed; other writers' annotations are kept")
			assert.Equal(t, tt.from, l.Spec.Type, "the cache's object is never modified")
			assert.Equal(t, int32(30001), l.Spec.Ports[0].NodePort)
		})
	}
}

func TestMergeKeepsTheLiveObjectIntact(t *testing.T) {
	live := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{"a": "1"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}}
	want := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{"b": "2"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}}
	out := mergeDeployment(live, want)
	assert.Equal(t, int32(3), *out.Spec.Replicas, "the spec is the desired one")
	assert.Equal(t, map[string]string{"a": "1", "b": "2", ManagedAnnotationsKey: "b"}, out.Annotations)
	assert.Equal(t, map[string]string{"a": "1"}, live.Annotations, "the cache's object is never modified")
	assert.Equal(t, int32(2), *live.Spec.Replicas)

	cm := mergeConfigMap(&corev1.ConfigMap{Data: map[string]string{"old": "x"}}, &corev1.ConfigMap{Data: map[string]string{"new": "y"}})
	assert.Equal(t, map[string]string{"new": "y"}, cm.Data, "the operator owns the whole data")
}

func TestAnnotationsTheSpecNoLongerHasAreRemoved(t *testing.T) {
	live := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		"lb.example/internal": "true", "lb.example/idle-timeout": "60", "cloud.example/allocated": "x",
		ManagedAnnotationsKey: "lb.example/idle-timeout,lb.example/internal"}}}
	want := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"lb.example/internal": "true"}}}
	out := mergeService(live, want)
	assert.Equal(t, map[string]string{"lb.example/internal": "true", "cloud.example/allocated": "x",
		ManagedAnnotationsKey: "lb.example/internal"}, out.Annotations,
		"the operator's removed annotation goes; another writer's stays")

	created := withManagedAnnotations(want)
	assert.Equal(t, "lb.example/internal", created.Annotations[ManagedAnnotationsKey], "a created child lists its keys too")
	assert.NotContains(t, want.Annotations, ManagedAnnotationsKey, "the desired object is not modified")
}
