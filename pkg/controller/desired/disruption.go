package desired

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// podDisruptionBudget is spec.podDisruptionBudget over the cluster's JobManager and TaskManager
// pods: the user's selector, if any, narrowed to those pods, so that it never selects another
// cluster's pods, nor the submitter's, whose Job has no scale for the disruption controller to
// read. nil when the spec has none.
func podDisruptionBudget(fc *v1beta1.FlinkCluster) *policyv1.PodDisruptionBudget {
	spec := fc.Spec.PodDisruptionBudget
	if spec == nil {
		return nil
	}
	out := spec.DeepCopy()
	selector := out.Selector
	if selector == nil {
		selector = &metav1.LabelSelector{}
	}
	selector.MatchLabels = mergeLabels(selector.MatchLabels, map[string]string{names.LabelCluster: fc.Name})
	selector.MatchExpressions = append(selector.MatchExpressions, metav1.LabelSelectorRequirement{
		Key:      names.LabelComponent,
		Operator: metav1.LabelSelectorOpIn,
		Values:   []string{names.ComponentJobManager, names.ComponentTaskManager},
	})
	out.Selector = selector
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: objectMeta(fc, names.PodDisruptionBudget(fc.Name), names.ComponentCluster),
		Spec:       *out,
	}
}

// taskManagerAutoscaler is taskManager.horizontalPodAutoscaler as an autoscaling/v2
// HorizontalPodAutoscaler whose target is the FlinkCluster itself: it scales through the scale
// subresource (spec.taskManager.replicas, pods selected by the status' selector), so the
// operator applies the replicas it asks for like any other replica change and never writes them
// back. nil when the spec has none.
func taskManagerAutoscaler(fc *v1beta1.FlinkCluster) *autoscalingv2.HorizontalPodAutoscaler {
	spec := fc.Spec.TaskManager.HorizontalPodAutoscaler
	if spec == nil {
		return nil
	}
	spec = spec.DeepCopy()
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: objectMeta(fc, names.TaskManagerAutoscaler(fc.Name), names.ComponentTaskManager),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: v1beta1.SchemeGroupVersion.String(),
				Kind:       "FlinkCluster",
				Name:       fc.Name,
			},
			MinReplicas: spec.MinReplicas,
			MaxReplicas: spec.MaxReplicas,
			Metrics:     spec.Metrics,
			Behavior:    spec.Behavior,
		},
	}
}
