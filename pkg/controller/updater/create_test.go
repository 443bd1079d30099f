package updater

import (
	"context"
	"testing"

	"github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// TestCreateOfAChildTheCacheHasNotSeen: a sync that runs before the informer delivered the
// children an earlier sync created gets AlreadyExists for them. That is a stale cache, retried
// quietly as a conflict, with no warning; an object someone else created under the name is a
// name conflict, reported as before.
func TestCreateOfAChildTheCacheHasNotSeen(t *testing.T) {
	fc := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Name: "wc", Namespace: "ns", UID: "uid-1"}}
	yes := true
	ours := metav1.OwnerReference{APIVersion: "flinkoperator.k8s.io/v1beta1", Kind: "FlinkCluster", Name: "wc", UID: "uid-1", Controller: &yes}
	managed := map[string]string{names.LabelManagedBy: names.ManagedBy}
	cases := map[string]struct {
		owners       []metav1.OwnerReference
		labels       map[string]string
		wantConflict bool
		wantEvents   int
	}{
		"created by an earlier sync": {[]metav1.OwnerReference{ours}, managed, true, 0},
		"someone else's object":      {nil, managed, false, 2}, // NameConflict and WriteFailed
		// The informers select by the label: without it the cache never catches up.
		"ours without the managed-by label": {[]metav1.OwnerReference{ours}, nil, false, 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wc-configmap", Namespace: "ns", OwnerReferences: tc.owners, Labels: tc.labels}}
			kube := fake.NewSimpleClientset(existing)
			rec := record.NewFakeRecorder(10)
			a := applier{u: &Updater{recorder: rec}, fc: fc}
			want := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wc-configmap", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{ours}}}
			w := plan[*corev1.ConfigMap](a, "ConfigMap", kube.CoreV1().ConfigMaps("ns"), nil, want, nil, nil)
			require.NotNil(t, w)
			err := w(context.Background())
			require.Error(t, err)
			assert.Equal(t, tc.wantConflict, apierrors.IsConflict(err), "conflict: %v", err)
			assert.Equal(t, !tc.wantConflict, apierrors.IsAlreadyExists(err), "already exists: %v", err)
			assert.Len(t, rec.Events, tc.wantEvents)
		})
	}
}

// TestCreateTakesOverAChildLabelledForAnotherShard: a previous owner created the child and
// stopped before writing status, so the hand-over did not relabel it; the create that finds the
// name taken labels it for the acting shard, whose informers select by that label.
func TestCreateTakesOverAChildLabelledForAnotherShard(t *testing.T) {
	yes := true
	ours := metav1.OwnerReference{APIVersion: "flinkoperator.k8s.io/v1beta1", Kind: "FlinkCluster", Name: "wc", UID: "uid-1", Controller: &yes}
	for name, tc := range map[string]struct{ owner, childShard, want string }{
		"from shard a to b":               {owner: "b", childShard: "a", want: "b"},
		"from the unsharded operator":     {owner: "b", want: "b"},
		"from shard a to the unsharded":   {childShard: "a"},
		"already labelled: a stale cache": {owner: "b", childShard: "b", want: "b"},
	} {
		t.Run(name, func(t *testing.T) {
			fc := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Name: "wc", Namespace: "ns", UID: "uid-1"}}
			if tc.owner != "" {
				fc.Labels = map[string]string{shard.Label: tc.owner, shard.OwnerLabel: tc.owner}
			}
			labels := map[string]string{names.LabelManagedBy: names.ManagedBy}
			if tc.childShard != "" {
				labels[shard.Label] = tc.childShard
			}
			existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wc-configmap", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{ours}, Labels: labels}}
			kube := fake.NewSimpleClientset(existing)
			a := applier{u: &Updater{recorder: record.NewFakeRecorder(10)}, fc: fc}
			want := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wc-configmap", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{ours}}}
			err := plan[*corev1.ConfigMap](a, "ConfigMap", kube.CoreV1().ConfigMaps("ns"), nil, want, nil, nil)(context.Background())
			assert.True(t, apierrors.IsConflict(err), "retried quietly until the cache has it: %v", err)
			live, getErr := kube.CoreV1().ConfigMaps("ns").Get(context.Background(), "wc-configmap", metav1.GetOptions{})
			require.NoError(t, getErr)
			got, labelled := live.Labels[shard.Label]
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want != "", labelled)
			assert.Equal(t, names.ManagedBy, live.Labels[names.LabelManagedBy], "its other labels are kept")
		})
	}
}
