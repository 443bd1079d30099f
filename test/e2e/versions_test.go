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

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// upgradeFrom is the Flink version TestFlinkVersionUpdate starts on: the newest 1.x, from which
// users move to 2.x.
const upgradeFrom = "1.20.5"

// TestFlinkVersionUpdate updates a running job from Flink 1.20 to the newest version by changing
// its image (and its JAR, built against the new version). Although its upgradeMode is LastState,
// the update goes through a savepoint, because checkpoints are not guaranteed to restore across
// versions: the new attempt runs on the new JobManager from the update's savepoint, and every key
// counts on from where the old job stopped.
func TestFlinkVersionUpdate(t *testing.T) {
	newestOnly(t)
	oldJar := otherVersion(t, upgradeFrom)
	ns, dir := newNamespace(t, "version-update")
	const name = "upgraded"
	out1, out2 := filepath.Join(dir, "counts-1.txt"), filepath.Join(dir, "counts-2.txt")
	apply(t, onVersion(t, checkpointingCluster(ns, name, dir, out1, "", "    upgradeMode: LastState\n", intervalProperty), upgradeFrom, oldJar))
	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run on Flink "+upgradeFrom, jobRunning)
	first := jobOf(fc)
	assert.Equal(t, "1.20", first.FlinkVersion, "status.components.job.flinkVersion")
	waitCounts(t, out1, 4, 3, time.Minute)

	patch := fmt.Sprintf(`{"spec":{"image":{"name":"flink:%s"},"job":{"jarFile":%q,"args":["--out",%q,"--rate","20","--keys","4","--checkpoint-ms","%d"]}}}`,
		env.version, env.jobJar, out2, checkpointMS)
	_, err := kubectl("patch", "-n", ns, "fc/"+name, "--type=merge", "-p", patch)
	require.NoError(t, err)
	fc = waitFor(t, ns, name, 4*time.Minute, "the job to run on Flink "+env.version, func(fc *v1beta1.FlinkCluster) bool {
		return jobRunning(fc) && jobOf(fc).ID != first.ID
	})
	second := jobOf(fc)
	assert.Equal(t, versionMinor(env.version), second.FlinkVersion, "status.components.job.flinkVersion")

	var update *v1beta1.SavepointOperation
	for i, op := range second.SavepointHistory {
		if op.Reason == v1beta1.SavepointReasonUpdate {
			update = &second.SavepointHistory[i]
			break
		}
	}
	require.NotNil(t, update, "the update took a savepoint (upgradeMode LastState does not apply across versions): %+v", second.SavepointHistory)
	assert.Equal(t, v1beta1.SavepointStateSucceeded, update.State)
	assert.Equal(t, update.Location, second.FromSavepoint, "the new attempt started from the update's savepoint")

	var overview struct {
		Version string `json:"flink-version"`
	}
	flinkGET(t, ns, name+"-jobmanager", "/overview", &overview)
	assert.Equal(t, env.version, overview.Version, "the JobManager that runs the job now")
	var fj flinkJob
	flinkGET(t, ns, name+"-jobmanager", "/jobs/"+second.ID, &fj)
	assert.Equal(t, "RUNNING", fj.State)

	before := counts(t, out1)
	after := waitCounts(t, out2, 4, 2, 2*time.Minute)
	assertContinues(t, before, after)
}

// versionMinor is a version's major.minor (2.3 for 2.3.0), as status records it.
func versionMinor(version string) string {
	major, minor := versionParts(version)
	return fmt.Sprintf("%d.%d", major, minor)
}

// onVersion makes a manifest of the suite's version run Flink version with jar instead.
func onVersion(t *testing.T, manifest, version, jar string) string {
	t.Helper()
	for old, repl := range map[string]string{"name: flink:" + env.version: "name: flink:" + version, "jarFile: " + env.jobJar: "jarFile: " + jar} {
		require.Contains(t, manifest, old)
		manifest = strings.Replace(manifest, old, repl, 1)
	}
	return manifest
}

// oldestApplicationVersion is the oldest Flink whose application entry point takes --jars.
const oldestApplicationVersion = "1.19.3"

// TestApplicationModeOnFlink119 runs application mode on the oldest version the operator allows
// it for (1.18 has no --jars and is refused): the JobManager Job runs the counter under the
// operator's job ID, and an update through a savepoint runs a new JobManager whose counts
// continue.
func TestApplicationModeOnFlink119(t *testing.T) {
	newestOnly(t)
	jar := otherVersion(t, oldestApplicationVersion)
	ns, dir := newNamespace(t, "application-119")
	const name = "app"
	out1, out2 := filepath.Join(dir, "counts-1.txt"), filepath.Join(dir, "counts-2.txt")
	apply(t, onVersion(t, applicationMode(streamingCluster(ns, name, dir, out1, "")), oldestApplicationVersion, jar))

	fc := waitFor(t, ns, name, 4*time.Minute, "the job to run", jobRunning)
	first := jobOf(fc)
	var fj flinkJob
	flinkGET(t, ns, name+"-jobmanager", "/jobs/"+first.ID, &fj)
	assert.Equal(t, "RUNNING", fj.State, "the JobManager runs the job under the operator's job ID")
	var overview struct {
		Version string `json:"flink-version"`
	}
	flinkGET(t, ns, name+"-jobmanager", "/overview", &overview)
	assert.Equal(t, oldestApplicationVersion, overview.Version)
	waitCounts(t, out1, 4, 3, time.Minute)

	patchJob(t, ns, name, fmt.Sprintf(`{"args":["--out","%s","--rate","20","--keys","4"]}`, out2))
	fc = waitFor(t, ns, name, 4*time.Minute, "the updated job to run",
		func(fc *v1beta1.FlinkCluster) bool { return jobRunning(fc) && jobOf(fc).ID != first.ID })
	require.NotEmpty(t, jobOf(fc).FromSavepoint, "the update restored from its savepoint")
	before := counts(t, out1)
	after := waitCounts(t, out2, 4, 2, time.Minute)
	assertContinues(t, before, after)
}
