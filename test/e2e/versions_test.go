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
	manifest := checkpointingCluster(ns, name, dir, out1, "", "    upgradeMode: LastState\n", intervalProperty)
	for old, repl := range map[string]string{"name: flink:" + env.version: "name: flink:" + upgradeFrom, "jarFile: " + env.jobJar: "jarFile: " + oldJar} {
		require.Contains(t, manifest, old)
		manifest = strings.Replace(manifest, old, repl, 1)
	}
	apply(t, manifest)
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
