//go:build e2e && flink

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

const counterClass = "org.flinkoperator.testjob.CounterJob"

// flinkCluster is a FlinkCluster of the suite's Flink image with the operator's default
// resources; rest is the YAML of spec fields after image and jobManager, indented by two.
func flinkCluster(ns, name string, taskManagers int, rest string) string {
	return fmt.Sprintf(`
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: %s
  namespace: %s
spec:
  image:
    name: flink:%s
  jobManager: {}
  taskManager:
    replicas: %d
%s`, name, ns, env.version, taskManagers, rest)
}

// counterJob is the job section running the keyed counter from the suite's JAR; extra is more
// job fields, indented by four.
func counterJob(args, extra string) string {
	return fmt.Sprintf(`  job:
    jarFile: %s
    className: %s
    args: [%s]
%s
`, env.jobJar, counterClass, args, extra)
}

// streamingCluster is a job cluster running the keyed counter. The restart strategy is none so
// that a lost TaskManager fails the job (Flink's own retries would hide the operator's recovery),
// and heartbeats are short so Flink notices a killed process in seconds.
func streamingCluster(ns, name, dir, out string, extraJob string) string {
	job := counterJob(fmt.Sprintf(`"--out", "%s", "--rate", "20", "--keys", "4"`, out),
		fmt.Sprintf("    parallelism: 1\n    savepointsDir: file://%s/savepoints\n%s", dir, extraJob))
	return flinkCluster(ns, name, 1, job+streamingProperties)
}

// streamingProperties: two slots for a parallelism-2 update, Flink's restart strategy none so
// that a lost TaskManager fails the job (Flink's own retries would hide the operator's recovery),
// and short heartbeats so Flink notices a killed process in seconds.
const streamingProperties = `  flinkProperties:
    taskmanager.numberOfTaskSlots: "2"
    heartbeat.interval: "1000"
    heartbeat.timeout: "5000"
    restart-strategy.type: none
`

// TestJobClusterLifecycle takes one streaming job cluster through its life on real Flink:
// running, periodic and requested savepoints, an update restored from a savepoint, a TaskManager
// crash and a JobManager crash recovered by the operator, and deletion with a final savepoint.
func TestJobClusterLifecycle(t *testing.T) {
	ns, dir := newNamespace(t, "lifecycle")
	const name = "counter"
	out1 := filepath.Join(dir, "counts-1.txt")
	apply(t, streamingCluster(ns, name, dir, out1, `    autoSavepointSeconds: 20
    restartPolicy: FromSavepointOnFailure`))

	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	jobID := jobOf(fc).ID
	var fj flinkJob
	flinkGET(t, ns, name+"-jobmanager", "/jobs/"+jobID, &fj)
	assert.Equal(t, "RUNNING", fj.State, "Flink's own view of the job")
	table, err := kubectl("get", "fc", "-n", ns)
	require.NoError(t, err)
	t.Logf("kubectl get fc:\n%s", table)
	assert.Regexp(t, `(?m)^counter\s+Running\s+Running\b`, table, "kubectl get fc shows the cluster and job state")
	waitCounts(t, out1, 4, 3, time.Minute)

	t.Run("autoSavepointSeconds writes a savepoint about every 20 s", func(t *testing.T) {
		var sps []savepointDir
		require.Eventually(t, func() bool { sps = savepoints(t, filepath.Join(dir, "savepoints")); return len(sps) >= 3 },
			90*time.Second, time.Second, "three periodic savepoints")
		for i := 1; i < len(sps); i++ {
			gap := sps[i].Written.Sub(sps[i-1].Written)
			assert.InDelta(t, 20, gap.Seconds(), 8, "gap between savepoints %d and %d", i-1, i)
		}
		// The restricted defaults run Flink as the image's user, not as root.
		assert.Equal(t, uint32(v1beta1.FlinkUID), ownerOf(t, sps[0].Path), "owner of %s", sps[0].Path)
		assert.Equal(t, uint32(v1beta1.FlinkUID), ownerOf(t, out1), "owner of the job's output")
	})

	t.Run("savepointGeneration+1 takes a savepoint now", func(t *testing.T) {
		// Request it right after a periodic savepoint, so the next periodic one is ~20 s away and
		// cannot be mistaken for it.
		last := jobOf(getFC(t, ns, name)).LastSavepointTime
		fc := waitFor(t, ns, name, 40*time.Second, "a periodic savepoint", func(fc *v1beta1.FlinkCluster) bool {
			j := jobOf(fc)
			return j.State == v1beta1.JobStateRunning && j.LastSavepointTime != nil && (last == nil || j.LastSavepointTime.After(last.Time))
		})
		gen := jobOf(fc).SavepointGeneration
		requested := time.Now()
		patchJob(t, ns, name, fmt.Sprintf(`{"savepointGeneration":%d}`, gen+1))
		fc = waitFor(t, ns, name, 30*time.Second, "the requested savepoint",
			func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).SavepointGeneration > gen })
		var latest savepointDir
		require.Eventually(t, func() bool {
			sps := savepoints(t, filepath.Join(dir, "savepoints"))
			latest = sps[len(sps)-1]
			return latest.Written.After(requested)
		}, 10*time.Second, 200*time.Millisecond, "a savepoint directory written after the request")
		assert.Less(t, latest.Written.Sub(requested), 10*time.Second, "written within seconds of the request")
		assert.Equal(t, "file:"+latest.Path, strings.TrimSuffix(jobOf(fc).SavepointLocation, "/"), "status names the savepoint on disk")
	})

	out2 := filepath.Join(dir, "counts-2.txt")
	t.Run("an update restores the job from a savepoint and the counter continues", func(t *testing.T) {
		requested := time.Now()
		patchJob(t, ns, name, fmt.Sprintf(`{"parallelism":2,"args":["--out","%s","--rate","20","--keys","4"]}`, out2))
		fc := waitFor(t, ns, name, 4*time.Minute, "the updated job to run",
			func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != jobID })
		jobID = jobOf(fc).ID
		// The old job counted until it stopped with the savepoint; its output is final now.
		before := counts(t, out1)
		from := jobOf(fc).FromSavepoint
		require.NotEmpty(t, from, "the new job was restored from a savepoint")
		info, err := os.Stat(filepath.Join(strings.TrimPrefix(from, "file:"), "_metadata"))
		require.NoError(t, err, "the savepoint it started from is on disk")
		assert.True(t, info.ModTime().After(requested), "the savepoint was taken for the update")
		var fj flinkJob
		flinkGET(t, ns, name+"-jobmanager", "/jobs/"+jobID, &fj)
		for _, v := range fj.Vertices {
			assert.Equal(t, 2, v.Parallelism, "vertex %s", v.Name)
		}
		after := waitCounts(t, out2, 4, 2, time.Minute)
		assertContinues(t, before, after)
	})

	t.Run("a TaskManager crash fails the job and the operator restores it from the last savepoint", func(t *testing.T) {
		lastSavepoint := jobOf(getFC(t, ns, name)).SavepointLocation
		fc := killTaskManagerAndWaitRestored(t, ns, name, jobID, out2)
		jobID = jobOf(fc).ID
		assert.NotEmpty(t, jobOf(fc).FromSavepoint)
		assert.NotEqual(t, "", lastSavepoint)
	})

	t.Run("kubectl logs, --previous after the crash, --tail and -f", func(t *testing.T) {
		gen := assertKubectlLogs(t, ns, name)
		// The next step kills the JobManager: not while the requested savepoint is in flight.
		waitFor(t, ns, name, time.Minute, "the requested savepoint", func(fc *v1beta1.FlinkCluster) bool {
			return jobOf(fc).State == v1beta1.JobStateRunning && jobOf(fc).SavepointGeneration > gen
		})
	})

	t.Run("a JobManager crash loses the job and the operator resubmits it", func(t *testing.T) {
		restarts := jobOf(getFC(t, ns, name)).RestartCount
		pod, err := env.node.Kill(ns, componentSelector(name, "jobmanager"), "jobmanager")
		require.NoError(t, err)
		t.Logf("killed the JobManager of pod %s", pod)
		waitFor(t, ns, name, 2*time.Minute, "the job to be Lost",
			func(fc *v1beta1.FlinkCluster) bool {
				return jobOf(fc).State == v1beta1.JobStateLost
			})
		fc := waitFor(t, ns, name, 4*time.Minute, "the job to run again",
			func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != jobID })
		jobID = jobOf(fc).ID
		assert.Equal(t, restarts+1, jobOf(fc).RestartCount)
	})

	t.Run("deleting the cluster leaves a final savepoint", func(t *testing.T) {
		deleteWithFinalSavepoint(t, ns, name, dir)
		assert.Eventually(t, func() bool {
			return strings.Contains(strings.Join(events(t, ns, name), "\n"), "Final savepoint written to")
		}, 10*time.Second, 500*time.Millisecond, "an event names the final savepoint")
	})
}

// killTaskManagerAndWaitRestored kills the only TaskManager of a counter cluster whose job (jobID)
// writes to out, waits for the restart policy's new attempt and checks that the counts go on from
// restored state; it returns the cluster then.
func killTaskManagerAndWaitRestored(t *testing.T, ns, name, jobID, out string) *v1beta1.FlinkCluster {
	t.Helper()
	pod, err := env.node.Kill(ns, componentSelector(name, "taskmanager"), "taskmanager")
	require.NoError(t, err)
	// The only TaskManager is dead: nothing writes counts until the restored job runs.
	before := counts(t, out)
	t.Logf("killed the TaskManager of pod %s", pod)
	fc := waitFor(t, ns, name, 3*time.Minute, "the job to be restarted",
		func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != jobID })
	assert.EqualValues(t, 1, jobOf(fc).RestartCount, "status.components.job.restartCount")
	waitCounts(t, out, 4, countsLen(before)+2, 2*time.Minute)
	assertRestored(t, before, counts(t, out))
	return fc
}

// deleteWithFinalSavepoint deletes a FlinkCluster whose job runs and checks that a savepoint was
// written under dir/savepoints after the delete, before the FlinkCluster was gone.
func deleteWithFinalSavepoint(t *testing.T, ns, name, dir string) {
	t.Helper()
	before := savepoints(t, filepath.Join(dir, "savepoints"))
	deleted := time.Now()
	_, err := kubectl("delete", "fc", name, "-n", ns, "--wait=false")
	require.NoError(t, err)
	waitGone(t, ns, name, 3*time.Minute)
	after := savepoints(t, filepath.Join(dir, "savepoints"))
	require.Greater(t, len(after), len(before))
	assert.True(t, after[len(after)-1].Written.After(deleted), "the last savepoint was written after the delete")
}

func countsLen(c map[string][]int) int {
	n := 0
	for _, v := range c {
		n = max(n, len(v))
	}
	return n
}

// assertContinues checks that the counts in after (a new job's output) continue those in before:
// every key's first new count is above 1 (state was restored, not started over) and at most one
// past the last count the old job printed (nothing counted that the old job had not seen).
func assertContinues(t *testing.T, before, after map[string][]int) {
	t.Helper()
	require.NotEmpty(t, before)
	for key, old := range before {
		fresh := after[key]
		if !assert.NotEmpty(t, fresh, "key %s in the new output", key) {
			continue
		}
		last := old[len(old)-1]
		assert.Greater(t, fresh[0], 1, "key %s restarted from scratch (old job reached %d)", key, last)
		assert.LessOrEqual(t, fresh[0], last+1, "key %s jumped past the old job's count", key)
	}
}

// assertRestored checks the counts a job printed after a restore into the same file: the first
// count after the old output is above 1 and not past the old job's last count plus one.
func assertRestored(t *testing.T, before, all map[string][]int) {
	t.Helper()
	after := map[string][]int{}
	for k, v := range all {
		if n := len(before[k]); len(v) > n {
			after[k] = v[n:]
		}
	}
	assertContinues(t, before, after)
}

// TestCancelRequested cancels a running job through the spec: a savepoint is taken, the job is
// Cancelled, and afterJobCancelled (DeleteTaskManager) removes the TaskManagers only.
func TestCancelRequested(t *testing.T) {
	ns, dir := newNamespace(t, "cancel")
	const name = "cancel-me"
	apply(t, streamingCluster(ns, name, dir, filepath.Join(dir, "counts.txt"), `    cleanupPolicy:
      afterJobCancelled: DeleteTaskManager`))
	waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	waitCounts(t, filepath.Join(dir, "counts.txt"), 4, 2, time.Minute)

	patchJob(t, ns, name, `{"cancelRequested":true}`)
	fc := waitFor(t, ns, name, 2*time.Minute, "the job to be Cancelled",
		func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).State == v1beta1.JobStateCancelled })
	sps := savepoints(t, filepath.Join(dir, "savepoints"))
	require.Len(t, sps, 1, "one savepoint, taken for the cancellation")
	assert.Equal(t, "file:"+sps[0].Path, strings.TrimSuffix(jobOf(fc).SavepointLocation, "/"))

	waitFor(t, ns, name, time.Minute, "the TaskManagers to be deleted", func(fc *v1beta1.FlinkCluster) bool {
		return fc.Status.Components.TaskManagerDeployment.State == v1beta1.ComponentStateDeleted
	})
	_, err := kubectl("get", "deployment", name+"-taskmanager", "-n", ns)
	assert.Error(t, err, "the TaskManager Deployment is gone")
	_, err = kubectl("get", "deployment", name+"-jobmanager", "-n", ns)
	assert.NoError(t, err, "the JobManager stays")
}

// TestBatchJobSucceeds runs a bounded job to its end: Succeeded, and afterJobSucceeds:
// DeleteCluster removes the cluster's children.
func TestBatchJobSucceeds(t *testing.T) {
	ns, dir := newNamespace(t, "batch")
	const name = "batch"
	out := filepath.Join(dir, "counts.txt")
	apply(t, flinkCluster(ns, name, 1, counterJob(fmt.Sprintf(`"--out", "%s", "--bounded", "400", "--rate", "400", "--keys", "4"`, out),
		"    cleanupPolicy:\n      afterJobSucceeds: DeleteCluster")))
	fc := waitFor(t, ns, name, 5*time.Minute, "the job to succeed",
		func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).State == v1beta1.JobStateSucceeded })
	assert.Equal(t, "FINISHED", jobOf(fc).FlinkJobState)
	c := counts(t, out)
	total := 0
	for _, v := range c {
		total += len(v)
	}
	assert.Equal(t, 400, total, "every record was counted once")

	// The submitter Job stays, with its pod's log of the submission, until the FlinkCluster goes.
	for _, kind := range []string{"deployment", "service", "configmap"} {
		kind := kind
		require.Eventually(t, func() bool {
			out, err := kubectl("get", kind, "-n", ns, "-l", "flinkoperator.k8s.io/cluster="+name, "-o", "name")
			return err == nil && strings.TrimSpace(out) == ""
		}, 2*time.Minute, time.Second, "the cluster's %ss are deleted", kind)
	}
	assert.Equal(t, v1beta1.JobStateSucceeded, jobOf(getFC(t, ns, name)).State, "the FlinkCluster keeps its result")
}

// TestSessionCluster brings up a session cluster and reads its REST API.
func TestSessionCluster(t *testing.T) {
	ns, _ := newNamespace(t, "session")
	const name = "session"
	apply(t, flinkCluster(ns, name, 2, `  flinkProperties:
    taskmanager.numberOfTaskSlots: "3"
`))
	waitFor(t, ns, name, 4*time.Minute, "the cluster to run",
		func(fc *v1beta1.FlinkCluster) bool { return fc.Status.State == v1beta1.ClusterStateRunning })
	var overview struct {
		TaskManagers int    `json:"taskmanagers"`
		Slots        int    `json:"slots-total"`
		Version      string `json:"flink-version"`
	}
	// A TaskManager counts in "taskmanagers" as soon as it registers, but its slots only
	// once its first slot report arrives, so the two numbers settle separately.
	settled := assert.Eventually(t, func() bool {
		flinkGET(t, ns, name+"-jobmanager", "/overview", &overview)
		return overview.TaskManagers == 2 && overview.Slots == 6
	}, 2*time.Minute, time.Second, "2 TaskManagers × taskmanager.numberOfTaskSlots(3) = 6 slots")
	require.True(t, settled, "last /overview: %d TaskManagers, %d slots", overview.TaskManagers, overview.Slots)
	assert.Equal(t, env.version, overview.Version)
}
