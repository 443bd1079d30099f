package observer

import (
	"context"
	"fmt"
	"sort"

	corev1client "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// WithHAConfigMaps lets the observer list the HA ConfigMaps of a cluster when a decision deletes
// them (snapshot.Reads.HAConfigMaps). They are Flink's objects, without the operator's label, so
// no cache holds them: watching every ConfigMap of the cluster for the rare cleanup would cost
// memory on every sync's behalf.
func (o *Observer) WithHAConfigMaps(client corev1client.ConfigMapsGetter) *Observer {
	o.haConfigMaps = client
	return o
}

// listHAConfigMaps lists the ConfigMaps carrying exactly this cluster's HA labels (its own
// cluster ID, which comes from its UID), from the API server, sorted by name.
func listHAConfigMaps(ctx context.Context, client corev1client.ConfigMapsGetter, fc *v1beta1.FlinkCluster) ([]snapshot.HAConfigMap, error) {
	selector := labels.SelectorFromSet(desired.HAConfigMapLabels(desired.HAClusterID(fc))).String()
	list, err := client.ConfigMaps(fc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the HA ConfigMaps (%s): %w", selector, err)
	}
	found := make([]snapshot.HAConfigMap, 0, len(list.Items))
	for _, cm := range list.Items {
		found = append(found, snapshot.HAConfigMap{Name: cm.Name, UID: string(cm.UID)})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	return found, nil
}
