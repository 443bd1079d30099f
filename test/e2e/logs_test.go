//go:build e2e && flink

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"
)

// assertKubectlLogs reads a counter cluster's logs as a user debugging it would, through the API
// server and the local node's kubelet endpoint: the TaskManager's log, the run before its crash
// with --previous, the last lines with --tail, the kubelet's events in kubectl describe pod, and
// the JobManager's log followed with -f while a savepoint is taken. Call it after the TaskManager
// was killed and restarted once. It returns the savepointGeneration before its savepoint request.
func assertKubectlLogs(t *testing.T, ns, name string) int32 {
	t.Helper()
	pod, err := kubectl("get", "pods", "-n", ns, "-l", labels.FormatLabels(componentSelector(name, "taskmanager")), "-o", "jsonpath={.items[0].metadata.name}")
	require.NoError(t, err)
	current, err := kubectl("logs", "-n", ns, pod, "-c", "taskmanager")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(current, "Starting TaskManager (Version"), "kubectl logs: the running TaskManager's log, one start")
	previous, err := kubectl("logs", "-n", ns, pod, "-c", "taskmanager", "--previous")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(previous, "Starting TaskManager (Version"), "kubectl logs --previous: the run the crash ended, one start")
	assert.NotEqual(t, previous, current[:min(len(current), len(previous))], "two different runs")
	tail, err := kubectl("logs", "-n", ns, pod, "-c", "taskmanager", "--tail=3")
	require.NoError(t, err)
	assert.Len(t, strings.Split(strings.TrimSuffix(tail, "\n"), "\n"), 3, "kubectl logs --tail=3")

	// The node's kubelet events, as kubectl describe pod shows them.
	describe, err := kubectl("describe", "pod", "-n", ns, pod)
	require.NoError(t, err)
	for _, want := range []string{"Pulled", "Created container: taskmanager", "Started container taskmanager", "Back-off restarting failed container taskmanager"} {
		assert.Contains(t, describe, want, "kubectl describe pod %s", pod)
	}
	jm, err := kubectl("describe", "pod", "-n", ns, "-l", labels.FormatLabels(componentSelector(name, "jobmanager")))
	require.NoError(t, err)
	assert.Contains(t, jm, "Readiness probe failed:", "the JobManager's REST port is probed before it listens")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	follow := exec.CommandContext(ctx, filepath.Join(env.root, "bin", "kubectl"), "--kubeconfig", env.kubeconfig,
		"logs", "-f", "--tail=1", "-n", ns, "deploy/"+name+"-jobmanager")
	stdout, err := follow.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, follow.Start())
	defer func() { cancel(); _ = follow.Wait() }()
	// The savepoint is requested once the last line already written has arrived: what follows
	// can only come streamed.
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "kubectl logs -f --tail=1 printed the last line")
	gen := jobOf(getFC(t, ns, name)).SavepointGeneration
	patchJob(t, ns, name, fmt.Sprintf(`{"savepointGeneration":%d}`, gen+1))
	found := false
	for !found && lines.Scan() {
		found = strings.Contains(strings.ToLower(lines.Text()), "savepoint")
	}
	assert.True(t, found, "kubectl logs -f streamed the JobManager's lines about the requested savepoint")
	return gen
}
