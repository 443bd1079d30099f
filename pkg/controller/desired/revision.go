package desired

import (
	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// JobRevision identifies what a job cluster's job runs with: the whole spec except the fields that
// change no running pod and no submission (TaskManager replicas scale in place; savepoint
// requests, cancellation and the policies act on the running job; the original operator's fields
// that have one accepted value here change nothing). It hashes the user's spec, not the objects
// built from it, so an operator upgrade that builds objects differently never restarts a running
// job; fields added to the API must therefore be omitted from JSON while unset.
func JobRevision(fc *v1beta1.FlinkCluster) string {
	spec := fc.Spec.DeepCopy()
	spec.TaskManager.Replicas = 0
	spec.RecreateOnUpdate = nil
	spec.JobManager.Replicas = nil
	spec.TaskManager.DeploymentType = ""
	if job := spec.Job; job != nil {
		job.SavepointGeneration = 0
		job.CancelRequested = nil
		job.AutoSavepointSeconds = nil
		job.SavepointsDir = nil
		job.RestartPolicy = nil
		job.CleanupPolicy = nil
		job.TakeSavepointOnUpdate = nil
		job.TakeSavepointOnUpgrade = nil
		job.Mode = nil
		job.FromSavepoint = nil
	}
	return hashOf(spec)
}
