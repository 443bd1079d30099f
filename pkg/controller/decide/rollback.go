package decide

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// The events of spec.job.rollback.
const (
	ReasonRollingBack = "RollingBack"
	ReasonRolledBack  = "RolledBack"
)

// inForce: a rollback of the spec's own revision is recorded, so the stable revision runs
// instead of it until the spec changes.
func inForce(fc *v1beta1.FlinkCluster) (*v1beta1.RollbackStatus, bool) {
	job := jobStatus(fc)
	r := job.Rollback
	if fc.Spec.Job == nil || fc.Spec.Job.Rollback == nil || r == nil || r.FailedRevision == "" || r.StableSpec == "" {
		return nil, false
	}
	return r, desired.JobRevision(fc) == r.FailedRevision
}

// effective is the snapshot with the spec the operator acts on: the user's, or, while a
// rollback is in force, the stable revision's (desired.RestoredSpec). A stable spec that no
// longer parses leaves the user's (the rollback then cannot hold, and condition RolledBack says
// so through the job state).
func effective(snap *snapshot.Snapshot) *snapshot.Snapshot {
	fc := snap.Cluster
	if fc == nil {
		return snap
	}
	r, ok := inForce(fc)
	if !ok {
		return snap
	}
	var stable v1beta1.FlinkClusterSpec
	if err := json.Unmarshal([]byte(r.StableSpec), &stable); err != nil || stable.Job == nil {
		return snap
	}
	out := *snap
	out.Cluster = fc.DeepCopy()
	out.Cluster.Spec = *desired.RestoredSpec(&stable, &fc.Spec)
	return &out
}

// provedStable: the current attempt runs well by this process's reads of its metrics: it
// completed a checkpoint, or runs with checkpointing disabled.
func provedStable(snap *snapshot.Snapshot) bool {
	if !liveJob(snap) || snap.Flink.State != "RUNNING" {
		return false
	}
	if jobStatus(snap.Cluster).CheckpointRetention == v1beta1.CheckpointRetentionCheckpointingDisabled {
		return true
	}
	n := len(snap.HealthSamples)
	return n > 0 && snap.HealthSamples[n-1].Checkpoints > 0
}

// onTrial: with spec.job.rollback, the running attempt's revision is not recorded stable yet and
// it is within its rollback timeout: its metrics are then read at every poll rather than once
// per health interval, so that it is rolled back (or recorded) within a poll. Past the timeout
// (a first revision has nothing to roll back to) the health interval applies again.
func onTrial(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) bool {
	fc := snap.Cluster
	job := jobStatus(fc)
	if fc.Spec.Job.Rollback == nil || job.SubmitTime == nil || (job.Rollback != nil && job.Revision == job.Rollback.StableRevision) {
		return false
	}
	window := fc.Spec.Job.RollbackTimeout() + settings.PollInterval
	return liveJob(snap) && !provedStable(snap) && now.Sub(job.SubmitTime.Time) < window
}

// nextRollback is status's rollback record after the step: the stable revision recorded once
// the user's own revision runs well, and a rollback lifted once the spec no longer asks for the
// failed revision. user is the FlinkCluster as the user wrote it.
func nextRollback(user *v1beta1.FlinkCluster, stable bool, job v1beta1.JobStatus) *v1beta1.RollbackStatus {
	if user.Spec.Job.Rollback == nil {
		return nil
	}
	r := &v1beta1.RollbackStatus{}
	if job.Rollback != nil {
		r = job.Rollback.DeepCopy()
	}
	revision := desired.JobRevision(user)
	if r.State == v1beta1.RollbackStateRolledBack && revision != r.FailedRevision {
		*r = v1beta1.RollbackStatus{StableRevision: r.StableRevision, StableSpec: r.StableSpec}
	}
	if stable && job.State == fsm.Running && job.Revision == revision && r.StableRevision != revision {
		spec, err := json.Marshal(user.Spec)
		if err == nil {
			r.StableRevision, r.StableSpec = revision, string(spec)
		}
	}
	return r
}

// rollbackNotices are the events of a rollback's progress.
func rollbackNotices(before, after v1beta1.JobStatus) []fsm.Notice {
	b, a := before.Rollback, after.Rollback
	if a == nil || (b != nil && b.State == a.State) {
		return nil
	}
	switch a.State {
	case v1beta1.RollbackStateRollingBack:
		return []fsm.Notice{{Warning: true, Reason: ReasonRollingBack, Message: fmt.Sprintf(
			"%s: %s; rolling back to revision %s from %s", a.Reason, a.Message, a.StableRevision, orNothing(a.RestoreFrom))}}
	case v1beta1.RollbackStateRolledBack:
		return []fsm.Notice{{Warning: true, Reason: ReasonRolledBack, Message: fmt.Sprintf(
			"resubmitted revision %s as job %s from %s; revision %s is not tried again until the spec changes",
			a.StableRevision, after.ID, orNothing(a.RestoreFrom), a.FailedRevision)}}
	}
	return nil
}

func orNothing(location string) string {
	if location == "" {
		return "no state (the update was Stateless)"
	}
	return location
}
