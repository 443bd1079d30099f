package decide

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
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
		assert.Equal(t, Plan{AddFinalizers: []string{FinalSavepointFinalizer}, Foreign: []string{"c-configmap"}}, p)
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
	t.Run("a cluster waiting for its REST TLS Secret is synced again when the Secret is read again", func(t *testing.T) {
		for _, job := range []bool{false, true} {
			p := Decide(&snapshot.Snapshot{Cluster: buildable(job), RESTTLSError: "Secret ns/s not found"}, settings, t0)
			assert.Greater(t, p.RequeueAfter, time.Duration(0), "job cluster %v", job)
			assert.LessOrEqual(t, p.RequeueAfter, snapshot.RESTTLSRetry, "job cluster %v", job)
		}
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
		assert.Equal(t, FinalSavepointFinalizer, p.ReleaseFinalizer)
		assert.Nil(t, p.FinalSavepoint)
	})
	t.Run("the history is asked for only when a step needs it", func(t *testing.T) {
		fc := buildable(true)
		fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Running, ID: fsm.JobID("uid", 1)}
		snap := &snapshot.Snapshot{Cluster: fc, Flink: fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: "RUNNING"}}
		assert.False(t, Reads(snap, settings, t0).Checkpoints)
		snap.Flink.State = "FINISHED"
		assert.True(t, Reads(snap, settings, t0).Checkpoints)
		snap.Flink.State = "FAILED"
		assert.False(t, Reads(snap, settings, t0).Checkpoints, "a failure without latest-state policies needs no history")
		fc.DeletionTimestamp = &metav1.Time{Time: t0}
		snap.Flink.State = "RUNNING"
		assert.True(t, Reads(snap, settings, t0).Checkpoints, "a final savepoint records its baseline")
		assert.False(t, Reads(&snapshot.Snapshot{Cluster: buildable(false)}, settings, t0).Checkpoints)
	})
}

// TestLatestStateReads: a running job whose policies resume from the latest state has its
// checkpoint history read at most once per recording interval (and once after each savepoint),
// and its checkpoint configuration once per attempt; other jobs never.
func TestLatestStateReads(t *testing.T) {
	settings := fsm.DefaultSettings()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	running := fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: "RUNNING"}
	newSnap := func(latest bool, job v1beta1.JobStatus, readAt time.Time) *snapshot.Snapshot {
		fc := buildable(true)
		if latest {
			fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)
		}
		job.ID = fsm.JobID("uid", 1)
		fc.Status.Components.Job = &job
		return &snapshot.Snapshot{Cluster: fc, Flink: running, CheckpointsReadAt: readAt}
	}
	retained := v1beta1.JobStatus{State: fsm.Running, CheckpointRetention: v1beta1.CheckpointRetentionRetainOnCancellation}
	sp := metav1.NewTime(t0.Add(-10 * time.Second))
	tests := []struct {
		name                   string
		snap                   *snapshot.Snapshot
		history, retentionRead bool
	}{
		{"savepoint policies only: the configuration for the health check", newSnap(false, v1beta1.JobStatus{State: fsm.Running}, time.Time{}), false, true},
		{"savepoint policies, configuration known", newSnap(false, retained, time.Time{}), false, false},
		{"never read by this process", newSnap(true, retained, time.Time{}), true, false},
		{"read 59 s ago", newSnap(true, retained, t0.Add(-59*time.Second)), false, false},
		{"read a minute ago", newSnap(true, retained, t0.Add(-time.Minute)), true, false},
		{"read before the last savepoint ended", newSnap(true, v1beta1.JobStatus{State: fsm.Running, CheckpointRetention: "NotRetained", LastSavepointTime: &sp},
			t0.Add(-20*time.Second)), true, false},
		{"read after the last savepoint ended", newSnap(true, v1beta1.JobStatus{State: fsm.Running, CheckpointRetention: "NotRetained", LastSavepointTime: &sp},
			t0.Add(-5*time.Second)), false, false},
		{"retention not read yet", newSnap(true, v1beta1.JobStatus{State: fsm.Running}, t0), false, true},
		{"the job is not running", newSnap(true, v1beta1.JobStatus{State: fsm.Submitting}, time.Time{}), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reads(tt.snap, settings, t0)
			assert.Equal(t, tt.history, got.Checkpoints, "history")
			assert.Equal(t, tt.retentionRead, got.Retention, "retention")
		})
	}
	t.Run("the health check's metrics, once per interval, also while Flink restarts the job", func(t *testing.T) {
		s := newSnap(false, retained, time.Time{})
		assert.True(t, Reads(s, settings, t0).JobMetrics, "never read")
		s.HealthReadAt = t0.Add(-59 * time.Second)
		assert.False(t, Reads(s, settings, t0).JobMetrics, "read 59 s ago")
		s.HealthReadAt = t0.Add(-time.Minute)
		assert.True(t, Reads(s, settings, t0).JobMetrics, "read a minute ago")
		s.Flink.State = "RESTARTING"
		assert.True(t, Reads(s, settings, t0).JobMetrics, "a restart loop is what it looks for")
		s.Cluster.Status.Components.Job.State = fsm.Updating
		assert.False(t, Reads(s, settings, t0).JobMetrics, "only while the job runs for the machine")
	})
	t.Run("not while Flink restarts the job", func(t *testing.T) {
		s := newSnap(true, v1beta1.JobStatus{State: fsm.Running}, time.Time{})
		s.Flink.State = "RESTARTING"
		assert.False(t, Reads(s, settings, t0).Retention)
		assert.True(t, Reads(s, settings, t0).Checkpoints, "its history is still the record's source")
	})
}

// TestNoSubmissionWithoutHAPermissions: a ready cluster whose pods' ServiceAccount lacks what
// Flink's HA services need is not ready for the job (the submission would fail against a
// JobManager without a leader); an unanswered check does not hold it.
func TestNoSubmissionWithoutHAPermissions(t *testing.T) {
	ready := func() *appsv1.Deployment {
		return &appsv1.Deployment{Status: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}}
	}
	snap := &snapshot.Snapshot{Cluster: buildable(true), JobManagerDeployment: ready(), TaskManagerDeployment: ready(),
		JobManagerService: &corev1.Service{}}
	settings := fsm.DefaultSettings()
	assert.True(t, JobInput(snap, nil, settings, t0).ClusterReady)
	snap.HAAccess = snapshot.HAAccess{Checked: true, ServiceAccount: "default", Missing: []string{"patch"}}
	assert.False(t, JobInput(snap, nil, settings, t0).ClusterReady)
	snap.HAAccess = snapshot.HAAccess{Checked: true, ServiceAccount: "default", Error: "timeout"}
	assert.True(t, JobInput(snap, nil, settings, t0).ClusterReady)
}
