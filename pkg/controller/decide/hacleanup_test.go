package decide

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// haCluster is a deleted session cluster with high availability and its finalizer.
func haCluster() *v1beta1.FlinkCluster {
	fc := buildable(false)
	fc.Spec.HighAvailability = &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes}
	fc.Finalizers = []string{HACleanupFinalizer}
	fc.DeletionTimestamp = &metav1.Time{Time: t0}
	return fc
}

func TestHACleanupOnDeletion(t *testing.T) {
	settings := fsm.DefaultSettings()
	deadline := t0.Add(settings.SavepointTimeout + time.Minute + jobManagerStopAllowance)
	cms := []snapshot.HAConfigMap{{Name: "flink-uid-cluster-config-map", UID: "u1"}}
	running := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "c-jobmanager"}}
	stopping := running.DeepCopy()
	stopping.DeletionTimestamp = &metav1.Time{Time: t0}
	tests := []struct {
		name string
		edit func(*snapshot.Snapshot)
		now  time.Time
		want Plan
		// reads: the HA ConfigMaps are listed for this sync.
		reads bool
	}{
		{name: "JobManagers run: Flink is asked to shut down, and they are deleted",
			edit: func(s *snapshot.Snapshot) { s.JobManagerDeployment = running }, now: t0,
			want: Plan{HACleanup: &HACleanup{ShutDownFlink: "http://jm:8081", DeleteJobManager: true}, RequeueAfter: deadline.Sub(t0)}},
		{name: "a redirected Service: no REST call, the JobManagers are deleted all the same",
			edit: func(s *snapshot.Snapshot) { s.JobManagerDeployment, s.ServiceRedirected = running, "selector changed" }, now: t0,
			want: Plan{HACleanup: &HACleanup{DeleteJobManager: true}, RequeueAfter: deadline.Sub(t0)}},
		{name: "HA turned off since: the JobManagers go, Flink has no HA data to delete",
			edit: func(s *snapshot.Snapshot) { s.JobManagerDeployment, s.Cluster.Spec.HighAvailability = running, nil }, now: t0,
			want: Plan{HACleanup: &HACleanup{DeleteJobManager: true}, RequeueAfter: deadline.Sub(t0)}},
		{name: "their pods are stopping: wait, bounded",
			edit: func(s *snapshot.Snapshot) { s.JobManagerDeployment = stopping }, now: t0.Add(time.Minute),
			want: Plan{RequeueAfter: deadline.Sub(t0.Add(time.Minute))}},
		{name: "they are gone: the ConfigMaps are deleted and the deletion goes on",
			edit: func(s *snapshot.Snapshot) { s.HAConfigMaps = cms }, now: t0.Add(time.Minute), reads: true,
			want: Plan{HACleanup: &HACleanup{ConfigMaps: cms}, ReleaseFinalizer: HACleanupFinalizer}},
		{name: "pods that outlive the deadline do not hold the deletion",
			edit: func(s *snapshot.Snapshot) { s.JobManagerDeployment, s.HAConfigMaps = stopping, cms }, now: deadline, reads: true,
			want: Plan{HACleanup: &HACleanup{ConfigMaps: cms, PodsMayRun: true}, ReleaseFinalizer: HACleanupFinalizer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := &snapshot.Snapshot{Cluster: haCluster(), JobManagerURL: "http://jm:8081"}
			tt.edit(snap)
			assert.Equal(t, tt.reads, Reads(snap, settings, tt.now).HAConfigMaps)
			assert.Equal(t, tt.want, Decide(snap, settings, tt.now))
		})
	}
	t.Run("a job cluster's final savepoint comes first", func(t *testing.T) {
		fc := haCluster()
		fc.Spec.Job = buildable(true).Spec.Job
		fc.Finalizers = []string{FinalSavepointFinalizer, HACleanupFinalizer}
		snap := &snapshot.Snapshot{Cluster: fc, JobManagerDeployment: running}
		p := Decide(snap, settings, t0)
		assert.Equal(t, FinalSavepointFinalizer, p.ReleaseFinalizer, "no job runs: the final savepoint's part is done")
		assert.Nil(t, p.HACleanup)
		assert.False(t, Reads(snap, settings, t0).HAConfigMaps)
		fc.Finalizers = []string{HACleanupFinalizer}
		assert.True(t, Decide(snap, settings, t0).HACleanup.DeleteJobManager, "then the HA part")
	})
	t.Run("without the finalizer nothing is held", func(t *testing.T) {
		fc := haCluster()
		fc.Finalizers = nil
		assert.Equal(t, Plan{}, Decide(&snapshot.Snapshot{Cluster: fc, JobManagerDeployment: running}, settings, t0))
	})
}

// TestHAConfigMapsAfterCleanupPolicy: a cleanup policy that deletes the JobManager of a cluster
// with HA deletes its HA ConfigMaps, in the one sync that first sees the JobManager gone.
func TestHAConfigMapsAfterCleanupPolicy(t *testing.T) {
	cms := []snapshot.HAConfigMap{{Name: "flink-uid-cluster-config-map", UID: "u1"}}
	stopped := func(fc *v1beta1.FlinkCluster) {
		fc.Spec.Job.CleanupPolicy = &v1beta1.CleanupPolicy{AfterJobSucceeds: v1beta1.CleanupActionDeleteCluster}
		fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Succeeded, ID: fsm.JobID("uid", 1)}
		fc.Status.Components.JobManagerDeployment.State = v1beta1.ComponentStateNotReady
	}
	tests := []struct {
		name string
		edit func(*v1beta1.FlinkCluster, *snapshot.Snapshot)
		due  bool
	}{
		{name: "the JobManager was just deleted", edit: func(*v1beta1.FlinkCluster, *snapshot.Snapshot) {}, due: true},
		{name: "status already says it is deleted", due: false,
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) {
				fc.Status.Components.JobManagerDeployment.State = v1beta1.ComponentStateDeleted
			}},
		{name: "its pods still stop", due: false,
			edit: func(_ *v1beta1.FlinkCluster, s *snapshot.Snapshot) {
				s.JobManagerDeployment = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &metav1.Time{Time: t0}}}
			}},
		{name: "the policy keeps the cluster", due: false,
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) {
				fc.Spec.Job.CleanupPolicy.AfterJobSucceeds = v1beta1.CleanupActionKeepCluster
			}},
		{name: "the TaskManagers only", due: false,
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) {
				fc.Spec.Job.CleanupPolicy.AfterJobSucceeds = v1beta1.CleanupActionDeleteTaskManager
			}},
		{name: "never had HA (no finalizer)", due: false,
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) {
				fc.Finalizers = []string{FinalSavepointFinalizer}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := buildable(true)
			fc.Finalizers = []string{FinalSavepointFinalizer, HACleanupFinalizer}
			stopped(fc)
			snap := &snapshot.Snapshot{Cluster: fc}
			tt.edit(fc, snap)
			assert.Equal(t, tt.due, Reads(snap, fsm.DefaultSettings(), t0).HAConfigMaps)
			snap.HAConfigMaps = cms
			p := Decide(snap, fsm.DefaultSettings(), t0)
			if tt.due {
				assert.Equal(t, &HACleanup{ConfigMaps: cms}, p.HACleanup)
				assert.Equal(t, v1beta1.ComponentStateDeleted, p.Status.Components.JobManagerDeployment.State)
			} else {
				assert.Nil(t, p.HACleanup)
			}
		})
	}
}

// TestHAConfigMapsBeforeAnAttempt: an application with HA deletes its HA ConfigMaps before it
// creates an attempt's JobManager, which would otherwise recover every job they name (one that did
// not end in Flink would run beside the new attempt); listed only when no JobManager exists and a
// step may start an attempt.
func TestHAConfigMapsBeforeAnAttempt(t *testing.T) {
	cms := []snapshot.HAConfigMap{{Name: "flink-uid-cluster-config-map", UID: "u1"}}
	lost := func() *v1beta1.FlinkCluster {
		fc := buildable(true)
		fc.Finalizers = []string{FinalSavepointFinalizer, HACleanupFinalizer}
		fc.Spec.HighAvailability = &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes, StorageDir: ptr.To("/ha")}
		fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
		fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
		fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Lost, ID: fsm.JobID("uid", 1), Attempt: 1,
			SavepointLocation: "/sp/savepoint-1", EndTime: &metav1.Time{Time: t0.Add(-time.Hour)}}
		return fc
	}
	tests := []struct {
		name    string
		edit    func(*v1beta1.FlinkCluster, *snapshot.Snapshot)
		listed  bool
		cleaned bool
	}{
		{name: "a lost attempt restarts with no JobManager left: the ConfigMaps go first", listed: true, cleaned: true,
			edit: func(*v1beta1.FlinkCluster, *snapshot.Snapshot) {}},
		{name: "the old attempt's JobManager still exists: it is deleted first, nothing listed yet",
			edit: func(_ *v1beta1.FlinkCluster, s *snapshot.Snapshot) {
				s.Submitter = &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "c-jobmanager"}}
			}},
		{name: "a detached cluster keeps its JobManager across attempts",
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) { fc.Spec.Job.Mode = nil }},
		{name: "no high availability: no HA ConfigMaps",
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) { fc.Spec.HighAvailability = nil }},
		{name: "a finished job starts nothing: no LIST while it stays so",
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) {
				fc.Status.Components.Job.State = fsm.Succeeded
				fc.Status.Components.JobManagerDeployment.State = v1beta1.ComponentStateDeleted // cleaned up before
			}},
		{name: "a lost attempt not restarted yet (backoff): listed, nothing deleted", listed: true,
			edit: func(fc *v1beta1.FlinkCluster, _ *snapshot.Snapshot) {
				fc.Status.Components.Job.EndTime = &metav1.Time{Time: t0}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := lost()
			snap := &snapshot.Snapshot{Cluster: fc}
			tt.edit(fc, snap)
			assert.Equal(t, tt.listed, Reads(snap, fsm.DefaultSettings(), t0).HAConfigMaps)
			if tt.listed {
				snap.HAConfigMaps = cms
			}
			p := Decide(snap, fsm.DefaultSettings(), t0)
			if tt.cleaned {
				assert.Equal(t, &HACleanup{ConfigMaps: cms}, p.HACleanup)
				assert.True(t, startsAttempt(*p.Job), "the JobManager is created in the same sync, after the cleanup")
			} else {
				assert.Nil(t, p.HACleanup)
			}
		})
	}
}

// An application's JobManager Job is what a deletion's HA cleanup deletes.
func TestHACleanupOfAnApplication(t *testing.T) {
	fc := haCluster()
	fc.Spec.Job = buildable(true).Spec.Job
	fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
	jm := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "c-jobmanager"}}
	p := Decide(&snapshot.Snapshot{Cluster: fc, Submitter: jm, JobManagerURL: "http://jm:8081"}, fsm.DefaultSettings(), t0)
	require.NotNil(t, p.HACleanup)
	assert.True(t, p.HACleanup.DeleteJobManager)
	assert.Equal(t, "http://jm:8081", p.HACleanup.ShutDownFlink)
	p = Decide(&snapshot.Snapshot{Cluster: fc}, fsm.DefaultSettings(), t0)
	assert.Equal(t, HACleanupFinalizer, p.ReleaseFinalizer, "gone: the deletion goes on")
}
