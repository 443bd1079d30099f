//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// previousOperatorCommit is the commit whose operator the upgrade test starts from:
// UPGRADE_FROM when set, otherwise the parent of the newest commit that changed the operator's
// code (cmd/, pkg/, go.mod, go.sum): the operator as it was before its latest change, so the test
// always upgrades across a real change.
func previousOperatorCommit(t *testing.T) string {
	t.Helper()
	if rev := os.Getenv("UPGRADE_FROM"); rev != "" {
		return rev
	}
	out, err := exec.Command("git", "-C", env.root, "log", "--format=%H", "-n", "1", "HEAD", "--", "cmd", "pkg", "go.mod", "go.sum").Output()
	require.NoError(t, err, "git log: the upgrade test needs the repository's history (a clone, not an export)")
	latest := strings.TrimSpace(string(out))
	require.NotEmpty(t, latest, "no commit changed the operator")
	return latest + "~1"
}

// buildOperatorAt builds cmd/flink-operator as it was at rev into bin/NAME (git archive of that
// commit into a temporary directory; the module cache is shared, so it takes a minute at most).
func buildOperatorAt(t *testing.T, rev, name string) string {
	t.Helper()
	src := t.TempDir()
	archive := exec.Command("bash", "-c", fmt.Sprintf("git -C %q archive %s | tar -x -C %q", env.root, rev, src))
	out, err := archive.CombinedOutput()
	require.NoError(t, err, "git archive %s: %s", rev, out)
	bin := filepath.Join(env.root, "bin", name)
	build := exec.Command("go", "build", "-o", bin, "./cmd/flink-operator")
	build.Dir = src
	out, err = build.CombinedOutput()
	require.NoError(t, err, "building the operator at %s: %s", rev, out)
	return bin
}

// clusterSnapshot is everything an operator upgrade must leave alone.
type clusterSnapshot struct {
	generation   int64
	meta         string            // labels, annotations, finalizers
	children     map[string]string // kind/name → resourceVersion
	jobID        string
	attempt      int32
	restarts     int32
	savepoints   int32
	flinkJobs    int
	flinkSaved   int
	flinkRunning bool
}

func snapshotCluster(t *testing.T, ctx context.Context, ns, name string) clusterSnapshot {
	t.Helper()
	fc := getFC(t, ns, name)
	job := fc.Status.Components.Job
	require.NotNil(t, job)
	s := clusterSnapshot{
		generation: fc.Generation,
		meta:       fmt.Sprint(fc.Labels, fc.Annotations, fc.Finalizers),
		children:   map[string]string{},
		jobID:      job.ID, attempt: job.Attempt, restarts: job.RestartCount, savepoints: job.SavepointGeneration,
	}
	sel := metav1.ListOptions{LabelSelector: "flinkoperator.k8s.io/cluster=" + name}
	deps, err := env.kube.AppsV1().Deployments(ns).List(ctx, sel)
	require.NoError(t, err)
	for _, d := range deps.Items {
		s.children["Deployment/"+d.Name] = d.ResourceVersion
	}
	svcs, err := env.kube.CoreV1().Services(ns).List(ctx, sel)
	require.NoError(t, err)
	for _, o := range svcs.Items {
		s.children["Service/"+o.Name] = o.ResourceVersion
	}
	cms, err := env.kube.CoreV1().ConfigMaps(ns).List(ctx, sel)
	require.NoError(t, err)
	for _, o := range cms.Items {
		s.children["ConfigMap/"+o.Name] = o.ResourceVersion
	}
	jobs, err := env.kube.BatchV1().Jobs(ns).List(ctx, sel)
	require.NoError(t, err)
	for _, o := range jobs.Items {
		// The Job controller writes a Job's status; the operator's writes change its spec
		// (generation) or metadata.
		s.children["Job/"+o.Name] = fmt.Sprint(o.Generation, o.Labels, o.Annotations)
	}
	sim := simState(t, ns, name)
	s.flinkJobs = len(sim.Jobs)
	s.flinkSaved = countSavepoints(sim)
	s.flinkRunning = len(sim.Jobs) > 0 && sim.Jobs[len(sim.Jobs)-1].State == "RUNNING"
	return s
}

// TestOperatorUpgradeLeavesJobsUntouched runs job clusters under the previous operator, replaces
// it with the current one (SIGTERM, then start, as a Deployment rollout does) and checks that
// every job keeps running untouched: the same Flink job, no restart, no savepoint, no write to
// any child object and none to the FlinkCluster beyond its status.
func TestOperatorUpgradeLeavesJobsUntouched(t *testing.T) {
	rev := previousOperatorCommit(t)
	prevBin := buildOperatorAt(t, rev, "it-operator-previous")
	t.Logf("upgrading from the operator at %s", rev)
	ctx := context.Background()
	ns := newNamespace(t)

	env.operator.Stop()
	current := env.operator.bin
	env.operator.bin = prevBin
	defer func() {
		// Whatever happens, the rest of the suite runs the current operator.
		env.operator.Stop()
		env.operator.bin = current
		require.NoError(t, env.operator.Start())
	}()
	require.NoError(t, env.operator.Start())

	names := []string{"upgrade-a", "upgrade-b"}
	for _, name := range names {
		obj := fromYAML(t, savepointJobCluster)
		obj.SetName(name)
		_, err := createStrict(ctx, ns, obj)
		require.NoError(t, err)
	}
	before := map[string]clusterSnapshot{}
	for _, name := range names {
		waitJob(t, ns, name, 3*time.Minute, "the job to run under the previous operator", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
		})
	}
	// Let the previous operator settle (status writes after Running), then take the snapshot.
	time.Sleep(3 * time.Second)
	for _, name := range names {
		before[name] = snapshotCluster(t, ctx, ns, name)
	}

	env.operator.Stop()
	env.operator.bin = current
	require.NoError(t, env.operator.Start())
	// The current operator has synced every cluster once it has polled each JobManager; give it
	// several poll intervals (1 s here) beyond that to act, if it were going to.
	for _, name := range names {
		polled := simRequests(t, ns, name)
		require.Eventually(t, func() bool { return simRequests(t, ns, name) > polled+2 }, time.Minute, 200*time.Millisecond,
			"the current operator polls %s", name)
	}
	time.Sleep(5 * time.Second)

	for _, name := range names {
		after := snapshotCluster(t, ctx, ns, name)
		assert.Equal(t, before[name], after, "cluster %s: the upgrade changed nothing but status", name)
		j := getFC(t, ns, name).Status.Components.Job
		assert.Equal(t, v1beta1.JobStateRunning, j.State)
	}
}
