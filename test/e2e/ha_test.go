//go:build e2e && flink

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
)

// haFields are the spec fields of a highly available cluster whose pods run as the ServiceAccount
// of deploy/samples/ha/flink-ha-role.yaml. The leader lease is shortened from Flink's 15 s so that a
// killed leader is replaced within seconds.
const haFields = `  serviceAccountName: flink-ha
  highAvailability:
    type: Kubernetes
`

// withFlinkRestarts gives a cluster Flink's own restart strategy instead of none: a recovered job
// may fail while its tasks are redeployed (a slot the TaskManager held for the dead leader times
// out under the new one, seen in CI), and HA setups let Flink retry that itself. The scenarios
// still tell Flink's recovery from the operator's by the job ID and restartCount.
func withFlinkRestarts(manifest string) string {
	return strings.Replace(manifest, "    restart-strategy.type: none\n",
		"    restart-strategy.type: fixed-delay\n    restart-strategy.fixed-delay.attempts: \"3\"\n    restart-strategy.fixed-delay.delay: \"1 s\"\n", 1)
}

const haProperties = `    high-availability.kubernetes.leader-election.lease-duration: "6 s"
    high-availability.kubernetes.leader-election.renew-deadline: "5 s"
    high-availability.kubernetes.leader-election.retry-period: "1 s"
`

// After a JobManager failover the job restores the latest checkpoint completed before the
// failure: the counts it repeats, measured from what was written when the JobManager died, are at
// most what each key got between that checkpoint's trigger and the failure. The old tasks run on
// until they notice the loss (up to the heartbeat timeout) and write counts the restored job
// writes again: at-least-once output, not lost or older state, so they are not counted.

// haCluster is the keyed counter, checkpointing every 2 s, on a highly available cluster with
// jobManagers JobManagers.
func haCluster(t *testing.T, ns, name, dir, out string, jobManagers int) string {
	t.Helper()
	_, err := kubectl("-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "ha", "flink-ha-role.yaml"))
	require.NoError(t, err)
	m := withFlinkRestarts(checkpointingCluster(ns, name, dir, out, "", "", haProperties))
	m = strings.Replace(m, "  jobManager: {}\n", fmt.Sprintf("  jobManager:\n    replicas: %d\n", jobManagers)+haFields, 1)
	return m
}

// leaderAddress is the local address of the JobManager that leads a cluster, from the leader
// ConfigMap Flink's HA services keep (the dispatcher's RPC address, pekko.tcp://flink@IP:PORT/...).
func leaderAddress(t *testing.T, fc *v1beta1.FlinkCluster) string {
	t.Helper()
	cm, err := env.kube.CoreV1().ConfigMaps(fc.Namespace).Get(context.Background(), desired.HAClusterID(fc)+"-cluster-config-map", metav1.GetOptions{})
	require.NoError(t, err)
	for k, v := range cm.Data {
		if strings.HasSuffix(k, "leader.dispatcher") {
			if m := regexp.MustCompile(`@(127\.[0-9.]+):`).FindStringSubmatch(v); m != nil {
				return m[1]
			}
		}
	}
	require.FailNowf(t, "no leader", "the leader ConfigMap names no dispatcher address: %v", cm.Data)
	return ""
}

// overviewJob is a job as GET /jobs/overview lists it.
type overviewJob struct {
	ID    string `json:"jid"`
	State string `json:"state"`
	Start int64  `json:"start-time"`
}

// flinkJobs lists the jobs the JobManager knows.
func flinkJobs(t *testing.T, ns, name string) []overviewJob {
	t.Helper()
	jobs, err := tryFlinkJobs(ns, name)
	require.NoError(t, err)
	return jobs
}

// tryFlinkJobs is flinkJobs for a JobManager that may not answer yet.
func tryFlinkJobs(ns, name string) ([]overviewJob, error) {
	resp, err := flinkHTTP.Get(fmt.Sprintf("%s/services/%s/%s-jobmanager/8081/jobs/overview", env.proxyURL, ns, name))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /jobs/overview: %s", resp.Status)
	}
	var overview struct {
		Jobs []overviewJob `json:"jobs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&overview); err != nil {
		return nil, err
	}
	return overview.Jobs, nil
}

// waitRunningAgain waits until the JobManager lists exactly one job, id, RUNNING with a start time
// after startedBefore (Flink starts a recovered job anew; the old JobManager may still answer for
// a moment), and returns how long after failedAt that was.
func waitRunningAgain(t *testing.T, ns, name, id string, startedBefore int64, failedAt time.Time) time.Duration {
	t.Helper()
	var last string
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		jobs, err := tryFlinkJobs(ns, name)
		last = fmt.Sprintf("%+v %v", jobs, err)
		if err == nil && len(jobs) == 1 && jobs[0].ID == id && jobs[0].State == "RUNNING" && jobs[0].Start > startedBefore {
			return time.Since(failedAt)
		}
		if err == nil && len(jobs) > 1 {
			require.FailNowf(t, "a second job", "the JobManager lists %+v: one job must run, %s", jobs, id)
		}
		if time.Now().After(deadline) {
			require.FailNowf(t, "not recovered", "Flink did not run job %s again within 3 minutes; last answer: %s", id, last)
		}
	}
}

// restartedAt is, per key, the first count the restored job wrote: the first count after the
// ones of atKill that does not grow on the one before it (the old tasks counted on until they were
// cancelled; the restored job starts again from its checkpoint). A key whose counts went on
// without starting over (the restore point was exactly where the old tasks stopped) is left out.
// skipped names the keys whose counts ever jumped ahead by more than one after atKill.
func restartedAt(all, atKill map[string][]int) (first map[string]int, skipped []string) {
	first = map[string]int{}
	for key, c := range all {
		for i := max(len(atKill[key]), 1); i < len(c); i++ {
			if c[i] > c[i-1]+1 {
				skipped = append(skipped, fmt.Sprintf("%s: %d after %d", key, c[i], c[i-1]))
			}
			if _, seen := first[key]; !seen && c[i] <= c[i-1] {
				first[key] = c[i]
			}
		}
	}
	return first, skipped
}

// checkpointIDs are the IDs of the checkpoint Flink says the job restored from and of its
// latest completed one (0 for none). Right after a recovery Flink 2.3 answers 500 (its statistics
// of a job without a checkpoint yet divide by nothing), so it asks until Flink answers.
func checkpointIDs(t *testing.T, ns, name, jobID string) (restored, completed int64, completedTriggered time.Time) {
	t.Helper()
	type ref struct {
		ID        int64 `json:"id"`
		Triggered int64 `json:"trigger_timestamp"`
	}
	var stats struct {
		Latest struct {
			Restored  *ref `json:"restored"`
			Completed *ref `json:"completed"`
		} `json:"latest"`
	}
	url := fmt.Sprintf("%s/services/%s/%s-jobmanager/8081/jobs/%s/checkpoints", env.proxyURL, ns, name, jobID)
	try := func() (bool, string) {
		resp, err := flinkHTTP.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && json.Unmarshal(b, &stats) == nil, resp.Status + ": " + string(b)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		ok, last := try()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			require.FailNowf(t, "no checkpoint statistics", "GET %s: %s", url, last)
		}
	}
	if r := stats.Latest.Restored; r != nil {
		restored = r.ID
	}
	if c := stats.Latest.Completed; c != nil {
		completed, completedTriggered = c.ID, time.UnixMilli(c.Triggered)
	}
	return restored, completed, completedTriggered
}

// assertRecoveredByFlink checks what a JobManager failover under HA must leave: the same attempt
// (job ID, restart count), exactly that one job in Flink, RUNNING again from a checkpoint at least
// as new as the last one completed before the failure, and counts that continue with bounded
// replay. It returns how long the job took to run again.
func assertRecoveredByFlink(t *testing.T, ns, name, out string, before v1beta1.JobStatus, startedBefore, lastCheckpoint int64, lastTriggered time.Time, atKill map[string][]int, failedAt time.Time, killed bool) time.Duration {
	t.Helper()
	recovered := waitRunningAgain(t, ns, name, before.ID, startedBefore, failedAt)
	t.Logf("failover: the job ran again %.1f s after the JobManager's failure", recovered.Seconds())
	restored, _, _ := checkpointIDs(t, ns, name, before.ID)
	assert.GreaterOrEqual(t, restored, lastCheckpoint, "restored from the latest checkpoint")
	// The restored job's counts follow the old tasks' last ones (they run on until cancelled).
	atRunning := counts(t, out)
	all := waitCounts(t, out, 4, len(atRunning["k0"])+15, 2*time.Minute)
	first, skipped := restartedAt(all, atKill)
	assert.Empty(t, skipped, "no count is skipped")
	replayed := map[string]int{}
	for key, f := range first {
		replayed[key] = atKill[key][len(atKill[key])-1] - (f - 1)
	}
	t.Logf("failover: counts replayed per key, from the count at the failure: %v (keys absent went on without a repeat)", replayed)
	if killed {
		// A SIGKILL is an instant: the restored checkpoint is the last one completed before it
		// (read just before the kill, or one completed in between), so at most the records a key
		// got between that checkpoint's trigger and the kill are repeated. (A deleted pod's
		// JobManager shuts down gracefully and may complete a checkpoint after the delete: there
		// the restored checkpoint is at least as new.)
		bound := int(math.Ceil(failedAt.Sub(lastTriggered).Seconds()*recordsPerKey)) + 1
		t.Logf("failover: checkpoint %d triggered %.1f s before the kill: at most %d counts per key to repeat", lastCheckpoint, failedAt.Sub(lastTriggered).Seconds(), bound)
		for key, n := range replayed {
			assert.LessOrEqual(t, n, bound, "key %s replayed %d counts", key, n)
			assert.GreaterOrEqual(t, n, 0, "key %s restored state newer than the kill", key)
		}
	}
	fc := waitFor(t, ns, name, time.Minute, "the operator to record the recovery", func(fc *v1beta1.FlinkCluster) bool {
		return jobRunning(fc) && jobOf(fc).FlinkRecoveries == before.FlinkRecoveries+1
	})
	assert.Equal(t, before.ID, jobOf(fc).ID, "no new attempt")
	assert.Equal(t, before.RestartCount, jobOf(fc).RestartCount, "a Flink-side recovery is no restart")
	if r := jobOf(fc).LastFlinkRecovery; assert.NotNil(t, r) {
		assert.GreaterOrEqual(t, r.CheckpointID, lastCheckpoint, "status names the checkpoint Flink restored")
	}
	waitEvent(t, ns, name, "RecoveredByFlink: a new JobManager leader recovered job "+before.ID)
	return recovered
}

// runHAJob starts the HA counter cluster called name in a namespace of its own and waits until
// every key has counted to 20; it returns the namespace, the name, the counts file and the
// FlinkCluster.
func runHAJob(t *testing.T, name string, jobManagers int) (string, string, string, *v1beta1.FlinkCluster) {
	t.Helper()
	ns, dir := newNamespace(t, name)
	out := filepath.Join(dir, "counts.txt")
	apply(t, haCluster(t, ns, name, dir, out, jobManagers))
	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	waitCounts(t, out, 4, 20, 2*time.Minute)
	return ns, name, out, fc
}

// TestHighAvailabilityStandbyTakesOver: two JobManagers with Flink's Kubernetes HA; the leader's
// process is SIGKILLed and the standby recovers the job from its latest checkpoint, under the
// same job ID, without the operator resubmitting it.
func TestHighAvailabilityStandbyTakesOver(t *testing.T) {
	ns, name, out, fc := runHAJob(t, "ha-standby", 2)
	before := jobOf(fc)

	leader := leaderAddress(t, fc)
	_, lastCheckpoint, lastTriggered := checkpointIDs(t, ns, name, before.ID)
	require.Positive(t, lastCheckpoint)
	startedBefore := flinkJobs(t, ns, name)[0].Start
	atKill := counts(t, out)
	// The killed process stays down until the standby leads: restarted at once, it would
	// contend for the lease the standby waits for and might win it (a race of Flink's, not the
	// operator's), and this scenario is the standby's.
	pod, release, err := env.node.KillAtAndHold(leader, "jobmanager")
	require.NoError(t, err)
	t.Cleanup(release)
	failedAt := time.Now()
	t.Logf("SIGKILLed the leading JobManager in pod %s (%s) after checkpoint %d; it restarts once the standby leads", pod, leader, lastCheckpoint)

	assertRecoveredByFlink(t, ns, name, out, before, startedBefore, lastCheckpoint, lastTriggered, atKill, failedAt, true)
	assert.NotEqual(t, leader, leaderAddress(t, fc), "the standby leads now")
	release()

	// Savepoints go on through the new leader (the Service leads to it once the dead pod's
	// endpoint is gone; any JobManager forwards to the leader).
	gen := jobOf(getFC(t, ns, name)).SavepointGeneration
	patchJob(t, ns, name, fmt.Sprintf(`{"savepointGeneration":%d}`, gen+1))
	fc = waitFor(t, ns, name, time.Minute, "a savepoint through the new leader",
		func(fc *v1beta1.FlinkCluster) bool { return jobOf(fc).SavepointGeneration > gen })
	j := jobOf(fc)
	require.NotNil(t, j.Savepoint)
	assert.Equal(t, v1beta1.SavepointStateSucceeded, j.Savepoint.State, j.Savepoint.Message)
	assert.Contains(t, j.SavepointLocation, "/savepoints/", "written to savepointsDir")
	assert.Equal(t, before.ID, j.ID)

	// What Flink's HA services did on ConfigMaps, by the API server's audit log: within the
	// sample Role's verbs, and including what leader election and retrieval need.
	verbs := auditedVerbs(t, "system:serviceaccount:"+ns+":flink-ha", "configmaps")
	t.Logf("verbs of the pods' ServiceAccount on ConfigMaps (audit log): %v", verbs)
	assert.Subset(t, observer.HAConfigMapVerbs, verbs, "deploy/samples/ha/flink-ha-role.yaml grants every verb Flink used")
	assert.Subset(t, verbs, []string{"get", "watch", "create"}, "leader election and retrieval")
}

// auditedVerbs are the verbs user used on resource, by the audit log of the API server
// (test/e2e/testdata/audit-policy.yaml logs ConfigMaps only).
func auditedVerbs(t *testing.T, user, resource string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(env.root, "bin", "kwok-work", "clusters", clusterName, "logs", "audit.log"))
	require.NoError(t, err)
	defer f.Close()
	seen := map[string]bool{}
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		var e struct {
			Verb string `json:"verb"`
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			ObjectRef struct {
				Resource string `json:"resource"`
			} `json:"objectRef"`
		}
		if json.Unmarshal(lines.Bytes(), &e) == nil && e.User.Username == user && e.ObjectRef.Resource == resource {
			seen[e.Verb] = true
		}
	}
	require.NoError(t, lines.Err())
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestHighAvailabilityJobManagerPodReplaced: one JobManager with HA; its pod is deleted and the
// Deployment's new pod recovers the job by itself.
func TestHighAvailabilityJobManagerPodReplaced(t *testing.T) {
	newestOnly(t)
	ns, name, out, fc := runHAJob(t, "ha-single", 1)
	before := jobOf(fc)

	ctx := context.Background()
	pods, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(componentSelector(name, "jobmanager")).String()})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	_, lastCheckpoint, lastTriggered := checkpointIDs(t, ns, name, before.ID)
	startedBefore := flinkJobs(t, ns, name)[0].Start
	atKill := counts(t, out)
	require.NoError(t, env.kube.CoreV1().Pods(ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{}))
	failedAt := time.Now()

	assertRecoveredByFlink(t, ns, name, out, before, startedBefore, lastCheckpoint, lastTriggered, atKill, failedAt, false)
	pods, err = env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(componentSelector(name, "jobmanager")).String()})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	assert.Equal(t, corev1.PodRunning, pods.Items[0].Status.Phase)
}

// haSessionCluster is a session cluster with HA whose storage directory is dir/ha.
func haSessionCluster(ns, name, dir string) string {
	m := withFlinkRestarts(flinkCluster(ns, name, 1, streamingProperties+haProperties))
	return strings.Replace(m, "  jobManager: {}\n", "  jobManager: {}\n"+haFields+fmt.Sprintf("    storageDir: file://%s/ha\n", dir), 1)
}

// TestHighAvailabilitySessionCluster: a session cluster with HA keeps a job submitted through
// its REST API (not by the operator) across a JobManager crash (c); deleted, it leaves none of
// its HA ConfigMaps or its HA blob store, and the other HA cluster of its namespace is untouched
// (d).
func TestHighAvailabilitySessionCluster(t *testing.T) {
	newestOnly(t)
	ns, dir := newNamespace(t, "ha-session")
	const name, other = "ha-session", "ha-other"
	out := filepath.Join(dir, "counts.txt")
	_, err := kubectl("-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "ha", "flink-ha-role.yaml"))
	require.NoError(t, err)
	apply(t, haSessionCluster(ns, name, dir))
	apply(t, haSessionCluster(ns, other, dir))
	running := func(fc *v1beta1.FlinkCluster) bool { return fc.Status.State == v1beta1.ClusterStateRunning }
	fc := waitFor(t, ns, name, 4*time.Minute, "the cluster to run", running)
	otherFC := waitFor(t, ns, other, 4*time.Minute, "the other cluster to run", running)

	jobID := submitThroughREST(t, ns, name, []string{"--out", out, "--rate", "20", "--keys", "4", "--checkpoint-ms", fmt.Sprint(checkpointMS)})
	waitCounts(t, out, 4, 20, 2*time.Minute)
	_, lastCheckpoint, _ := checkpointIDs(t, ns, name, jobID)
	startedBefore := flinkJobs(t, ns, name)[0].Start
	pod, err := env.node.Kill(ns, componentSelector(name, "jobmanager"), "jobmanager")
	require.NoError(t, err)
	failedAt := time.Now()
	t.Logf("SIGKILLed the JobManager in pod %s after checkpoint %d", pod, lastCheckpoint)
	recovered := waitRunningAgain(t, ns, name, jobID, startedBefore, failedAt)
	t.Logf("failover: the session's job ran again %.1f s after the JobManager's failure", recovered.Seconds())
	restored, _, _ := checkpointIDs(t, ns, name, jobID)
	assert.GreaterOrEqual(t, restored, lastCheckpoint, "restored from the latest checkpoint")
	before := counts(t, out)
	all := waitCounts(t, out, 4, len(before["k0"])+20, 2*time.Minute)
	assert.Len(t, countsAfter(before, all), 4, "every key counts on")

	assertHACleanup(t, fc, otherFC, filepath.Join(dir, "ha"))
}

// assertHACleanup deletes fc, a session cluster with HA running a job, and checks that its HA
// ConfigMaps and HA blob store (under storage) are gone and that other's ConfigMaps are not.
func assertHACleanup(t *testing.T, fc, other *v1beta1.FlinkCluster, storage string) {
	t.Helper()
	ctx := context.Background()
	selector := func(fc *v1beta1.FlinkCluster) string {
		return labels.SelectorFromSet(desired.HAConfigMapLabels(desired.HAClusterID(fc))).String()
	}
	haConfigMaps := func(fc *v1beta1.FlinkCluster) []string {
		list, err := env.kube.CoreV1().ConfigMaps(fc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(fc)})
		require.NoError(t, err)
		var names []string
		for _, cm := range list.Items {
			names = append(names, cm.Name)
		}
		return names
	}
	require.NotEmpty(t, haConfigMaps(fc), "Flink made HA ConfigMaps")
	otherBefore := haConfigMaps(other)
	require.NotEmpty(t, otherBefore)
	blobs := filepath.Join(storage, desired.HAClusterID(fc), "blob")
	_, err := os.Stat(blobs)
	require.NoError(t, err, "the job's JAR is in the HA blob store")

	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).Delete(ctx, fc.Name, metav1.DeleteOptions{}))
	deleted := time.Now()
	require.Eventually(t, func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(fc.Namespace).Get(ctx, fc.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 2*time.Minute, time.Second, "the FlinkCluster to go")
	t.Logf("the deletion of the HA session cluster took %.1f s", time.Since(deleted).Seconds())
	assert.Empty(t, haConfigMaps(fc), "its HA ConfigMaps are deleted")
	assert.Equal(t, otherBefore, haConfigMaps(other), "the other cluster's are not")
	_, err = os.Stat(blobs)
	assert.True(t, os.IsNotExist(err), "Flink deleted its HA blob store on the clean shutdown: %v", err)
	left, _ := filepath.Glob(filepath.Join(storage, "*", desired.HAClusterID(fc)+"*"))
	left2, _ := filepath.Glob(filepath.Join(storage, desired.HAClusterID(fc), "*"))
	t.Logf("left in the HA storage directory for the user to remove (docs/operations.md): %v %v", left, left2)
	_, err = env.kube.AppsV1().Deployments(other.Namespace).Get(ctx, other.Name+"-jobmanager", metav1.GetOptions{})
	assert.NoError(t, err, "the other cluster runs on")
}

// submitThroughREST uploads the test job's JAR to a session cluster and runs it, as a user of
// the cluster would (POST /jars/upload, POST /jars/{id}/run), and returns the job ID.
func submitThroughREST(t *testing.T, ns, name string, args []string) string {
	t.Helper()
	base := fmt.Sprintf("%s/services/%s/%s-jobmanager/8081", env.proxyURL, ns, name)
	// Ready pods are not yet a leader: until the HA services elect one, every JobManager
	// answers 503 ("ongoing leader election"), which a user's client sees too.
	require.Eventually(t, func() bool {
		resp, err := flinkHTTP.Get(base + "/overview")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 2*time.Minute, 500*time.Millisecond, "a JobManager leader")
	jar, err := os.ReadFile(env.jobJar)
	require.NoError(t, err)
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("jarfile", filepath.Base(env.jobJar))
	require.NoError(t, err)
	_, err = part.Write(jar)
	require.NoError(t, err)
	require.NoError(t, form.Close())
	var uploaded struct {
		Filename string `json:"filename"`
	}
	postJSON(t, base+"/jars/upload", form.FormDataContentType(), &body, &uploaded)
	run, err := json.Marshal(map[string]any{"entryClass": counterClass, "programArgsList": args, "parallelism": 1})
	require.NoError(t, err)
	var started struct {
		JobID string `json:"jobid"`
	}
	postJSON(t, base+"/jars/"+filepath.Base(uploaded.Filename)+"/run", "application/json", bytes.NewReader(run), &started)
	require.NotEmpty(t, started.JobID)
	return started.JobID
}

func postJSON(t *testing.T, url, contentType string, body io.Reader, into any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: time.Minute}).Post(url, contentType, body)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s: %s", url, b)
	require.NoError(t, json.Unmarshal(b, into), "POST %s: %s", url, b)
}

// TestHighAvailabilityWithoutRole: an HA cluster whose ServiceAccount lacks the Role gets a
// condition naming the missing verbs and no submission; once its spec names a ServiceAccount
// with the Role, the job runs (nothing was lost or failed meanwhile).
func TestHighAvailabilityWithoutRole(t *testing.T) {
	newestOnly(t)
	ns, dir := newNamespace(t, "ha-norole")
	const name = "ha-norole"
	out := filepath.Join(dir, "counts.txt")
	m := haCluster(t, ns, name, dir, out, 1)
	m = strings.Replace(m, "  serviceAccountName: flink-ha\n", "  serviceAccountName: default\n", 1)
	apply(t, m)
	fc := waitFor(t, ns, name, 2*time.Minute, "condition HighAvailabilityPermitted", func(fc *v1beta1.FlinkCluster) bool {
		return meta.FindStatusCondition(fc.Status.Conditions, "HighAvailabilityPermitted") != nil
	})
	c := meta.FindStatusCondition(fc.Status.Conditions, "HighAvailabilityPermitted")
	assert.Equal(t, "MissingPermissions", c.Reason)
	assert.Contains(t, c.Message, "may not create, delete, get, list, patch, update, watch ConfigMaps")
	time.Sleep(20 * time.Second) // long enough for a submission the operator should not make
	fc = getFC(t, ns, name)
	assert.Equal(t, v1beta1.JobStatePending, jobOf(fc).State, "no submission without the Role")
	_, err := env.kube.BatchV1().Jobs(ns).Get(context.Background(), name+"-job-submitter", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no submitter: %v", err)

	_, err = kubectl("-n", ns, "patch", "fc", name, "--type=merge", "-p", `{"spec":{"serviceAccountName":"flink-ha"}}`)
	require.NoError(t, err)
	fc = waitFor(t, ns, name, 4*time.Minute, "the job to run once the Role is there", jobRunning)
	c = meta.FindStatusCondition(fc.Status.Conditions, "HighAvailabilityPermitted")
	assert.Equal(t, "Granted", c.Reason)
	assert.Equal(t, int32(0), jobOf(fc).RestartCount)
	waitCounts(t, out, 4, 5, 2*time.Minute)
}
