// Package names holds the naming and labelling rules shared by everything that creates, finds or
// watches a FlinkCluster's children, so the builders, the observer and the informers agree.
package names

import (
	"k8s.io/apimachinery/pkg/labels"
)

// Label keys and values put on every child object.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelCluster names the owning FlinkCluster; it is the selector label of every child.
	LabelCluster = "flinkoperator.k8s.io/cluster"

	AppName   = "flink"
	ManagedBy = "flink-operator"
)

// Component label values.
const (
	ComponentJobManager  = "jobmanager"
	ComponentTaskManager = "taskmanager"
	ComponentSubmitter   = "submitter"
	ComponentConfig      = "config"
	// ComponentCluster labels children that serve the whole cluster (its PodDisruptionBudget).
	ComponentCluster = "cluster"
)

// ManagedSelector selects every object this operator manages; the informers watch only these so
// their caches never hold unrelated Deployments, Services or ConfigMaps.
func ManagedSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy})
}

// ClusterLabels are the labels shared by every child of one FlinkCluster.
func ClusterLabels(cluster string) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  cluster,
		LabelManagedBy: ManagedBy,
		LabelCluster:   cluster,
	}
}

// ComponentLabels are ClusterLabels plus the component.
func ComponentLabels(cluster, component string) map[string]string {
	l := ClusterLabels(cluster)
	l[LabelComponent] = component
	return l
}

// SelectorLabels are the immutable pod selector of a component's Deployment: only labels the
// operator owns, so user-supplied pod labels can never change or break a selector.
func SelectorLabels(cluster, component string) map[string]string {
	return map[string]string{
		LabelCluster:   cluster,
		LabelComponent: component,
	}
}

// Child object names.
func JobManagerDeployment(cluster string) string  { return cluster + "-jobmanager" }
func JobManagerService(cluster string) string     { return cluster + "-jobmanager" }
func JobManagerIngress(cluster string) string     { return cluster + "-jobmanager" }
func TaskManagerDeployment(cluster string) string { return cluster + "-taskmanager" }
func NetworkPolicy(cluster string) string         { return cluster + "-network-policy" }
func ConfigMap(cluster string) string             { return cluster + "-configmap" }
func Submitter(cluster string) string             { return cluster + "-job-submitter" }

// PodDisruptionBudget is the name of the cluster's PodDisruptionBudget (spec.podDisruptionBudget).
func PodDisruptionBudget(cluster string) string { return cluster + "-pdb" }

// TaskManagerAutoscaler is the name of the TaskManagers' HorizontalPodAutoscaler.
func TaskManagerAutoscaler(cluster string) string { return cluster + "-taskmanager" }
