package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

func TestCleanup(t *testing.T) {
	policy := &v1beta1.CleanupPolicy{AfterJobSucceeds: v1beta1.CleanupActionDeleteTaskManager,
		AfterJobFails: v1beta1.CleanupActionDeleteCluster, AfterJobCancelled: v1beta1.CleanupActionKeepCluster}
	restart := ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	tests := []struct {
		name  string
		spec  v1beta1.JobSpec
		state State
		sp    string
		want  v1beta1.CleanupAction
	}{
		{"defaults: succeeded deletes the cluster", v1beta1.JobSpec{}, Succeeded, "", v1beta1.CleanupActionDeleteCluster},
		{"defaults: failed keeps it", v1beta1.JobSpec{}, Failed, "", v1beta1.CleanupActionKeepCluster},
		{"defaults: cancelled deletes it", v1beta1.JobSpec{}, Cancelled, "", v1beta1.CleanupActionDeleteCluster},
		{"policy: succeeded", v1beta1.JobSpec{CleanupPolicy: policy}, Succeeded, "", v1beta1.CleanupActionDeleteTaskManager},
		{"policy: failed", v1beta1.JobSpec{CleanupPolicy: policy}, Failed, "", v1beta1.CleanupActionDeleteCluster},
		{"policy: lost counts as failed", v1beta1.JobSpec{CleanupPolicy: policy}, Lost, "", v1beta1.CleanupActionDeleteCluster},
		{"policy: cancelled", v1beta1.JobSpec{CleanupPolicy: policy}, Cancelled, "", v1beta1.CleanupActionKeepCluster},
		{"a failed job about to restart keeps its cluster", v1beta1.JobSpec{CleanupPolicy: policy, RestartPolicy: restart}, Failed, "/sp/1", v1beta1.CleanupActionKeepCluster},
		{"restart policy without a savepoint: the failure policy", v1beta1.JobSpec{CleanupPolicy: policy, RestartPolicy: restart}, Failed, "", v1beta1.CleanupActionDeleteCluster},
		{"a running job keeps its cluster", v1beta1.JobSpec{CleanupPolicy: policy}, Running, "", v1beta1.CleanupActionKeepCluster},
		{"a failed job about to restart from its latest state keeps its cluster", v1beta1.JobSpec{CleanupPolicy: policy,
			RestartPolicy: ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)}, Failed, "/sp/1", v1beta1.CleanupActionKeepCluster},
		{"a failed job whose restart has nothing to restore: the failure policy", v1beta1.JobSpec{CleanupPolicy: policy,
			RestartPolicy: ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)}, Failed, "", v1beta1.CleanupActionDeleteCluster},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Cleanup(tt.spec, v1beta1.JobStatus{State: tt.state, SavepointLocation: tt.sp}))
		})
	}
}

func TestActive(t *testing.T) {
	for _, s := range States {
		want := s == Submitting || s == Running || s == Savepointing || s == Cancelling || s == Failing || s == Updating || s == Suspending || s == Deleting
		assert.Equal(t, want, Active(v1beta1.JobStatus{State: s}), s)
	}
}
