//go:build e2e && flink

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

// applicationMode puts a job section (of counterJob) into application mode.
func applicationMode(job string) string {
	return strings.Replace(job, "  job:\n", "  job:\n    mode: Application\n", 1)
}

// withRegistrationTimeout shortens taskmanager.registration.timeout (default 5 min) in a cluster
// of streamingCluster. A TaskManager that restarts after a crash can resolve the ResourceManager
// of the failed attempt's JobManager just before the operator replaces it; Flink then retries
// that dead address until the timeout ends the TaskManager, which restarts and joins the new
// JobManager (seen on 1.20.5: the TaskManager back 1 s after the kill, the old JobManager
// stopped 34 ms after the TaskManager resolved it). docs/operations.md tells users the same.
func withRegistrationTimeout(t *testing.T, cluster string) string {
	require.Contains(t, cluster, "    restart-strategy.type: none\n")
	return strings.Replace(cluster, "    restart-strategy.type: none\n",
		"    restart-strategy.type: none\n    taskmanager.registration.timeout: 20 s\n", 1)
}

// TestApplicationMode runs the keyed counter in application mode on real Flink: the JobManager
// Job runs the job under the operator's job ID; a requested savepoint, an update through a
// savepoint (the counts continue in a new JobManager), a TaskManager crash restored by the
// restart policy, and deletion with a final savepoint.
func TestApplicationMode(t *testing.T) {
	ns, dir := newNamespace(t, "application")
	const name = "app"
	out1 := filepath.Join(dir, "counts-1.txt")
	apply(t, withRegistrationTimeout(t, applicationMode(streamingCluster(ns, name, dir, out1, "    restartPolicy: FromSavepointOnFailure"))))

	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	jobID := jobOf(fc).ID
	var fj flinkJob
	flinkGET(t, ns, name+"-jobmanager", "/jobs/"+jobID, &fj)
	assert.Equal(t, "RUNNING", fj.State, "the JobManager runs the job under the operator's job ID")
	_, err := kubectl("get", "job", name+"-jobmanager", "-n", ns)
	require.NoError(t, err, "the JobManager is a batch Job")
	_, err = kubectl("get", "deployment", name+"-jobmanager", "-n", ns)
	assert.Error(t, err, "no JobManager Deployment")
	waitCounts(t, out1, 4, 3, time.Minute)

	t.Run("savepointGeneration+1 takes a savepoint", func(t *testing.T) {
		patchJob(t, ns, name, `{"savepointGeneration":1}`)
		fc := waitFor(t, ns, name, time.Minute, "the requested savepoint",
			func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).SavepointGeneration == 1 })
		sps := savepoints(t, filepath.Join(dir, "savepoints"))
		require.NotEmpty(t, sps)
		assert.Equal(t, "file:"+sps[len(sps)-1].Path, strings.TrimSuffix(jobOf(fc).SavepointLocation, "/"))
	})

	out2 := filepath.Join(dir, "counts-2.txt")
	t.Run("an update runs a new JobManager from the update's savepoint; the counts continue", func(t *testing.T) {
		patchJob(t, ns, name, fmt.Sprintf(`{"args":["--out","%s","--rate","20","--keys","4"]}`, out2))
		fc := waitFor(t, ns, name, 4*time.Minute, "the updated job to run",
			func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != jobID })
		jobID = jobOf(fc).ID
		require.NotEmpty(t, jobOf(fc).FromSavepoint)
		assert.Equal(t, v1beta1.SavepointReasonUpdate, jobOf(fc).SavepointHistory[0].Reason)
		before := counts(t, out1)
		after := waitCounts(t, out2, 4, 2, time.Minute)
		assertContinues(t, before, after)
	})

	t.Run("a TaskManager crash fails the job; the restart policy restores it in a new JobManager", func(t *testing.T) {
		jobID = jobOf(killTaskManagerAndWaitRestored(t, ns, name, jobID, out2)).ID
		waitFor(t, ns, name, time.Minute, "the new attempt's JobManager", func(*v1beta1.FlinkCluster) bool {
			out, err := kubectl("get", "job", name+"-jobmanager", "-n", ns, "-o", "jsonpath={.metadata.annotations.flinkoperator\\.k8s\\.io/job-id}")
			return err == nil && out == jobID
		})
	})

	t.Run("deleting the cluster leaves a final savepoint", func(t *testing.T) {
		deleteWithFinalSavepoint(t, ns, name, dir)
	})
}

// TestApplicationBatchJobNotRerun: a bounded job in application mode finishes once, is
// Succeeded, and its JobManager (which stays up after the job, so the operator reads its end) is
// removed by the cleanup policy without running the job again.
func TestApplicationBatchJobNotRerun(t *testing.T) {
	ns, dir := newNamespace(t, "appbatch")
	const name = "appbatch"
	out := filepath.Join(dir, "counts.txt")
	apply(t, flinkCluster(ns, name, 1, applicationMode(counterJob(fmt.Sprintf(`"--out", "%s", "--bounded", "400", "--rate", "400", "--keys", "4"`, out),
		"    cleanupPolicy:\n      afterJobSucceeds: DeleteCluster"))))
	fc := waitFor(t, ns, name, 5*time.Minute, "the job to succeed",
		func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).State == v1beta1.JobStateSucceeded })
	assert.Equal(t, "FINISHED", jobOf(fc).FlinkJobState)
	require.Eventually(t, func() bool {
		out, err := kubectl("get", "job,deployment,service", "-n", ns, "-l", "flinkoperator.k8s.io/cluster="+name, "-o", "name")
		return err == nil && strings.TrimSpace(out) == ""
	}, 2*time.Minute, time.Second, "the JobManager Job and the rest of the cluster are deleted")
	time.Sleep(5 * time.Second) // nothing may start the job again meanwhile
	total := 0
	for _, v := range counts(t, out) {
		total += len(v)
	}
	assert.Equal(t, 400, total, "every record was counted exactly once: the job ran once")
	assert.EqualValues(t, 1, jobOf(getFC(t, ns, name)).Attempt)
}

// TestApplicationModeHighAvailability: an application with Flink's Kubernetes HA. Its JobManager's
// process is SIGKILLed; the Job restarts the container and the new process recovers the job from
// its latest checkpoint under the same job ID, without the operator resubmitting anything. Then the
// cluster is deleted: a final savepoint, and the HA ConfigMaps are gone.
func TestApplicationModeHighAvailability(t *testing.T) {
	ns, dir := newNamespace(t, "appha")
	const name = "appha"
	out := filepath.Join(dir, "counts.txt")
	apply(t, applicationMode(haCluster(t, ns, name, dir, out, 1)))
	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	waitCounts(t, out, 4, 20, 2*time.Minute)
	before := jobOf(fc)
	_, err := kubectl("get", "job", name+"-jobmanager", "-n", ns)
	require.NoError(t, err, "the JobManager is a batch Job")

	_, lastCheckpoint, lastTriggered := checkpointIDs(t, ns, name, before.ID)
	require.Positive(t, lastCheckpoint)
	startedBefore := flinkJobs(t, ns, name)[0].Start
	atKill := counts(t, out)
	pod, err := env.node.Kill(ns, componentSelector(name, "jobmanager"), "jobmanager")
	require.NoError(t, err)
	failedAt := time.Now()
	t.Logf("SIGKILLed the JobManager of pod %s after checkpoint %d", pod, lastCheckpoint)
	assertRecoveredByFlink(t, ns, name, out, before, startedBefore, lastCheckpoint, lastTriggered, atKill, failedAt, true)
	assert.Len(t, flinkJobs(t, ns, name), 1, "one job: the restarted JobManager ran no second copy")

	haConfigMaps := func() string {
		out, err := kubectl("get", "configmap", "-n", ns, "-l", labels.SelectorFromSet(desired.HAConfigMapLabels(desired.HAClusterID(fc))).String(), "-o", "name")
		require.NoError(t, err)
		return strings.TrimSpace(out)
	}
	require.NotEmpty(t, haConfigMaps(), "Flink's HA services keep their ConfigMaps")
	deleteWithFinalSavepoint(t, ns, name, dir)
	assert.Empty(t, haConfigMaps(), "the HA ConfigMaps are deleted with the cluster")
}
