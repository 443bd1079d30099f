package decide

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// buildable is a cluster the builders accept.
func buildable(job bool) *v1beta1.FlinkCluster {
	mem := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}
	fc := &v1beta1.FlinkCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid", Generation: 1},
		Spec: v1beta1.FlinkClusterSpec{Image: v1beta1.ImageSpec{Name: "flink:2.1"},
			JobManager:  v1beta1.JobManagerSpec{AccessScope: v1beta1.AccessScopeCluster, Resources: *mem.DeepCopy()},
			TaskManager: v1beta1.TaskManagerSpec{Replicas: 1, Resources: *mem.DeepCopy()}},
	}
	if job {
		fc.Spec.Job = &v1beta1.JobSpec{JarFile: "/job.jar", SavepointsDir: ptr.To("/sp")}
		fc.Finalizers = []string{FinalSavepointFinalizer}
	}
	return fc
}

func TestDecide(t *testing.T) {
	settings := fsm.DefaultSettings()
	t.Run("a FlinkCluster that is gone", func(t *testing.T) {
		assert.Equal(t, Plan{Gone: true}, Decide(&snapshot.Snapshot{}, settings, t0))
	})
	t.Run("the finalizer comes first, with what must be reported", func(t *testing.T) {
		fc := buildable(true)
		fc.Finalizers = nil
		p := Decide(&snapshot.Snapshot{Cluster: fc, Foreign: []string{"c-configmap"}}, settings, t0)
		assert.Equal(t, Plan{AddFinalizer: true, Foreign: []string{"c-configmap"}}, p)
	})
	t.Run("a session cluster: children, then status", func(t *testing.T) {
		p := Decide(&snapshot.Snapshot{Cluster: buildable(false)}, settings, t0)
		require.NotNil(t, p.Children)
		require.NotNil(t, p.Status)
		assert.False(t, p.StatusFirst)
		assert.Nil(t, p.Job)
	})
	t.Run("a job cluster: status first, then children and actions", func(t *testing.T) {
		p := Decide(&snapshot.Snapshot{Cluster: buildable(true)}, settings, t0)
		require.NotNil(t, p.Job)
		assert.True(t, p.StatusFirst)
		assert.Equal(t, fsm.Pending, p.Status.Components.Job.State)
		assert.False(t, p.Children.HoldDrift)
	})
	t.Run("an unbuildable spec: no children, the error reported", func(t *testing.T) {
		fc := buildable(false)
		min := resource.MustParse("600M")
		fc.Spec.TaskManager.MemoryOffHeapMin = &min
		fc.Spec.TaskManager.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("500M")
		p := Decide(&snapshot.Snapshot{Cluster: fc}, settings, t0)
		assert.Error(t, p.BuildErr)
		assert.Nil(t, p.Children)
		require.NotNil(t, p.Status)
	})
	t.Run("a deleted session cluster: nothing to do", func(t *testing.T) {
		fc := buildable(false)
		fc.DeletionTimestamp = &metav1.Time{Time: t0}
		assert.Equal(t, Plan{}, Decide(&snapshot.Snapshot{Cluster: fc}, settings, t0))
	})
	t.Run("a deleted job cluster without a running job: released", func(t *testing.T) {
		fc := buildable(true)
		fc.DeletionTimestamp = &metav1.Time{Time: t0}
		p := Decide(&snapshot.Snapshot{Cluster: fc}, settings, t0)
		assert.True(t, p.ReleaseFinalizer)
		assert.Nil(t, p.FinalSavepoint)
	})
	t.Run("the history is asked for only when a step needs it", func(t *testing.T) {
		fc := buildable(true)
		fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Running, ID: fsm.JobID("uid", 1)}
		snap := &snapshot.Snapshot{Cluster: fc, Flink: fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: "RUNNING"}}
		assert.False(t, NeedsCheckpoints(snap, settings, t0))
		snap.Flink.State = "FINISHED"
		assert.True(t, NeedsCheckpoints(snap, settings, t0))
		fc.DeletionTimestamp = &metav1.Time{Time: t0}
		snap.Flink.State = "RUNNING"
		assert.True(t, NeedsCheckpoints(snap, settings, t0), "a final savepoint records its baseline")
		assert.False(t, NeedsCheckpoints(&snapshot.Snapshot{Cluster: buildable(false)}, settings, t0))
	})
}
