package observer

import (
	"context"
	"testing"

	"github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// TestListHAConfigMaps: only the ConfigMaps with Flink's HA labels for the cluster's own ID, in
// its namespace, are selected.
func TestListHAConfigMaps(t *testing.T) {
	cm := func(ns, name, uid string, labels map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("u-" + uid), Labels: labels}}
	}
	own := map[string]string{"app": "flink-uid1", "type": "flink-native-kubernetes"}
	client := fake.NewSimpleClientset(
		cm("ns", "flink-uid1-cluster-config-map", "1", own),
		cm("ns", "flink-uid1-job-config-map", "2", own),
		cm("ns", "flink-uid2-cluster-config-map", "3", map[string]string{"app": "flink-uid2", "type": "flink-native-kubernetes"}),
		cm("ns", "users-own", "4", map[string]string{"app": "flink-uid1"}),
		cm("other", "flink-uid1-cluster-config-map", "5", own),
	)
	fc := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid1"}}
	got, err := listHAConfigMaps(context.Background(), client.CoreV1(), fc)
	require.NoError(t, err)
	assert.Equal(t, []snapshot.HAConfigMap{{Name: "flink-uid1-cluster-config-map", UID: "u-1"}, {Name: "flink-uid1-job-config-map", UID: "u-2"}}, got)
}
