//go:build e2e && flink

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// TestSuspendAndResume: spec.job.state Suspended stops the counter with a savepoint and deletes
// its TaskManagers, and nothing counts while it is suspended; Running resumes it from that
// savepoint as a new attempt, and every key counts on from exactly where it stopped (a stop with
// a savepoint leaves nothing to replay).
func TestSuspendAndResume(t *testing.T) {
	ns, dir := newNamespace(t, "suspend")
	const name = "suspend"
	out := filepath.Join(dir, "counts.txt")
	apply(t, streamingCluster(ns, name, dir, out, ""))
	first := jobOf(waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)).ID
	waitCounts(t, out, 4, 10, 2*time.Minute)

	patchJob(t, ns, name, `{"state":"Suspended"}`)
	fc := waitFor(t, ns, name, 2*time.Minute, "the job to be suspended",
		func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).State == v1beta1.JobStateSuspended })
	j := jobOf(fc)
	require.NotNil(t, j.Savepoint)
	assert.Equal(t, v1beta1.SavepointReasonSuspend, j.Savepoint.Reason)
	assert.Equal(t, v1beta1.SavepointStateSucceeded, j.Savepoint.State)
	suspendedAt := j.SavepointLocation
	require.NotEmpty(t, suspendedAt)
	ctx := context.Background()
	tms := labels.SelectorFromSet(componentSelector(name, "taskmanager")).String()
	require.Eventually(t, func() bool {
		pods, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: tms})
		return err == nil && len(pods.Items) == 0
	}, time.Minute, time.Second, "the TaskManagers to go")
	before := counts(t, out)
	time.Sleep(3 * time.Second)
	assert.Equal(t, before, counts(t, out), "nothing counts while suspended")

	patchJob(t, ns, name, `{"state":"Running"}`)
	fc = waitFor(t, ns, name, 4*time.Minute, "the resumed job to run",
		func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != first })
	assert.Equal(t, suspendedAt, jobOf(fc).FromSavepoint, "resumed from the suspension's savepoint")
	assert.Zero(t, jobOf(fc).RestartCount)
	all := waitCounts(t, out, 4, countsLen(before)+2, 2*time.Minute)
	for key, c := range countsAfter(before, all) {
		old := before[key]
		assert.Equal(t, old[len(old)-1]+1, c[0], "key %s counts on from where it stopped", key)
	}
}

// TestRestoreFromAnOlderSavepoint: a user savepoint is taken, the counter runs on, then
// fromSavepoint names that savepoint and restoreGeneration + 1 asks for it: the new attempt's
// counts go back to what the savepoint held, between the counts when it was requested and when
// it completed.
func TestRestoreFromAnOlderSavepoint(t *testing.T) {
	ns, dir := newNamespace(t, "restore")
	const name = "restore"
	out := filepath.Join(dir, "counts.txt")
	apply(t, streamingCluster(ns, name, dir, out, ""))
	first := jobOf(waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)).ID
	waitCounts(t, out, 4, 5, 2*time.Minute)

	atRequest := lastCounts(counts(t, out))
	patchJob(t, ns, name, `{"savepointGeneration":1}`)
	fc := waitFor(t, ns, name, time.Minute, "the savepoint to go back to",
		func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).SavepointGeneration == 1 })
	atCompletion := lastCounts(counts(t, out))
	chosen := jobOf(fc).SavepointLocation
	require.NotEmpty(t, chosen)
	waitCounts(t, out, 4, countsLen(counts(t, out))+20, 2*time.Minute)

	// The restored attempt writes to a file of its own (args change with the request), so its
	// first counts are known.
	out2 := filepath.Join(dir, "counts-2.txt")
	patchJob(t, ns, name, fmt.Sprintf(`{"fromSavepoint":%q,"restoreGeneration":1,"args":["--out","%s","--rate","20","--keys","4"]}`, chosen, out2))
	fc = waitFor(t, ns, name, 4*time.Minute, "the restored job to run",
		func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != first })
	assert.Equal(t, chosen, jobOf(fc).FromSavepoint)
	assert.Equal(t, int32(1), jobOf(fc).RestoreGeneration)
	replaced := lastCounts(counts(t, out))
	for key, c := range waitCounts(t, out2, 4, 2, 2*time.Minute) {
		assert.GreaterOrEqual(t, c[0], atRequest[key]+1, "key %s: not older than the savepoint", key)
		assert.LessOrEqual(t, c[0], atCompletion[key]+1, "key %s: back to the savepoint's count", key)
		assert.Less(t, c[0], replaced[key], "key %s: older than the job it replaced", key)
	}
}

// TestSavepointRetention: with maxCount 2, five savepoints leave exactly two savepoint
// directories on disk, the newest two, which status still lists; the JobManager disposed of the
// other three, marked Disposed in the history, while the job ran on.
func TestSavepointRetention(t *testing.T) {
	ns, dir := newNamespace(t, "retention")
	const name = "retention"
	out := filepath.Join(dir, "counts.txt")
	apply(t, streamingCluster(ns, name, dir, out, "    savepointRetention:\n      maxCount: 2\n"))
	first := jobOf(waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)).ID
	for n := int32(1); n <= 5; n++ {
		patchJob(t, ns, name, fmt.Sprintf(`{"savepointGeneration":%d}`, n))
		waitFor(t, ns, name, time.Minute, fmt.Sprintf("savepoint %d", n), func(fc *v1beta1.FlinkCluster) bool {
			return jobOf(fc).SavepointGeneration == n && jobOf(fc).State == v1beta1.JobStateRunning
		})
	}
	fc := waitFor(t, ns, name, time.Minute, "three disposals", func(fc *v1beta1.FlinkCluster) bool {
		disposed := 0
		for _, e := range jobOf(fc).SavepointHistory {
			if e.Disposal != nil && e.Disposal.State == v1beta1.DisposalStateDisposed {
				disposed++
			}
		}
		return disposed == 3
	})
	var kept []string
	for _, e := range jobOf(fc).SavepointHistory {
		if e.State == v1beta1.SavepointStateSucceeded && e.Disposal == nil {
			kept = append(kept, strings.TrimPrefix(e.Location, "file:"))
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "savepoints"))
	require.NoError(t, err)
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, filepath.Join(dir, "savepoints", e.Name()))
	}
	assert.ElementsMatch(t, kept, onDisk, "exactly the two newest savepoint directories are left")
	assert.Len(t, onDisk, 2)
	assert.Equal(t, first, jobOf(fc).ID, "the job ran on")
	waitCounts(t, out, 4, countsLen(counts(t, out))+2, time.Minute)
}

// TestRollback: with spec.job.rollback, the counter checkpoints every second, so its revision is
// recorded as the one that ran well; an update to a revision whose job throws on its first
// record (Flink's restart strategy none: the job FAILS) is rolled back to that revision from the
// update's savepoint, and every key counts on from exactly where the update stopped it. The
// failed revision is not tried again while the spec asks for it.
func TestRollback(t *testing.T) {
	ns, dir := newNamespace(t, "rollback")
	const name = "rollback"
	out := filepath.Join(dir, "counts.txt")
	args := fmt.Sprintf(`"--out", "%s", "--rate", "20", "--keys", "4", "--checkpoint-ms", "1000"`, out)
	job := counterJob(args, fmt.Sprintf("    parallelism: 1\n    savepointsDir: file://%s/savepoints\n    rollback:\n      timeoutSeconds: 120\n", dir))
	apply(t, flinkCluster(ns, name, 1, job+streamingProperties))
	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run well (a completed checkpoint)", func(fc *v1beta1.FlinkCluster) bool {
		j := jobOf(fc)
		return jobRunning(fc) && j.Rollback != nil && j.Rollback.StableRevision == j.Revision
	})
	first := jobOf(fc)
	waitCounts(t, out, 4, 5, 2*time.Minute)

	patchJob(t, ns, name, fmt.Sprintf(`{"args":["--out","%s","--rate","20","--keys","4","--checkpoint-ms","1000","--fail-after","0"]}`, out))
	fc = waitFor(t, ns, name, 4*time.Minute, "the failing revision's attempt", func(fc *v1beta1.FlinkCluster) bool {
		return jobOf(fc).ID != first.ID && jobOf(fc).Revision != first.Revision
	})
	trial := jobOf(fc)
	updateSavepoint := trial.FromSavepoint
	require.NotEmpty(t, updateSavepoint, "the update stopped the job with a savepoint")
	before := counts(t, out)
	fc = waitFor(t, ns, name, 4*time.Minute, "the rollback's attempt to run", func(fc *v1beta1.FlinkCluster) bool {
		j := jobOf(fc)
		return jobRunning(fc) && j.ID != trial.ID && j.Rollback != nil && j.Rollback.State == v1beta1.RollbackStateRolledBack
	})
	back := jobOf(fc)
	t.Logf("rolled back: %s: %s", back.Rollback.Reason, back.Rollback.Message)
	assert.Equal(t, first.Revision, back.Revision, "the revision that ran well")
	assert.Equal(t, updateSavepoint, back.FromSavepoint, "from the update's savepoint")
	assert.Equal(t, "UpdateFailed", back.Rollback.Reason)
	assert.Contains(t, back.Rollback.Message, "is Failed before it ran with a completed checkpoint")
	assert.Contains(t, back.Rollback.Message, "caused by java.lang.IllegalStateException: CounterJob: intentional failure", "the job's own exception")
	assert.Contains(t, strings.Join(fc.Spec.Job.Args, " "), "--fail-after 0", "the user's spec is left as written")
	table, err := kubectl("get", "fc", "-n", ns)
	require.NoError(t, err)
	t.Logf("kubectl get fc:\n%s", table)
	assert.Regexp(t, `(?m)^rollback\s+Running\s+Running\s+\d+\s+\d*\s+RolledBack\b`, table, "kubectl get fc shows the rollback")

	all := waitCounts(t, out, 4, countsLen(before)+5, 2*time.Minute)
	for key, c := range countsAfter(before, all) {
		old := before[key]
		assert.Equal(t, old[len(old)-1]+1, c[0], "key %s counts on from where the update stopped it", key)
	}
	var jobs struct {
		Jobs []struct {
			ID    string `json:"jid"`
			State string `json:"state"`
		} `json:"jobs"`
	}
	flinkGET(t, ns, name+"-jobmanager", "/jobs/overview", &jobs)
	running := 0
	for _, j := range jobs.Jobs {
		if j.State == "RUNNING" {
			running++
			assert.Equal(t, back.ID, j.ID)
		}
	}
	assert.Equal(t, 1, running, "exactly one job runs")
	assert.Equal(t, back.ID, jobOf(getFC(t, ns, name)).ID, "the failed revision is not tried again")
}
