package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// In application mode the JobManager is the Job of the current attempt: the cluster is ready for
// a submission without it, and its state is the Job's.
func TestApplicationJobManager(t *testing.T) {
	fc := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"},
		Spec: v1beta1.FlinkClusterSpec{Job: &v1beta1.JobSpec{Mode: ptr.To(v1beta1.JobModeApplication)}}}
	tm := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)},
		Status: appsv1.DeploymentStatus{UpdatedReplicas: 1, AvailableReplicas: 1, Replicas: 1}}
	jobManager := func(ready int32, cond batchv1.JobConditionType, deleting bool) *batchv1.Job {
		j := &batchv1.Job{Status: batchv1.JobStatus{Ready: ptr.To(ready)}}
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		}
		if deleting {
			j.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
		}
		return j
	}
	snap := func(jm *batchv1.Job) *snapshot.Snapshot {
		return &snapshot.Snapshot{Cluster: fc, TaskManagerDeployment: tm, JobManagerService: &corev1.Service{}, Submitter: jm}
	}
	tests := []struct {
		name      string
		jm        *batchv1.Job
		jmState   v1beta1.ComponentState
		wantReady bool
	}{
		{"no JobManager yet: ready for the first attempt", nil, v1beta1.ComponentStateNotReady, true},
		{"its pod is starting", jobManager(0, "", false), v1beta1.ComponentStateNotReady, true},
		{"its pod is ready", jobManager(1, "", false), v1beta1.ComponentStateReady, true},
		{"its pod failed", jobManager(0, batchv1.JobFailed, false), v1beta1.ComponentStateNotReady, true},
		{"being deleted for the next attempt", jobManager(1, "", true), v1beta1.ComponentStateNotReady, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.jmState, jobManagerState(snap(tt.jm)))
			assert.Equal(t, tt.wantReady, ClusterReady(snap(tt.jm)))
			assert.Equal(t, tt.jmState == v1beta1.ComponentStateReady, JobManagerReady(snap(tt.jm)))
		})
	}
	noTM := snap(nil)
	noTM.TaskManagerDeployment = nil
	assert.False(t, ClusterReady(noTM), "the TaskManagers are still waited for")

	want := &desired.Cluster{ConfigMap: &corev1.ConfigMap{}, JobManagerService: &corev1.Service{},
		TaskManagerDeployment: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)}}}
	s := snap(jobManager(1, "", false))
	s.ConfigMap = want.ConfigMap
	assert.True(t, ChildrenMatch(s, want), "no JobManager Deployment is wanted, and none is needed")
	s.JobManagerDeployment = &appsv1.Deployment{}
	assert.False(t, ChildrenMatch(s, want), "a JobManager Deployment that is not wanted is not up to date")
}
