package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

// TestSlimChild: the caches keep what the sync reads (metadata with the spec hash, replicas,
// status, a Service's ports) and drop pod templates, ConfigMap data and managedFields.
func TestSlimChild(t *testing.T) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "c", Namespace: "ns", ResourceVersion: "7",
			Annotations:   map[string]string{desired.SpecHashAnnotation: "h"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "flink-operator"}}}
	}
	template := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "flink", Image: "flink:2.3"}}}}
	slimMeta := meta()
	slimMeta.ManagedFields = nil
	// What the slimming drops is remembered as a digest (desired.Digest), for drift.
	withDigest := func(obj metav1.Object) metav1.ObjectMeta {
		m := slimMeta
		m.Annotations = map[string]string{desired.SpecHashAnnotation: "h", desired.ObservedDigestAnnotation: desired.Digest(obj)}
		return m
	}
	deployment := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template}}
	configMap := &corev1.ConfigMap{Data: map[string]string{"config.yaml": "a: b"}, BinaryData: map[string][]byte{"x": {1}}}
	tests := []struct {
		name     string
		in, want runtime.Object
	}{
		{"Deployment keeps replicas and status",
			&appsv1.Deployment{ObjectMeta: meta(), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: template},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2}},
			&appsv1.Deployment{ObjectMeta: withDigest(deployment), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2}}},
		{"Job keeps its status",
			&batchv1.Job{ObjectMeta: meta(), Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: template},
				Status: batchv1.JobStatus{Failed: 1}},
			&batchv1.Job{ObjectMeta: slimMeta, Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0)},
				Status: batchv1.JobStatus{Failed: 1}}},
		{"ConfigMap without data",
			&corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"config.yaml": "a: b"}, BinaryData: map[string][]byte{"x": {1}}},
			&corev1.ConfigMap{ObjectMeta: withDigest(configMap)}},
		{"Service whole: its node ports are merged on update",
			&corev1.Service{ObjectMeta: meta(), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "ui", NodePort: 30081}}}},
			&corev1.Service{ObjectMeta: slimMeta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "ui", NodePort: 30081}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SlimChild(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, out)
			again, err := SlimChild(out)
			require.NoError(t, err)
			assert.Equal(t, tt.want, again, "idempotent: a transform may see an object twice")
		})
	}
}

// An autoscaler or a disruption budget whose controller rewrites its status enqueues nothing; a
// change the operator must see does.
func TestSpecOrMetadataChanged(t *testing.T) {
	base := func() *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "c-taskmanager", Generation: 1,
			ResourceVersion: "10", Annotations: map[string]string{"flinkoperator.k8s.io/spec-hash": "a"}}}
	}
	now := metav1.Now()
	cases := map[string]struct {
		change func(*autoscalingv2.HorizontalPodAutoscaler)
		want   bool
	}{
		"status only": {func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.ResourceVersion = "11"
			h.Status.CurrentReplicas, h.Status.DesiredReplicas = 3, 4
		}, false},
		"spec":       {func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Generation = 2 }, true},
		"annotation": {func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Annotations["flinkoperator.k8s.io/spec-hash"] = "b" }, true},
		"labels":     {func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Labels = map[string]string{"x": "y"} }, true},
		"owners": {func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.OwnerReferences = []metav1.OwnerReference{{Name: "other"}}
		}, true},
		"finalizers": {func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Finalizers = []string{"x"} }, true},
		"deletion":   {func(h *autoscalingv2.HorizontalPodAutoscaler) { h.DeletionTimestamp = &now }, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			old, cur := base(), base()
			tc.change(cur)
			assert.Equal(t, tc.want, SpecOrMetadataChanged(old, cur))
		})
	}
}
