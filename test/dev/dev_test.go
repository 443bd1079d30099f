//go:build dev

// Package dev tests `make dev` as a new user meets it: hack/dev.sh brings up its own local
// cluster, the local node and the operator; the test then follows the README: the sample job
// runs in real Flink, its dashboard loads in headless Chromium at the URL the operator reports,
// `kubectl logs` shows the TaskManager's output, `kubectl flink savepoint` writes a savepoint
// directory that exists on disk, and a session cluster's dashboard loads too.
//
// It runs a second instance of the script (its own cluster name, kubeconfig, directory and
// ports), so a `make dev` the developer has running is left alone. Needs root, Java 17 and
// Chromium (.ci/run installs it from the distribution's packages).
package dev

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const clusterName = "flink-operator-devtest"

type devEnv struct {
	root, dir, kubeconfig string
	proxyPort             int
}

func (e devEnv) kubectl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(e.root, "bin", "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "PATH="+filepath.Join(e.root, "bin")+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e devEnv) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.kubectl(args...)
	require.NoError(t, err, "kubectl %v: %s", args, out)
	return out
}

// jsonpath reads one field of a FlinkCluster ("" while it does not exist).
func (e devEnv) jsonpath(name, path string) string {
	out, err := e.kubectl("get", "fc", name, "-o", "jsonpath={"+path+"}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func TestMakeDev(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "the dashboard is checked in headless Chromium: apt-get install chromium (.ci/run does)")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	e := devEnv{root: root, dir: filepath.Join(root, "bin", "devtest"), kubeconfig: filepath.Join(root, "bin", clusterName+".kubeconfig"), proxyPort: 18001}
	require.NoError(t, os.RemoveAll(e.dir))
	clusterDown(t, e) // one a killed earlier run left, with its FlinkClusters
	stop := startDev(t, e)
	defer stop()

	e.mustKubectl(t, "apply", "-f", filepath.Join(e.dir, "counter.yaml"))
	require.Eventually(t, func() bool { return e.jsonpath("counter", ".status.components.job.state") == "Running" },
		4*time.Minute, time.Second, "the sample job to run")
	t.Logf("kubectl get fc -o wide:\n%s", e.mustKubectl(t, "get", "fc", "-o", "wide"))

	t.Run("the dashboard at the reported URL shows the running job", func(t *testing.T) {
		url := e.jsonpath("counter", ".status.components.jobManagerService.dashboardURL")
		require.Equal(t, fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces/default/services/counter-jobmanager:ui/proxy/", e.proxyPort), url)
		assert.Contains(t, e.mustKubectl(t, "flink", "ui", "counter"), url+"\n", "kubectl flink ui prints it")
		text := dashboard(t, chromium, url+"#/overview")
		assert.Regexp(t, `\bcounter\b.*RUNNING`, text, "the overview lists the running job")
	})

	t.Run("kubectl logs shows the TaskManager's log", func(t *testing.T) {
		var out string
		require.Eventually(t, func() bool {
			out, _ = e.kubectl("logs", "-l", "app.kubernetes.io/component=taskmanager", "--tail", "-1")
			return strings.Contains(out, "COUNT key=")
		}, 30*time.Second, time.Second, "the counter's lines in the TaskManager's log")
		assert.Contains(t, out, "Starting TaskManager (Version: 2.3.0", "Flink's own log lines")
	})

	t.Run("kubectl flink savepoint writes a savepoint directory", func(t *testing.T) {
		out := e.mustKubectl(t, "flink", "savepoint", "counter", "--timeout", "2m")
		m := regexp.MustCompile(`savepoint \d+: file:(\S+)`).FindStringSubmatch(out)
		require.NotNil(t, m, "the location in: %s", out)
		require.True(t, strings.HasPrefix(m[1], filepath.Join(e.dir, "savepoints")+"/"), m[1])
		_, err := os.Stat(filepath.Join(m[1], "_metadata"))
		assert.NoError(t, err, "the savepoint's metadata on disk")
	})

	t.Run("a session cluster's dashboard", func(t *testing.T) {
		e.mustKubectl(t, "apply", "-f", filepath.Join(e.dir, "session.yaml"))
		require.Eventually(t, func() bool { return e.jsonpath("session", ".status.state") == "Running" },
			3*time.Minute, time.Second, "the session cluster to run")
		url := e.jsonpath("session", ".status.components.jobManagerService.dashboardURL")
		// Running means the pods are ready; the TaskManager registers with the JobManager after.
		require.Eventually(t, func() bool { return registeredTaskManagers(url) == 1 }, time.Minute, time.Second,
			"the TaskManager to register (GET %soverview)", url)
		text := dashboard(t, chromium, url+"#/overview")
		assert.Regexp(t, `Total Task Slots \d+ Task Managers 1\b`, text, "the overview counts the TaskManager")
	})

	stop()
	out, _ := exec.Command("pgrep", "-fa", e.dir).Output()
	assert.Empty(t, string(out), "stopping make dev leaves no process of its pods behind")
}

// registeredTaskManagers is what the JobManager's REST API, through the dashboard's URL, counts
// (-1 when it does not answer).
func registeredTaskManagers(dashboardURL string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(dashboardURL + "overview")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var overview struct {
		TaskManagers int `json:"taskmanagers"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&overview) != nil {
		return -1
	}
	return overview.TaskManagers
}

// startDev runs hack/dev.sh until its operator is up; the returned func stops it as Ctrl-C in a
// terminal would (SIGINT to its process group) and removes the cluster.
func startDev(t *testing.T, e devEnv) func() {
	logPath := filepath.Join(e.root, "bin", "test-dev-script.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(e.root, "hack", "dev.sh"), "--health-probe-bind-address=0", "--metrics-bind-address=0")
	cmd.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName, "DEV_KUBECONFIG="+e.kubeconfig, "DEV_DIR="+e.dir,
		"DEV_MODE=real", "NODE_PROXY_PORT=18991", fmt.Sprintf("KUBE_PROXY_PORT=%d", e.proxyPort),
		"DEV_POD_NETWORK=245") // not make dev's 244 nor the e2e suite's 246: all three may run at once
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The script stops everything it started on SIGTERM, also when this test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() { once.Do(func() { stopDev(t, e, cmd, exited, logFile) }) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := waitForLine(ctx, logPath, "Controller started", exited); err != nil {
		stop()
		t.Fatalf("hack/dev.sh: %v; its output:\n%s", err, tail(logPath, 40))
	}
	return stop
}

func stopDev(t *testing.T, e devEnv, cmd *exec.Cmd, exited <-chan error, logFile *os.File) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Errorf("hack/dev.sh did not stop within 30 s of Ctrl-C (SIGINT)")
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	logFile.Close()
	clusterDown(t, e)
}

func clusterDown(t *testing.T, e devEnv) {
	down := exec.Command(filepath.Join(e.root, "hack", "cluster-down.sh"))
	down.Env = append(os.Environ(), "CLUSTER_NAME="+clusterName, "KUBECONFIG_OUT="+e.kubeconfig)
	if out, err := down.CombinedOutput(); err != nil {
		t.Logf("cluster-down: %v: %s", err, out)
	}
}

// waitForLine polls the file until a line contains want, the process exits or ctx ends.
func waitForLine(ctx context.Context, path, want string, exited <-chan error) error {
	for {
		if f, err := os.Open(path); err == nil {
			s := bufio.NewScanner(f)
			for s.Scan() {
				if strings.Contains(s.Text(), want) {
					f.Close()
					return nil
				}
			}
			f.Close()
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v) before %q", err, want)
		case <-ctx.Done():
			return fmt.Errorf("no %q in time", want)
		case <-time.After(time.Second):
		}
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tagRE strips markup from the rendered page.
var tagRE = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)

// dashboard loads url in headless Chromium, lets the Angular app render for up to 20 s of
// virtual time (Chromium's clock runs ahead while the page is idle) and returns the page's text,
// whitespace collapsed.
func dashboard(t *testing.T, chromium, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--virtual-time-budget=20000", "--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // a fresh profile each time
	out, err := cmd.Output()
	require.NoError(t, err, "chromium --dump-dom %s", url)
	text := strings.Join(strings.Fields(tagRE.ReplaceAllString(string(out), " ")), " ")
	t.Logf("the dashboard at %s shows: %.600s", url, text)
	return text
}
