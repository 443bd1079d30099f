//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// kubectlFlink runs `kubectl flink ARGS` the way a user does: kubectl finds the plugin, built
// into a directory of its own, on PATH.
func kubectlFlink(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	// Global flags may not come before a plugin's name: the kubeconfig comes from KUBECONFIG.
	cmd := exec.Command(filepath.Join(env.root, "bin", "kubectl"), append([]string{"flink"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+env.kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestKubectlFlinkPlugin: `kubectl flink` on a running job cluster: status shows it, savepoint
// waits for the operator and prints the location status records, suspend and resume go through
// the spec, ui names the service proxy URL, and an unknown command prints the usage.
func TestKubectlFlinkPlugin(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-flink"), "./cmd/kubectl-flink")
	build.Dir = env.root
	built, err := build.CombinedOutput()
	require.NoError(t, err, string(built))

	ns := newNamespace(t)
	_, err = createStrict(context.Background(), ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})

	out, err := kubectlFlink(t, dir, "status", "counter", "-n", ns)
	require.NoError(t, err, out)
	assert.Regexp(t, `(?m)^Job +Running \(Flink: RUNNING\)$`, out)

	out, err = kubectlFlink(t, dir, "-n", ns, "savepoint", "counter", "--timeout=60s")
	require.NoError(t, err, out)
	j := jobStatus(t, ns, "counter")
	assert.Equal(t, int32(1), j.SavepointGeneration)
	assert.Contains(t, out, "savepoint 1: "+j.SavepointLocation+"\n")

	out, err = kubectlFlink(t, dir, "-n", ns, "suspend", "counter")
	require.NoError(t, err, out)
	waitJob(t, ns, "counter", 30*time.Second, "the job to be suspended", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateSuspended
	})
	out, err = kubectlFlink(t, dir, "-n", ns, "resume", "counter")
	require.NoError(t, err, out)
	waitJob(t, ns, "counter", 60*time.Second, "the job to run again", func(r *v1beta1.JobStatus) bool {
		return r.ID != j.ID && r.State == v1beta1.JobStateRunning
	})

	out, err = kubectlFlink(t, dir, "-n", ns, "ui", "counter")
	require.NoError(t, err, out)
	assert.Regexp(t, regexp.MustCompile(`https?://[^ ]+/api/v1/namespaces/`+ns+`/services/counter-jobmanager:ui/proxy/`), out)

	out, err = kubectlFlink(t, dir, "-n", ns, "frobnicate", "counter")
	assert.Error(t, err)
	assert.Contains(t, out, "Commands:")
}
