package decide

import (
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// HACleanup is what the updater removes of a cluster's high availability, in this order.
type HACleanup struct {
	// ShutDownFlink is the JobManager REST URL to ask for a clean shutdown ("" none): on it Flink
	// deletes its own HA data, in the storage directory too, which the operator cannot reach.
	ShutDownFlink string
	// DeleteJobManager: delete the JobManager Deployment in the foreground, so that it is gone
	// only once its pods are, and no JobManager writes an HA ConfigMap after they are deleted.
	DeleteJobManager bool
	// ConfigMaps are the HA ConfigMaps to delete.
	ConfigMaps []snapshot.HAConfigMap
	// PodsMayRun: the JobManager pods outlived their deadline, and the ConfigMaps are deleted
	// anyway (a deletion never hangs), which is reported.
	PodsMayRun bool
}

// jobManagerStopAllowance is how long JobManager pods may take to stop once their Deployment is
// deleted: a grace period of 30 s, and the time a node takes to confirm it.
const jobManagerStopAllowance = 2 * time.Minute

// decideHACleanup is the last part of the deletion of a cluster with high availability: ask
// Flink to shut down cleanly and delete the JobManagers; once they are gone, delete the HA
// ConfigMaps left (what Flink missed, or wrote again while stopping) and let the deletion go.
func decideHACleanup(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) Plan {
	fc := snap.Cluster
	jm := snap.JobManager()
	deadline := haCleanupDeadline(fc, settings)
	switch {
	case jm != nil && jm.GetDeletionTimestamp() == nil && now.Before(deadline):
		c := HACleanup{DeleteJobManager: true}
		if fc.Spec.HighAvailabilityEnabled() && !snap.RESTBlocked() {
			c.ShutDownFlink = snap.JobManagerURL
		}
		return Plan{HACleanup: &c, RequeueAfter: deadline.Sub(now)}
	case jm != nil && now.Before(deadline):
		// The Deployment's removal is a watch event; the requeue only bounds the wait.
		return Plan{RequeueAfter: deadline.Sub(now)}
	}
	return Plan{HACleanup: &HACleanup{ConfigMaps: snap.HAConfigMaps, PodsMayRun: jm != nil}, ReleaseFinalizer: HACleanupFinalizer}
}

// haCleanupDeadline bounds a deletion's wait for the JobManager pods: after the final
// savepoint's own deadline, the time they take to stop.
func haCleanupDeadline(fc *v1beta1.FlinkCluster, settings fsm.Settings) time.Time {
	return deletionDeadline(fc, settings).Add(jobManagerStopAllowance)
}

// haCleanupReady: a deletion's HA cleanup is at its last step, which deletes the HA ConfigMaps
// (so they are listed).
func haCleanupReady(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) bool {
	fc := snap.Cluster
	if fc.DeletionTimestamp == nil || !hasFinalizer(fc, HACleanupFinalizer) ||
		(fc.Spec.Job != nil && hasFinalizer(fc, FinalSavepointFinalizer)) {
		return false
	}
	return snap.JobManager() == nil || !now.Before(haCleanupDeadline(fc, settings))
}

// haConfigMapsDue: the job's cleanup policy deleted the JobManager of a cluster with high
// availability, and this is the first sync that sees it gone (status still says otherwise). Its
// HA ConfigMaps go then: the job ended, so Flink has nothing left to recover, and a JobManager
// that a later restart brings back must not find the old cluster's leader and jobs. The list is
// read once per removal, not on every sync of a stopped cluster.
func haConfigMapsDue(snap *snapshot.Snapshot) bool {
	fc := snap.Cluster
	if fc.DeletionTimestamp != nil || fc.Spec.Job == nil || !hasFinalizer(fc, HACleanupFinalizer) {
		return false
	}
	return !wantedComponents(*fc.Spec.Job, jobStatus(fc)).JobManager && snap.JobManager() == nil &&
		fc.Status.Components.JobManagerDeployment.State != v1beta1.ComponentStateDeleted
}

// attemptMayStart: an application with high availability has no JobManager, and a step from the
// job's state may start an attempt (create its JobManager) in this sync. The cluster's HA
// ConfigMaps are listed then and deleted before that JobManager exists: a JobManager recovers
// every job the HA store names, and one of an attempt that did not end in Flink (Lost) would run
// beside the new one. Jobs that ended in Flink left nothing to recover (their results are in
// Flink's JobResultStore), so this only matters after a loss, but it costs one LIST per attempt
// and is done for every attempt.
func attemptMayStart(snap *snapshot.Snapshot) bool {
	fc := snap.Cluster
	if fc.DeletionTimestamp != nil || !fc.Spec.Job.ApplicationMode() || !fc.Spec.HighAvailabilityEnabled() || snap.Submitter != nil {
		return false
	}
	switch jobStatus(fc).State {
	case "", fsm.Pending, fsm.Submitting, fsm.Deploying, fsm.Failed, fsm.Lost:
		return true
	}
	return false
}

// startsAttempt: the step creates an attempt's JobManager (or submitter).
func startsAttempt(d fsm.Decision) bool {
	for _, a := range d.Actions {
		if a.Kind == fsm.ActCreateSubmitter {
			return true
		}
	}
	return false
}
