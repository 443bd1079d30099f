package shard

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Children finds a cluster's children on the API server, labels them for their new shard, and
// tells whether this shard's caches hold them yet.
type Children struct {
	Client dynamic.Interface
	// Caches are this process's child caches, by resource: the hand-over waits for each.
	Caches map[schema.GroupVersionResource]cache.Indexer
}

// TakeOver labels every child of fc for shard self and returns those this shard's caches do
// not hold yet as labelled (resource/name). Children are read from the API server by the names
// the operator gives them: a sharded cache cannot see a child still labelled for the previous
// shard. A cluster no owner has written status for yet has none to take over; should a previous
// owner have created one and stopped before its status write, the updater takes it over when
// its create finds the name taken (updater.alreadyExists).
func (c *Children) TakeOver(ctx context.Context, fc *v1beta1.FlinkCluster, self string) ([]string, error) {
	if fc.Status.State == "" {
		return nil, nil
	}
	names := childNames(fc.Name)
	var pending []string
	for gvr, indexer := range c.Caches {
		client := c.Client.Resource(gvr).Namespace(fc.Namespace)
		for _, name := range names[gvr.Resource] {
			child, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s %s: %w", gvr.Resource, name, err)
			}
			if !metav1.IsControlledBy(child, fc) {
				continue // not this cluster's: the sync reports the name conflict
			}
			if relabel(child, self) {
				metrics.APIWrite(child.GetKind(), "update")
				if _, err := client.Update(ctx, child, metav1.UpdateOptions{}); err != nil {
					return nil, fmt.Errorf("labelling %s %s for this shard: %w", gvr.Resource, name, err)
				}
			}
			if !cachedForShard(indexer, child, self) {
				pending = append(pending, gvr.Resource+"/"+name)
			}
		}
	}
	return pending, nil
}

// childNames are the names the operator gives fc's children, by resource. Jobs: the submitter
// and an application's JobManager, whichever mode the spec had when the Job was made.
func childNames(cluster string) map[string][]string {
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

// relabel sets obj's Label to shard (removes it for the shard ""); false when it already was.
func relabel(obj *unstructured.Unstructured, shard string) bool {
	l := obj.GetLabels()
	if current, ok := l[Label]; current == shard && ok == (shard != "") {
		return false
	}
	if l == nil {
		l = map[string]string{}
	}
	if shard == "" {
		delete(l, Label)
	} else {
		l[Label] = shard
	}
	obj.SetLabels(l)
	return true
}

// cachedForShard reports whether indexer holds obj (the same object, by UID) labelled for shard.
func cachedForShard(indexer cache.Indexer, obj metav1.Object, shard string) bool {
	item, ok, err := indexer.GetByKey(obj.GetNamespace() + "/" + obj.GetName())
	if err != nil || !ok {
		return false
	}
	cached, err := meta.Accessor(item)
	if err != nil || cached.GetUID() != obj.GetUID() {
		return false
	}
	current, labelled := cached.GetLabels()[Label]
	return current == shard && labelled == (shard != "")
}
