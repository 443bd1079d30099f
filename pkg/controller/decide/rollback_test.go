package decide

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// rollbackCluster is a job cluster with spec.job.rollback, running image "good".
func rollbackCluster() *v1beta1.FlinkCluster {
	fc := jobCluster()
	fc.Spec.Image.Name = "good"
	fc.Spec.Job.Args = []string{"--ok"}
	fc.Spec.Job.Rollback = &v1beta1.JobRollback{}
	return fc
}

func specJSON(t *testing.T, fc *v1beta1.FlinkCluster) string {
	b, err := json.Marshal(fc.Spec)
	require.NoError(t, err)
	return string(b)
}

func TestNextRollback(t *testing.T) {
	good := rollbackCluster()
	goodRev := desired.JobRevision(good)
	bad := rollbackCluster()
	bad.Spec.Image.Name = "bad"
	badRev := desired.JobRevision(bad)
	running := func(rev string) v1beta1.JobStatus { return v1beta1.JobStatus{State: fsm.Running, Revision: rev} }

	t.Run("a revision that runs well is recorded with its spec", func(t *testing.T) {
		r := nextRollback(good, true, running(goodRev))
		require.NotNil(t, r)
		assert.Equal(t, goodRev, r.StableRevision)
		assert.JSONEq(t, specJSON(t, good), r.StableSpec)
	})
	t.Run("not before it runs well", func(t *testing.T) {
		assert.Equal(t, &v1beta1.RollbackStatus{}, nextRollback(good, false, running(goodRev)))
	})
	t.Run("not when the spec already asks for another revision (the running one's spec is gone)", func(t *testing.T) {
		assert.Empty(t, nextRollback(bad, true, running(goodRev)).StableRevision)
	})
	t.Run("not while the job is not Running", func(t *testing.T) {
		job := running(goodRev)
		job.State = fsm.Updating
		assert.Empty(t, nextRollback(good, true, job).StableRevision)
	})
	t.Run("without spec.job.rollback: no record", func(t *testing.T) {
		fc := good.DeepCopy()
		fc.Spec.Job.Rollback = nil
		assert.Nil(t, nextRollback(fc, true, running(goodRev)))
	})
	rolledBack := func() v1beta1.JobStatus {
		job := running(goodRev)
		job.Rollback = &v1beta1.RollbackStatus{StableRevision: goodRev, StableSpec: specJSON(t, good),
			State: v1beta1.RollbackStateRolledBack, FailedRevision: badRev, Reason: fsm.RollbackReasonFailed, RestoreFrom: "/sp/1"}
		return job
	}
	t.Run("in force while the spec asks for the failed revision", func(t *testing.T) {
		assert.Equal(t, rolledBack().Rollback, nextRollback(bad, true, rolledBack()))
	})
	t.Run("lifted by any change of the spec; the stable revision stays", func(t *testing.T) {
		newer := bad.DeepCopy()
		newer.Spec.Image.Name = "fixed"
		r := nextRollback(newer, true, rolledBack())
		assert.Equal(t, &v1beta1.RollbackStatus{StableRevision: goodRev, StableSpec: specJSON(t, good)}, r)
	})
	t.Run("a change back to the stable spec lifts it too", func(t *testing.T) {
		r := nextRollback(good, true, rolledBack())
		assert.Empty(t, r.State)
		assert.Equal(t, goodRev, r.StableRevision)
	})
	t.Run("not lifted while rolling back (the attempt is not submitted yet)", func(t *testing.T) {
		job := rolledBack()
		job.Rollback.State = v1beta1.RollbackStateRollingBack
		newer := bad.DeepCopy()
		newer.Spec.Image.Name = "fixed"
		assert.Equal(t, v1beta1.RollbackStateRollingBack, nextRollback(newer, true, job).State)
	})
}

func TestEffectiveSpec(t *testing.T) {
	good := rollbackCluster()
	bad := rollbackCluster()
	bad.Spec.Image.Name = "bad"
	bad.Spec.Job.Args = []string{"--fail"}
	bad.Spec.TaskManager.Replicas = 4
	bad.Spec.Job.SavepointGeneration = 3
	bad.Status.Components.Job = &v1beta1.JobStatus{Rollback: &v1beta1.RollbackStatus{StableRevision: desired.JobRevision(good),
		StableSpec: specJSON(t, good), State: v1beta1.RollbackStateRolledBack, FailedRevision: desired.JobRevision(bad)}}

	got := effective(&snapshot.Snapshot{Cluster: bad}).Cluster
	assert.Equal(t, "good", got.Spec.Image.Name, "the stable revision's fields that restart the job")
	assert.Equal(t, []string{"--ok"}, got.Spec.Job.Args)
	assert.Equal(t, int32(4), got.Spec.TaskManager.Replicas, "the user's fields that act live")
	assert.Equal(t, int32(3), got.Spec.Job.SavepointGeneration)
	assert.Equal(t, desired.JobRevision(good), desired.JobRevision(got))
	assert.Equal(t, "bad", bad.Spec.Image.Name, "the user's object is not changed")

	moved := bad.DeepCopy()
	moved.Spec.Image.Name = "fixed"
	assert.Same(t, moved, effective(&snapshot.Snapshot{Cluster: moved}).Cluster, "a new spec is the user's")
	off := bad.DeepCopy()
	off.Spec.Job.Rollback = nil
	assert.Same(t, off, effective(&snapshot.Snapshot{Cluster: off}).Cluster, "without spec.job.rollback")
	broken := bad.DeepCopy()
	broken.Status.Components.Job.Rollback.StableSpec = "{"
	assert.Same(t, broken, effective(&snapshot.Snapshot{Cluster: broken}).Cluster, "a stable spec that does not parse")
}

func TestProvedStable(t *testing.T) {
	snap := func(flinkState string, checkpoints int64, retention v1beta1.CheckpointRetention) *snapshot.Snapshot {
		fc := rollbackCluster()
		fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Running, ID: "j", CheckpointRetention: retention}
		s := &snapshot.Snapshot{Cluster: fc, Flink: fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: flinkState}}
		if checkpoints >= 0 {
			s.HealthSamples = []health.Sample{{At: t0, Checkpoints: checkpoints}}
		}
		return s
	}
	assert.True(t, provedStable(snap("RUNNING", 1, "")), "a completed checkpoint")
	assert.False(t, provedStable(snap("RUNNING", 0, "")), "none yet")
	assert.False(t, provedStable(snap("RUNNING", -1, "")), "not read yet")
	assert.False(t, provedStable(snap("RESTARTING", 3, "")), "not running now")
	assert.True(t, provedStable(snap("RUNNING", -1, v1beta1.CheckpointRetentionCheckpointingDisabled)), "no checkpointing: running is enough")
}

func TestRollbackNotices(t *testing.T) {
	rolling := v1beta1.JobStatus{Rollback: &v1beta1.RollbackStatus{StableRevision: "old", State: v1beta1.RollbackStateRollingBack,
		FailedRevision: "new", Reason: fsm.RollbackReasonFailed, Message: "the job failed", RestoreFrom: "/sp/1"}}
	n := rollbackNotices(v1beta1.JobStatus{Rollback: &v1beta1.RollbackStatus{StableRevision: "old"}}, rolling)
	require.Len(t, n, 1)
	assert.Equal(t, ReasonRollingBack, n[0].Reason)
	assert.Contains(t, n[0].Message, "UpdateFailed: the job failed; rolling back to revision old from /sp/1")
	assert.Empty(t, rollbackNotices(rolling, rolling), "once")
	done := *rolling.DeepCopy()
	done.Rollback.State, done.ID = v1beta1.RollbackStateRolledBack, "j3"
	n = rollbackNotices(rolling, done)
	require.Len(t, n, 1)
	assert.Equal(t, ReasonRolledBack, n[0].Reason)
	assert.Contains(t, n[0].Message, "resubmitted revision old as job j3 from /sp/1; revision new is not tried again until the spec changes")
}

func TestMetricsAreReadAtEveryPollOnlyWhileOnTrial(t *testing.T) {
	settings := fsm.DefaultSettings()
	window := v1beta1.DefaultRollbackTimeout + settings.PollInterval
	snap := func(edit func(*v1beta1.FlinkCluster)) *snapshot.Snapshot {
		fc := rollbackCluster()
		fc.Status.Components.Job = &v1beta1.JobStatus{State: fsm.Running, ID: "j", Revision: "new", SubmitTime: &metav1.Time{Time: t0},
			Rollback: &v1beta1.RollbackStatus{StableRevision: "old"}}
		if edit != nil {
			edit(fc)
		}
		return &snapshot.Snapshot{Cluster: fc, Flink: fsm.FlinkObservation{Polled: true, Reachable: true, Found: true, State: "RUNNING"}}
	}
	tests := []struct {
		name string
		snap *snapshot.Snapshot
		now  time.Duration
		want bool
	}{
		{"a new revision, just submitted", snap(nil), 0, true},
		{"until its timeout and a poll", snap(nil), window - time.Second, true},
		{"not after", snap(nil), window, false},
		{"the first revision, nothing recorded yet", snap(func(fc *v1beta1.FlinkCluster) { fc.Status.Components.Job.Rollback = nil }), 0, true},
		{"the stable revision", snap(func(fc *v1beta1.FlinkCluster) { fc.Status.Components.Job.Revision = "old" }), 0, false},
		{"without spec.job.rollback", snap(func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Rollback = nil }), 0, false},
		{"a job that does not run in Flink", snap(func(fc *v1beta1.FlinkCluster) { fc.Status.Components.Job.State = fsm.Failed }), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, onTrial(tt.snap, settings, t0.Add(tt.now)))
		})
	}
	proved := snap(nil)
	proved.HealthSamples = []health.Sample{{At: t0, Checkpoints: 1}}
	assert.False(t, onTrial(proved, settings, t0), "proved: the health interval again")
}
