//go:build e2e && flink

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/test/flinkcluster"
)

// newNamespace creates a namespace for one test and its own directory for savepoints and job
// output; on failure it prints the tails of the operator's and the pods' logs.
func newNamespace(t *testing.T, name string) (string, string) {
	t.Helper()
	ctx := context.Background()
	// A suffix keeps namespaces unique when E2E_KEEP_CLUSTER reuses a cluster.
	name = fmt.Sprintf("%s-%d", name, time.Now().Unix()%100000)
	_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	dir := filepath.Join(env.work, "data", name)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "savepoints"), 0o755))
	// The shared storage is prepared for the Flink user, as a volume or bucket for a Flink
	// cluster would be: the operator's pods run Flink as uid 9999.
	for _, d := range []string{dir, filepath.Join(dir, "savepoints")} {
		require.NoError(t, os.Chown(d, int(v1beta1.FlinkUID), int(v1beta1.FlinkUID)))
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, name)
		}
		_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name, dir
}

// ownerOf is the uid that owns path.
func ownerOf(t *testing.T, path string) uint32 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Sys().(*syscall.Stat_t).Uid
}

func dumpLogs(t *testing.T, ns string) {
	t.Logf("--- tail of operator.log:\n%s", flinkcluster.TailFile(filepath.Join(env.work, "operator.log"), 40))
	for _, d := range env.node.PodDirs(ns, nil) {
		logs, _ := filepath.Glob(filepath.Join(d, "*.log"))
		for _, l := range logs {
			t.Logf("--- tail of %s:\n%s", l, flinkcluster.TailFile(l, 30))
		}
	}
	if out, err := kubectl("get", "events", "-n", ns, "--sort-by=.lastTimestamp"); err == nil {
		t.Logf("--- events in %s:\n%s", ns, out)
	}
}

// kubectl runs bin/kubectl against the e2e cluster.
func kubectl(args ...string) (string, error) {
	return kubectlIn("", args...)
}

func kubectlIn(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(env.root, "bin", "kubectl"), append([]string{"--kubeconfig", env.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

// apply applies a manifest as a user would.
func apply(t *testing.T, manifest string) {
	t.Helper()
	_, err := kubectlIn(manifest, "apply", "-f", "-")
	require.NoError(t, err)
}

func patchJob(t *testing.T, ns, name, patch string) {
	t.Helper()
	_, err := kubectl("patch", "-n", ns, "fc/"+name, "--type=merge", "-p", `{"spec":{"job":`+patch+`}}`)
	require.NoError(t, err)
}

func getFC(t *testing.T, ns, name string) *v1beta1.FlinkCluster {
	t.Helper()
	fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return fc
}

func jobOf(fc *v1beta1.FlinkCluster) v1beta1.JobStatus {
	if fc.Status.Components.Job == nil {
		return v1beta1.JobStatus{}
	}
	return *fc.Status.Components.Job
}

// waitFor polls the FlinkCluster until cond holds, and returns it.
func waitFor(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(*v1beta1.FlinkCluster) bool) *v1beta1.FlinkCluster {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var fc *v1beta1.FlinkCluster
	for {
		fc = getFC(t, ns, name)
		if cond(fc) {
			return fc
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(fc.Status, "", "  ")
			require.FailNowf(t, "timed out", "after %s waiting for %s; status:\n%s", timeout, what, b)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func waitGone(t *testing.T, ns, name string, timeout time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, timeout, 500*time.Millisecond, "FlinkCluster %s/%s still exists", ns, name)
}

// jobRunning: the operator reports the job Running and Flink reports it RUNNING.
func jobRunning(fc *v1beta1.FlinkCluster) bool {
	j := jobOf(fc)
	return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
}

// flinkHTTP bounds every call the tests make to a JobManager, as the operator's client
// does (--flink-timeout): during a failover the Service may lead to a standby that still knows
// the dead leader, and its REST handler then waits on an RPC to it for Flink's web.timeout
// (10 minutes), which hung a run whose calls had no timeout.
var flinkHTTP = &http.Client{Timeout: 5 * time.Second}

// flinkGET calls a JobManager's REST API through the local node's Service proxy, as the
// operator does.
func flinkGET(t *testing.T, ns, service, path string, into any) {
	t.Helper()
	resp, err := flinkHTTP.Get(fmt.Sprintf("%s/services/%s/%s/8081%s", env.proxyURL, ns, service, path))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, b)
	require.NoError(t, json.Unmarshal(b, into), "GET %s: %s", path, b)
}

// flinkJob is the part of GET /jobs/{id} the tests read.
type flinkJob struct {
	ID       string `json:"jid"`
	State    string `json:"state"`
	Vertices []struct {
		Name        string `json:"name"`
		Parallelism int    `json:"parallelism"`
	} `json:"vertices"`
}

// savepoints lists the savepoint directories Flink wrote under dir, oldest first.
func savepoints(t *testing.T, dir string) []savepointDir {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []savepointDir
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "savepoint-") {
			continue
		}
		// A savepoint is complete once its _metadata file is written.
		info, err := os.Stat(filepath.Join(dir, e.Name(), "_metadata"))
		if err != nil {
			continue
		}
		out = append(out, savepointDir{Path: filepath.Join(dir, e.Name()), Written: info.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Written.Before(out[j].Written) })
	return out
}

type savepointDir struct {
	Path    string
	Written time.Time
}

var countRE = regexp.MustCompile(`^COUNT key=(\S+) count=(\d+)$`)

// counts reads the job's output: every count printed for every key, in order.
func counts(t *testing.T, path string) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m := countRE.FindStringSubmatch(s.Text()); m != nil {
			n, _ := strconv.Atoi(m[2])
			out[m[1]] = append(out[m[1]], n)
		}
	}
	return out
}

// waitCounts waits until the job wrote at least n counts for every one of keys keys to path.
func waitCounts(t *testing.T, path string, keys, n int, timeout time.Duration) map[string][]int {
	t.Helper()
	var c map[string][]int
	require.Eventually(t, func() bool {
		c = counts(t, path)
		if len(c) < keys {
			return false
		}
		for _, v := range c {
			if len(v) < n {
				return false
			}
		}
		return true
	}, timeout, 500*time.Millisecond, "the job did not write %d counts for %d keys to %s", n, keys, path)
	return c
}

// events returns the messages of the events about a FlinkCluster.
func events(t *testing.T, ns, name string) []string {
	t.Helper()
	list, err := env.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	require.NoError(t, err)
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

// eventDelivery bounds how long an event takes from the operator's recorder to the API server:
// the recorder sends events asynchronously, after the status write a test waits for.
const eventDelivery = 10 * time.Second

// waitEvent waits until an event about the FlinkCluster name, as "Reason: message", contains want.
func waitEvent(t *testing.T, ns, name, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(events(t, ns, name), "\n"), want) },
		eventDelivery, 200*time.Millisecond, "an event %q", want)
}

func componentSelector(name, component string) map[string]string {
	return map[string]string{"flinkoperator.k8s.io/cluster": name, "app.kubernetes.io/component": component}
}
