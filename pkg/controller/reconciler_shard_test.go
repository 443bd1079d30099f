package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	"github.com/flink-operator/flink-operator/pkg/controller/updater"
)

func shardedCluster(want, owner string) *v1beta1.FlinkCluster {
	fc := sessionCluster()
	fc.Labels = map[string]string{shard.Label: want, shard.OwnerLabel: owner}
	return fc
}

// TestShardLabelsItsChildrenOutsideTheSpecHash: a shard's children carry its label, which its
// informers select them by, and the same spec hash as the unsharded operator's, so that moving a
// cluster between shards never counts as a spec change (which a running job would hold back, or
// roll its pods for).
func TestShardLabelsItsChildrenOutsideTheSpecHash(t *testing.T) {
	sharded := newFixture(t, shardedCluster("a", "a"))
	sharded.r.Shard = "a"
	require.Len(t, sharded.sync(), 5)
	unsharded := newFixture(t, sessionCluster())
	require.Len(t, unsharded.sync(), 5)

	for _, name := range []string{"c-jobmanager", "c-taskmanager"} {
		obj, ok, err := sharded.indexerFor("deployments").GetByKey("ns/" + name)
		require.NoError(t, err)
		require.True(t, ok)
		d := obj.(*appsv1.Deployment)
		assert.Equal(t, "a", d.Labels[shard.Label], name)
		plain, _, _ := unsharded.indexerFor("deployments").GetByKey("ns/" + name)
		assert.NotContains(t, plain.(*appsv1.Deployment).Labels, shard.Label, name)
		assert.Equal(t, plain.(*appsv1.Deployment).Annotations[desired.SpecHashAnnotation], d.Annotations[desired.SpecHashAnnotation], name)
	}
	obj, _, _ := sharded.indexerFor("configmaps").GetByKey("ns/c-configmap")
	assert.Equal(t, "a", obj.(*corev1.ConfigMap).Labels[shard.Label])
}

func TestShardLeavesOtherShardsClustersAlone(t *testing.T) {
	f := newFixture(t, shardedCluster("b", "b"))
	f.r.Shard = "a"
	assert.Empty(t, f.sync(), "another shard's cluster: no write at all")

	f = newFixture(t, shardedCluster("b", "b"))
	assert.Empty(t, f.sync(), "the unsharded operator leaves a shard's cluster alone")
}

// TestShardHandsOverInsteadOfActing: relabelled for shard b, the cluster's owner writes b as the
// owner and nothing else, in the same sync: not one more child write or status update.
func TestShardHandsOverInsteadOfActing(t *testing.T) {
	f := newFixture(t, shardedCluster("a", "a"))
	f.r.Shard = "a"
	require.Len(t, f.sync(), 5)
	f.edit(func(fc *v1beta1.FlinkCluster) { fc.Labels[shard.Label] = "b" })
	assert.Equal(t, []string{"patch flinkclusters"}, f.sync())
	assert.Equal(t, 1, countEvents(f.recorder, updater.ReasonShardHandedOver))
}

// TestShardLabelsTheSubmitter: the submitter Job is created by the state machine's action, not
// by ApplyChildren; without the label a sharded operator would never see it and would wait for
// a submission forever.
func TestShardLabelsTheSubmitter(t *testing.T) {
	fc := jobCluster()
	fc.Labels = map[string]string{shard.Label: "a", shard.OwnerLabel: "a"}
	f := newFixture(t, fc)
	f.r.Shard = "a"
	f.sync()
	f.makeAvailable()
	f.sync()
	assert.Equal(t, "a", f.storedSubmitter().Labels[shard.Label])
}
