//go:build e2e && flink

package e2e

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// jarServer serves one file at /jobs/counter.jar, whose content a test may swap, and counts the
// requests.
type jarServer struct {
	url      string
	mu       sync.Mutex
	content  []byte
	requests atomic.Int32
}

func startJarServer(t *testing.T, content []byte) *jarServer {
	t.Helper()
	s := &jarServer{content: content}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jobs/counter.jar" {
			http.NotFound(w, r)
			return
		}
		s.requests.Add(1)
		s.mu.Lock()
		body := s.content
		s.mu.Unlock()
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.url = "http://" + l.Addr().String() + "/jobs/counter.jar"
	return s
}

func (s *jarServer) serve(content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.content = content
}

// TestRemoteJar runs the job from a JAR served over HTTP (an init container of the operator's
// image fetches it before flink run, checking spec.job.jarFileChecksum), then replaces the file
// on the server: the restart after a TaskManager crash fetches it again, notices that it is not
// the JAR the spec names and does not run it; once the server serves the right file again, the
// next restart runs it from the savepoint, and the counts continue.
func TestRemoteJar(t *testing.T) {
	newestOnly(t) // the fetch is the operator's, the same for every Flink version
	ns, dir := newNamespace(t, "remote-jar")
	const name = "fetched"
	jar, err := os.ReadFile(env.jobJar)
	require.NoError(t, err)
	server := startJarServer(t, jar)
	out := filepath.Join(dir, "counts.txt")
	manifest := streamingCluster(ns, name, dir, out, fmt.Sprintf(`    jarFileChecksum: sha256:%x
    restartPolicy: FromSavepointOnFailure
    autoSavepointSeconds: 10`, sha256.Sum256(jar)))
	manifest = strings.Replace(manifest, "jarFile: "+env.jobJar, "jarFile: "+server.url, 1)
	require.Contains(t, manifest, "jarFile: "+server.url)
	apply(t, manifest)

	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run from the fetched JAR", jobRunning)
	firstID := jobOf(fc).ID
	assert.GreaterOrEqual(t, server.requests.Load(), int32(1), "the JAR was fetched from the server")
	assert.Contains(t, submitterLog(t, ns, name, "fetch-job-jar"), "fetched "+server.url)
	fetchLog, err := kubectl("logs", "-n", ns, "job/"+name+"-job-submitter", "-c", "fetch-job-jar")
	require.NoError(t, err)
	assert.Contains(t, fetchLog, "fetched "+server.url, "kubectl logs -c reads an init container's log")
	waitCounts(t, out, 4, 3, time.Minute)
	waitFor(t, ns, name, time.Minute, "a savepoint to restart from", func(fc *v1beta1.FlinkCluster) bool {
		return jobOf(fc).SavepointLocation != ""
	})

	t.Run("a changed file on the server is noticed and not run", func(t *testing.T) {
		server.serve([]byte("a different build published under the same name"))
		pod, err := env.node.Kill(ns, componentSelector(name, "taskmanager"), "taskmanager")
		require.NoError(t, err)
		t.Logf("killed the TaskManager of pod %s; the restart fetches the JAR again", pod)
		fc := waitFor(t, ns, name, 3*time.Minute, "the restart's submitter to fail", func(fc *v1beta1.FlinkCluster) bool {
			j := jobOf(fc)
			return j.ID != firstID && j.State == v1beta1.JobStateFailed && strings.Contains(j.Message, "the job submitter failed")
		})
		t.Logf("status: %s", jobOf(fc).Message)
		assert.Contains(t, jobOf(fc).Message, "container fetch-job-jar of pod", "status names the failed container")
		assert.Contains(t, jobOf(fc).Message, fmt.Sprintf("spec.job.jarFileChecksum says sha256:%x", sha256.Sum256(jar)), "and why it failed")
		assert.Contains(t, submitterLog(t, ns, name, "fetch-job-jar"), "spec.job.jarFileChecksum says sha256:")
	})

	t.Run("the right file again: the next restart runs it from the savepoint", func(t *testing.T) {
		before := counts(t, out)
		server.serve(jar)
		fc := waitFor(t, ns, name, 3*time.Minute, "the job to run again", func(fc *v1beta1.FlinkCluster) bool {
			return jobRunning(fc) && jobOf(fc).ID != firstID
		})
		assert.NotEmpty(t, jobOf(fc).FromSavepoint, "restored from a savepoint")
		waitCounts(t, out, 4, countsLen(before)+2, 2*time.Minute)
		assertRestored(t, before, counts(t, out))
	})
}

// submitterLog is the log of a container in the cluster's submitter pods, all attempts.
func submitterLog(t *testing.T, ns, name, container string) string {
	t.Helper()
	var logs []string
	for _, d := range env.node.PodDirs(ns, componentSelector(name, "submitter")) {
		data, err := os.ReadFile(env.node.ContainerLog(d, container))
		if err == nil {
			logs = append(logs, string(data))
		}
	}
	return strings.Join(logs, "\n")
}
