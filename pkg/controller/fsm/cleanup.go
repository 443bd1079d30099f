package fsm

import (
	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// Cleanup is the cleanup action the job's state calls for: the policy of the way it ended, or
// KeepCluster while it has not ended or will be restarted (a restart needs the cluster).
func Cleanup(spec v1beta1.JobSpec, st v1beta1.JobStatus) v1beta1.CleanupAction {
	policy := v1beta1.CleanupPolicy{AfterJobSucceeds: v1beta1.CleanupActionDeleteCluster,
		AfterJobFails: v1beta1.CleanupActionKeepCluster, AfterJobCancelled: v1beta1.CleanupActionDeleteCluster}
	if spec.CleanupPolicy != nil {
		policy = *spec.CleanupPolicy
	}
	switch st.State {
	case Succeeded:
		return policy.AfterJobSucceeds
	case Cancelled:
		return policy.AfterJobCancelled
	case Failed, Lost:
		if restartAllowed(spec, st) {
			return v1beta1.CleanupActionKeepCluster
		}
		return policy.AfterJobFails
	}
	return v1beta1.CleanupActionKeepCluster
}

// Active reports whether the job may be running in Flink, so its pods must not be replaced.
func Active(st v1beta1.JobStatus) bool {
	switch st.State {
	case Submitting, Running, Savepointing, Cancelling, Failing, Updating, Suspending, Deleting:
		return true
	}
	return false
}
