//go:build e2e && flink

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/test/flinkcluster"
)

// The keyed counter of the latest-state scenarios: 20 records a second over 4 keys (5 per key),
// a checkpoint every 2 s, no periodic savepoint.
const (
	checkpointMS  = 2000
	recordsPerKey = 5.0 // per second
)

// maxReplay is the most counts per key a restore from the latest checkpoint may repeat: the
// input of one checkpoint interval, plus what arrives while that checkpoint completes (its
// barrier is taken at the trigger, its completion is what makes it the latest; 500 ms here).
const maxReplay = 12 // 5 per key per second × (2 s + 0.5 s), rounded down

// checkpointingCluster runs the keyed counter with checkpoints every 2 s; jobArgs and jobFields
// add program arguments and job fields, props Flink properties. Flink's restart strategy is none,
// so a lost TaskManager fails the job and the operator's restart policy is what recovers it.
func checkpointingCluster(ns, name, dir, out, jobArgs, jobFields, props string) string {
	job := counterJob(fmt.Sprintf(`"--out", "%s", "--rate", "20", "--keys", "4", "--checkpoint-ms", "%d"%s`, out, checkpointMS, jobArgs),
		fmt.Sprintf("    parallelism: 1\n    savepointsDir: file://%s/savepoints\n%s", dir, jobFields))
	return flinkCluster(ns, name, 1, job+streamingProperties+props)
}

// intervalProperty tells the operator the job's checkpoint interval, which the job sets in its
// code: the operator sizes execution.checkpointing.num-retained from it (docs/api.md).
var intervalProperty = fmt.Sprintf("    execution.checkpointing.interval: \"%d ms\"\n", checkpointMS)

// newestOnly skips a scenario on every version but the newest: the whole set runs there and a
// representative subset on the others (docs/e2e.md lists which).
func newestOnly(t *testing.T) {
	t.Helper()
	if env.version != flinkcluster.DefaultVersions[0] {
		t.Skipf("runs on Flink %s only; on %s a representative subset runs (docs/e2e.md lists it)", flinkcluster.DefaultVersions[0], env.version)
	}
}

// replay is how many counts each key repeated when the job resumed: the old job's last count
// minus the count the new job started from.
func replay(before, after map[string][]int) map[string]int {
	out := map[string]int{}
	for key, old := range before {
		if fresh := after[key]; len(fresh) > 0 && len(old) > 0 {
			out[key] = old[len(old)-1] - (fresh[0] - 1)
		}
	}
	return out
}

// countsAfter are the counts written after before's, per key (a job restored into the same file).
func countsAfter(before, all map[string][]int) map[string][]int {
	out := map[string][]int{}
	for k, v := range all {
		if n := len(before[k]); len(v) > n {
			out[k] = v[n:]
		}
	}
	return out
}

func lastCounts(c map[string][]int) map[string]int {
	out := map[string]int{}
	for k, v := range c {
		if len(v) > 0 {
			out[k] = v[len(v)-1]
		}
	}
	return out
}

// TestLatestState resumes a checkpointing job from its latest state on real Flink: after a
// TaskManager crash (restartPolicy FromLatestStateOnFailure), through a LastState update, and
// after a JobManager crash without HA (from the checkpoint the operator recorded).
func TestLatestState(t *testing.T) {
	ns, dir := newNamespace(t, "latest")
	const name = "latest"
	out1 := filepath.Join(dir, "counts-1.txt")
	apply(t, checkpointingCluster(ns, name, dir, out1, "", "    restartPolicy: FromLatestStateOnFailure\n    upgradeMode: LastState", intervalProperty))
	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	waitCounts(t, out1, 4, 3, time.Minute)

	// A savepoint first: every later resume must come from newer state than it.
	patchJob(t, ns, name, `{"savepointGeneration":1}`)
	fc = waitFor(t, ns, name, time.Minute, "the requested savepoint", func(fc *v1beta1.FlinkCluster) bool {
		return jobOf(fc).SavepointGeneration == 1 && jobOf(fc).State == v1beta1.JobStateRunning
	})
	atSavepoint := lastCounts(counts(t, out1)) // at or above each key's count in the savepoint
	waitCounts(t, out1, 4, atSavepoint["k0"]+40, 2*time.Minute)
	fc = waitFor(t, ns, name, 2*time.Minute, "the checkpoint retention to be read", func(fc *v1beta1.FlinkCluster) bool {
		return jobOf(fc).CheckpointRetention != ""
	})
	assert.Equal(t, v1beta1.CheckpointRetentionRetainOnCancellation, jobOf(fc).CheckpointRetention)
	cm, err := env.kube.CoreV1().ConfigMaps(ns).Get(context.Background(), names.ConfigMap(name), metav1.GetOptions{})
	require.NoError(t, err)
	retainedKey := desired.NumRetainedKey
	if d := env.dist; d.Major == 1 && d.Minor < 20 {
		retainedKey = desired.LegacyNumRetainedKey // renamed at 1.20
	}
	assert.Contains(t, cm.Data[desired.FlinkConfV1Key], retainedKey+": 46", "(60 s + 30 s) / 2 s + 1")
	waitFor(t, ns, name, 2*time.Minute, "condition LatestStateAvailable", func(fc *v1beta1.FlinkCluster) bool {
		c := meta.FindStatusCondition(fc.Status.Conditions, "LatestStateAvailable")
		return c != nil && c.Reason == "Retained"
	})

	t.Run("a TaskManager crash: the job resumes from its latest checkpoint", func(t *testing.T) {
		jobID := jobOf(getFC(t, ns, name)).ID
		pod, err := env.node.Kill(ns, componentSelector(name, "taskmanager"), "taskmanager")
		require.NoError(t, err)
		before := counts(t, out1) // the only TaskManager is dead: nothing more is counted
		t.Logf("killed the TaskManager of pod %s", pod)
		fc := waitFor(t, ns, name, 3*time.Minute, "the job to be restarted", func(fc *v1beta1.FlinkCluster) bool {
			return jobRunning(fc) && jobOf(fc).ID != jobID
		})
		j := jobOf(fc)
		assert.True(t, j.FromCheckpoint, "restored from a checkpoint, not the savepoint")
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+jobID+"/chk-")
		waitCounts(t, out1, 4, countsLen(before)+2, 2*time.Minute)
		after := countsAfter(before, counts(t, out1))
		assertContinues(t, before, after)
		for key, n := range atSavepoint {
			assert.Greater(t, after[key][0], n+1, "key %s resumed from state newer than the savepoint", key)
		}
		r := replay(before, after)
		t.Logf("REPLAY after the TaskManager crash, counts per key: %v (checkpoint interval %d ms = %.0f records per key; bound %d)", r, checkpointMS, recordsPerKey*checkpointMS/1000, maxReplay)
		for key, n := range r {
			assert.LessOrEqual(t, n, maxReplay, "key %s replayed more than one checkpoint interval", key)
		}
		waitEvent(t, ns, name, "Restoring: attempt 2 restoring from checkpoint")
	})

	out2 := filepath.Join(dir, "counts-2.txt")
	t.Run("a LastState update takes no savepoint and continues from the latest checkpoint", func(t *testing.T) {
		before := jobOf(getFC(t, ns, name))
		savepointDirs := len(savepoints(t, filepath.Join(dir, "savepoints")))
		fc := waitFor(t, ns, name, 2*time.Minute, "a checkpoint of the restarted job to be recorded", func(fc *v1beta1.FlinkCluster) bool {
			rec := jobOf(fc).LatestCheckpoint
			return rec != nil && rec.JobID == jobOf(fc).ID
		})
		jobID := jobOf(fc).ID
		patchJob(t, ns, name, fmt.Sprintf(`{"parallelism":2,"args":["--out","%s","--rate","20","--keys","4","--checkpoint-ms","%d"]}`, out2, checkpointMS))
		fc = waitFor(t, ns, name, 4*time.Minute, "the updated job to run", func(fc *v1beta1.FlinkCluster) bool {
			return jobRunning(fc) && jobOf(fc).ID != jobID
		})
		j := jobOf(fc)
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+jobID+"/chk-")
		assert.Equal(t, before.SavepointGeneration, j.SavepointGeneration, "no savepoint was taken")
		assert.Len(t, savepoints(t, filepath.Join(dir, "savepoints")), savepointDirs, "no savepoint was written")
		old := counts(t, out1) // the cancelled job's output is final
		after := waitCounts(t, out2, 4, 2, time.Minute)
		assertContinues(t, old, after)
		r := replay(old, after)
		t.Logf("REPLAY after the LastState update, counts per key: %v (bound %d)", r, maxReplay)
		for key, n := range r {
			assert.LessOrEqual(t, n, maxReplay, "key %s replayed more than one checkpoint interval", key)
		}
	})

	t.Run("a JobManager crash without HA: the job resumes from the recorded checkpoint, which still exists", func(t *testing.T) {
		newestOnly(t)
		// Crash the JobManager late in a recording interval, when the recorded checkpoint is
		// oldest: Flink retains enough checkpoints that it still exists.
		fc := waitFor(t, ns, name, 3*time.Minute, "a recorded checkpoint 40 s old", func(fc *v1beta1.FlinkCluster) bool {
			rec := jobOf(fc).LatestCheckpoint
			return rec != nil && rec.JobID == jobOf(fc).ID && rec.RecordTime != nil && time.Since(rec.RecordTime.Time) >= 40*time.Second
		})
		rec := *jobOf(fc).LatestCheckpoint
		jobID := jobOf(fc).ID
		pod, err := env.node.Kill(ns, componentSelector(name, "jobmanager"), "jobmanager")
		require.NoError(t, err)
		t.Logf("killed the JobManager of pod %s; recorded checkpoint %d at %s, recorded %s ago", pod, rec.ID, rec.Location, time.Since(rec.RecordTime.Time).Round(time.Second))
		waitFor(t, ns, name, 2*time.Minute, "the job to be Lost", func(fc *v1beta1.FlinkCluster) bool {
			return jobOf(fc).State == v1beta1.JobStateLost
		})
		before := counts(t, out2) // the TaskManager's tasks stopped when it lost the JobManager
		fc = waitFor(t, ns, name, 4*time.Minute, "the job to run again", func(fc *v1beta1.FlinkCluster) bool {
			return jobRunning(fc) && jobOf(fc).ID != jobID
		})
		j := jobOf(fc)
		assert.Equal(t, rec.Location, j.FromSavepoint, "restored from the recorded checkpoint")
		assert.True(t, j.FromCheckpoint)
		assert.Empty(t, j.UnrestorableLocations, "the recorded checkpoint still existed")
		waitCounts(t, out2, 4, countsLen(before)+2, 2*time.Minute)
		after := countsAfter(before, counts(t, out2))
		assertContinues(t, before, after)
		t.Logf("REPLAY after the JobManager crash, counts per key: %v (the record was %s old; it is refreshed every minute)",
			replay(before, after), time.Since(rec.RecordTime.Time).Round(time.Second))
	})
}

// TestLastStateUpdateWaits: a LastState update that cannot resume from a checkpoint does not
// stop the job: without a completed checkpoint it waits, and for a job whose code deletes its
// checkpoints on cancellation it refuses, each with the reason in condition UpdatePending.
func TestLastStateUpdateWaits(t *testing.T) {
	newestOnly(t)
	tests := []struct {
		name, jobArgs, reason string
	}{
		{"no-checkpoint-yet", "", "the job has not completed a checkpoint yet"},
		{"deletes-on-cancel", `, "--checkpoint-retention", "DELETE_ON_CANCELLATION"`, "would delete its checkpoints when it is cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, dir := newNamespace(t, tt.name)
			const name = "waits"
			out := filepath.Join(dir, "counts.txt")
			manifest := checkpointingCluster(ns, name, dir, out, tt.jobArgs, "    upgradeMode: LastState", "")
			if tt.jobArgs == "" {
				// A checkpoint interval far longer than the test. Flink starts the first checkpoint
				// after a random delay between the minimum pause and the interval (a CI run saw one
				// complete within seconds), so the minimum pause is an hour too: none completes.
				manifest = strings.Replace(manifest, fmt.Sprintf(`"--checkpoint-ms", "%d"`, checkpointMS), `"--checkpoint-ms", "3600000"`, 1)
				manifest += "    execution.checkpointing.min-pause: \"1 h\"\n"
			}
			apply(t, manifest)
			fc := waitFor(t, ns, name, 4*time.Minute, "the job to run with its retention read", func(fc *v1beta1.FlinkCluster) bool {
				return jobRunning(fc) && jobOf(fc).CheckpointRetention != ""
			})
			jobID := jobOf(fc).ID
			waitCounts(t, out, 4, 3, time.Minute)
			patchJob(t, ns, name, `{"parallelism":2}`)
			fc = waitFor(t, ns, name, time.Minute, "UpdatePending to say why", func(fc *v1beta1.FlinkCluster) bool {
				c := meta.FindStatusCondition(fc.Status.Conditions, "UpdatePending")
				return c != nil && c.Reason == "LastStateUnavailable" && strings.Contains(c.Message, tt.reason)
			})
			t.Logf("UpdatePending: %s", meta.FindStatusCondition(fc.Status.Conditions, "UpdatePending").Message)
			n := countsLen(counts(t, out))
			waitCounts(t, out, 4, n+25, time.Minute) // five more seconds of counting
			j := jobOf(getFC(t, ns, name))
			assert.Equal(t, jobID, j.ID, "the job was not stopped")
			assert.Equal(t, v1beta1.JobStateRunning, j.State)
			var fj flinkJob
			flinkGET(t, ns, name+"-jobmanager", "/jobs/"+jobID, &fj)
			assert.Equal(t, "RUNNING", fj.State, "Flink's own view of the job")
		})
	}
}
