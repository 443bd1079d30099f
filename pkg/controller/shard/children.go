package shard

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
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
// not hold yet as labelled (kind/name). The children are listed from the API server: a sharded
// cache cannot see a child still labelled for the previous shard.
func (c *Children) TakeOver(ctx context.Context, fc *v1beta1.FlinkCluster, self string) ([]string, error) {
	selector := labels.SelectorFromSet(labels.Set{names.LabelCluster: fc.Name, names.LabelManagedBy: names.ManagedBy}).String()
	var pending []string
	for gvr, indexer := range c.Caches {
		client := c.Client.Resource(gvr).Namespace(fc.Namespace)
		list, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			child := &list.Items[i]
			if !metav1.IsControlledBy(child, fc) {
				continue // another cluster of that name's leftovers; not this one's to move
			}
			if relabel(child, self) {
				metrics.APIWrite(child.GetKind(), "update")
				if _, err := client.Update(ctx, child, metav1.UpdateOptions{}); err != nil {
					return nil, fmt.Errorf("labelling %s %s for this shard: %w", gvr.Resource, child.GetName(), err)
				}
			}
			if !cachedForShard(indexer, child, self) {
				pending = append(pending, gvr.Resource+"/"+child.GetName())
			}
		}
	}
	return pending, nil
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
