//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// latestStateCluster checkpoints every second (the simulator reads the interval from the
// cluster's ConfigMap) and resumes from its latest state on failures and updates.
func latestStateCluster(name, extraProps, extraJob string) string {
	return fmt.Sprintf(`
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: %s
spec:
  image:
    name: flink:2.1
  jobManager: {}
  taskManager:
    replicas: 1
  flinkProperties:
    pipeline.name: %s%s
  job:
    jarFile: /opt/flink/examples/streaming/StateMachineExample.jar
    className: org.apache.flink.streaming.examples.statemachine.StateMachineExample
    savepointsDir: /savepoints/%s/savepoints
    restartPolicy: FromLatestStateOnFailure
    upgradeMode: LastState%s
`, name, name, extraProps, name, extraJob)
}

// simCheckRestorePaths makes the simulated JobManager of ns/name fail a job restored from a path
// it does not know, as Flink does.
func simCheckRestorePaths(t *testing.T, ns, name string) {
	t.Helper()
	simRequest(t, "PUT", ns, name, "", `{"checkRestorePaths": true}`)
}

// deleteFromStorage deletes every savepoint and checkpoint under prefix from the simulated
// storage, as someone cleaning up a bucket would.
func deleteFromStorage(t *testing.T, prefix string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"prefix": prefix})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodDelete, env.simURL+"/sim/savepoints", bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func condition(t *testing.T, ns, name, condType string) *metav1.Condition {
	t.Helper()
	return meta.FindStatusCondition(getFC(t, ns, name).Status.Conditions, condType)
}

func eventLog(t *testing.T, ns, name string) string {
	t.Helper()
	events, err := env.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	require.NoError(t, err)
	var lines []string
	for _, e := range events.Items {
		lines = append(lines, e.Type+" "+e.Reason+": "+e.Message)
	}
	return strings.Join(lines, "\n")
}

// recordedAfter: the latest checkpoint of the current attempt is recorded, after since.
func recordedAfter(since *metav1.Time) func(*v1beta1.JobStatus) bool {
	return func(j *v1beta1.JobStatus) bool {
		rec := j.LatestCheckpoint
		return j.State == v1beta1.JobStateRunning && rec != nil && rec.JobID == j.ID && rec.Location != "" &&
			(since == nil || (rec.RecordTime != nil && rec.RecordTime.After(since.Time)))
	}
}

// TestLatestStateRecovery takes a job whose policies resume from the latest state through a
// failure, a JobManager loss, a LastState update and a checkpoint deleted behind Flink's back,
// against the simulated JobManager, which keeps num-retained checkpoints and deletes the rest.
func TestLatestStateRecovery(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	const name = "latest"
	simCheckRestorePaths(t, ns, name)
	_, err := createStrict(ctx, ns, fromYAML(t, latestStateCluster(name, "\n    execution.checkpointing.interval: \"1 s\"", "")))
	require.NoError(t, err)

	first := waitJob(t, ns, name, 90*time.Second, "a checkpoint of the running job to be recorded", recordedAfter(nil))
	assert.Equal(t, v1beta1.CheckpointRetentionRetainOnCancellation, first.CheckpointRetention, "read from the job's checkpoint configuration")
	assert.Contains(t, first.LatestCheckpoint.Location, "file:/savepoints/"+name+"/checkpoints/"+first.ID+"/chk-", "next to savepointsDir")
	cm, err := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, names.ConfigMap(name), metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, cm.Data["config.yaml"], `execution.checkpointing.externalized-checkpoint-retention: "RETAIN_ON_CANCELLATION"`)
	assert.Contains(t, cm.Data["config.yaml"], `execution.checkpointing.num-retained: "34"`, "(3 s + 30 s) / 1 s + 1")
	waitFor(t, 10*time.Second, "condition LatestStateAvailable", func() bool {
		c := condition(t, ns, name, "LatestStateAvailable")
		return c != nil && c.Status == metav1.ConditionTrue
	})
	out, err := kubectl(ctx, "get", "fc", name, "-n", ns, "-o", "wide")
	require.NoError(t, err)
	assert.Contains(t, out, "CHECKPOINT", "kubectl get -o wide shows the checkpoint's age")

	t.Run("a failed job restarts from the checkpoint its failure left", func(t *testing.T) {
		before := jobStatus(t, ns, name)
		simPost(t, ns, name, "jobs/"+before.ID+"/fail", `{"message":"TaskManager lost"}`)
		j := waitJob(t, ns, name, 60*time.Second, "the restarted job to run", func(j *v1beta1.JobStatus) bool {
			return j.RestartCount == 1 && j.State == v1beta1.JobStateRunning && j.ID != before.ID
		})
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+before.ID+"/chk-", "the failed attempt's checkpoint")
		assert.GreaterOrEqual(t, checkpointID(t, j.FromSavepoint), before.LatestCheckpoint.ID, "not older than the last record")
		assert.Contains(t, eventLog(t, ns, name), "Normal Restoring: attempt 2 restoring from checkpoint")
	})

	t.Run("a lost JobManager: the job resumes from the recorded checkpoint", func(t *testing.T) {
		before := waitJob(t, ns, name, 30*time.Second, "a checkpoint of attempt 2", recordedAfter(nil))
		simPost(t, ns, name, "jobmanager/restart", "")
		j := waitJob(t, ns, name, 60*time.Second, "the lost job to run again", func(j *v1beta1.JobStatus) bool {
			return j.RestartCount == 2 && j.State == v1beta1.JobStateRunning
		})
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+before.ID+"/chk-")
		assert.GreaterOrEqual(t, checkpointID(t, j.FromSavepoint), before.LatestCheckpoint.ID)
	})

	t.Run("a LastState update takes no savepoint and resumes from the latest checkpoint", func(t *testing.T) {
		before := waitJob(t, ns, name, 30*time.Second, "a checkpoint of attempt 3", recordedAfter(nil))
		patchJob(t, ns, name, `{"parallelism":2}`)
		j := waitJob(t, ns, name, 60*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
			return j.Attempt == before.Attempt+1 && j.State == v1beta1.JobStateRunning
		})
		assert.True(t, j.FromCheckpoint)
		assert.Contains(t, j.FromSavepoint, "/checkpoints/"+before.ID+"/chk-")
		assert.Equal(t, before.SavepointGeneration, j.SavepointGeneration, "no savepoint was taken")
		assert.Empty(t, j.SavepointHistory, "no savepoint operation at all")
		assert.Nil(t, condition(t, ns, name, "UpdatePending"))
		assert.Contains(t, eventLog(t, ns, name), "Updating -> Deploying")
	})

	t.Run("a checkpoint deleted from the storage: falls back to the savepoint, and says so", func(t *testing.T) {
		patchJob(t, ns, name, `{"savepointGeneration":1}`)
		sp := waitJob(t, ns, name, 30*time.Second, "the requested savepoint", func(j *v1beta1.JobStatus) bool {
			return j.SavepointGeneration == 1 && j.State == v1beta1.JobStateRunning
		})
		before := waitJob(t, ns, name, 30*time.Second, "a checkpoint recorded after the savepoint", recordedAfter(sp.LastSavepointTime))
		simPost(t, ns, name, "jobmanager/restart", "")
		deleteFromStorage(t, "/savepoints/"+name+"/checkpoints/"+before.ID)
		// Syncs of one cluster run one at a time, so once status says the job is missing, no
		// sync that read the history before the restart can still change the record.
		rec := *waitJob(t, ns, name, 30*time.Second, "the job to be missing", func(j *v1beta1.JobStatus) bool {
			return j.NotFoundSince != nil || j.State == v1beta1.JobStateLost
		}).LatestCheckpoint
		j := waitJob(t, ns, name, 90*time.Second, "the job to run from the savepoint", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateRunning && j.FromSavepoint == sp.SavepointLocation
		})
		// The recorded checkpoint and the older ones the record named were all tried, newest
		// first, then the savepoint.
		require.Len(t, j.UnrestorableLocations, 1+len(rec.Older))
		assert.Equal(t, rec.Location, j.UnrestorableLocations[len(j.UnrestorableLocations)-1], "the newest was tried first")
		for _, l := range j.UnrestorableLocations {
			assert.Contains(t, l, "/checkpoints/"+before.ID+"/chk-")
		}
		t.Logf("tried %d checkpoints before the savepoint: %v", len(j.UnrestorableLocations), j.UnrestorableLocations)
		assert.False(t, j.FromCheckpoint)
		assert.Contains(t, eventLog(t, ns, name), "Warning Restoring: attempt "+fmt.Sprint(j.Attempt)+" restoring from older state: savepoint "+sp.SavepointLocation+": checkpoint")
	})
}

func checkpointID(t *testing.T, path string) int64 {
	t.Helper()
	var id int64
	_, err := fmt.Sscanf(path[strings.LastIndex(path, "/chk-")+len("/chk-"):], "%d", &id)
	require.NoError(t, err, path)
	return id
}

// TestLastStateUpdateWaits: a LastState update of a job that has no checkpoint to resume from,
// or whose configuration would delete its checkpoints on cancellation, waits with the reason in
// condition UpdatePending while the job keeps running; switching to a savepoint update lets it go.
func TestLastStateUpdateWaits(t *testing.T) {
	tests := []struct {
		name, props, reason string
	}{
		{"no-checkpoints", "", "the job takes no checkpoints"},
		{"deletes-on-cancel", "\n    execution.checkpointing.interval: \"1 s\"\n    execution.checkpointing.externalized-checkpoint-retention: DELETE_ON_CANCELLATION",
			"would delete its checkpoints when it is cancelled"},
	}
	ns := newNamespace(t)
	ctx := context.Background()
	for _, tt := range tests {
		_, err := createStrict(ctx, ns, fromYAML(t, latestStateCluster(tt.name, tt.props, "")))
		require.NoError(t, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := waitJob(t, ns, tt.name, 90*time.Second, "the job to run with its retention read", func(j *v1beta1.JobStatus) bool {
				return j.State == v1beta1.JobStateRunning && j.CheckpointRetention != ""
			})
			patchJob(t, ns, tt.name, `{"parallelism":2}`)
			waitFor(t, 30*time.Second, "UpdatePending to say why", func() bool {
				c := condition(t, ns, tt.name, "UpdatePending")
				return c != nil && c.Reason == "LastStateUnavailable" && strings.Contains(c.Message, tt.reason)
			})
			time.Sleep(3 * time.Second) // three polls
			j := jobStatus(t, ns, tt.name)
			assert.Equal(t, before.ID, j.ID, "the job was not stopped")
			assert.Equal(t, v1beta1.JobStateRunning, j.State)
			assert.Equal(t, "RUNNING", j.FlinkJobState)

			patchJob(t, ns, tt.name, `{"upgradeMode":"Savepoint"}`)
			j = waitJob(t, ns, tt.name, 60*time.Second, "the update by savepoint", func(j *v1beta1.JobStatus) bool {
				return j.Attempt == before.Attempt+1 && j.State == v1beta1.JobStateRunning
			})
			assert.False(t, j.FromCheckpoint)
			assert.Equal(t, v1beta1.SavepointReasonUpdate, j.SavepointHistory[0].Reason)
		})
	}
}
