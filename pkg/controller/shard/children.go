package shard

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Child is one child of a FlinkCluster as the API server has it, read by a shard taking the
// cluster over.
type Child struct {
	Resource schema.GroupVersionResource
	Object   *unstructured.Unstructured
}

// String is resource/name, for logs.
func (c Child) String() string { return c.Resource.Resource + "/" + c.Object.GetName() }

// HasChildren reports whether a previous owner may have left fc children to take over: one that
// acted on it wrote its status. Every new cluster has none, so taking it over reads nothing.
// (A session cluster's children are created before its first status write: a previous owner
// that stopped in between left children the new owner finds when its creates fail; the updater
// takes those over then.)
func HasChildren(fc *v1beta1.FlinkCluster) bool {
	return fc.Status.State != ""
}

// ChildNames are the names the operator gives a cluster's children, by resource. Jobs: the
// submitter and an application's JobManager, whichever mode the spec had when the Job was made.
func ChildNames(cluster string) map[string][]string {
	return map[string][]string{
		"configmaps":               {names.ConfigMap(cluster)},
		"deployments":              {names.JobManagerDeployment(cluster), names.TaskManagerDeployment(cluster)},
		"services":                 {names.JobManagerService(cluster)},
		"ingresses":                {names.JobManagerIngress(cluster)},
		"networkpolicies":          {names.NetworkPolicy(cluster)},
		"jobs":                     {names.Submitter(cluster), names.JobManagerDeployment(cluster)},
		"poddisruptionbudgets":     {names.PodDisruptionBudget(cluster)},
		"horizontalpodautoscalers": {names.TaskManagerAutoscaler(cluster)},
	}
}

// Labelled reports whether an object with these labels carries shard s's Label (none for the
// shard "").
func Labelled(l map[string]string, s string) bool {
	current, ok := l[Label]
	return current == s && ok == (s != "")
}

// WithLabel is a copy of l with shard s's Label (without Label for the shard "").
func WithLabel(l map[string]string, s string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for k, v := range l {
		out[k] = v
	}
	delete(out, Label)
	if s != "" {
		out[Label] = s
	}
	return out
}

// Selector is what shard self's informers select FlinkClusters and children by, on top of their
// own selectors; nil for the unsharded operator, which watches them all.
func Selector(self string) labels.Selector {
	if self == "" {
		return nil
	}
	return labels.SelectorFromSet(labels.Set{Label: self})
}

// StraySelector selects the clusters shard self owns but that are labelled for another: the
// hand-overs a process that stopped before making them owes. A sharded cache does not hold them.
func StraySelector(self string) labels.Selector {
	owned, _ := labels.NewRequirement(OwnerLabel, "=", []string{self})
	elsewhere, _ := labels.NewRequirement(Label, "!=", []string{self})
	return labels.NewSelector().Add(*owned, *elsewhere)
}
