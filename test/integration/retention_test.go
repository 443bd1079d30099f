//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// storedSavepoints are the savepoints the simulator still holds of the cluster's jobs.
func storedSavepoints(t *testing.T, ns, name string) []string {
	t.Helper()
	resp, err := http.Get(env.simURL + "/sim/savepoints")
	require.NoError(t, err)
	defer resp.Body.Close()
	var all []string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&all))
	exists := map[string]bool{}
	for _, p := range all {
		exists[p] = true
	}
	var out []string
	for _, j := range simState(t, ns, name).Jobs {
		for _, p := range j.Savepoints {
			if exists[p] {
				out = append(out, p)
			}
		}
	}
	return out
}

// takeSavepoint asks for savepoint n (savepointGeneration) and waits until the job runs again.
func takeSavepoint(t *testing.T, ns, name string, n int32) *v1beta1.JobStatus {
	t.Helper()
	patchJob(t, ns, name, `{"savepointGeneration":`+strconv.Itoa(int(n))+`}`)
	return waitJob(t, ns, name, 30*time.Second, fmt.Sprintf("savepoint %d", n), func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration == n && j.State == v1beta1.JobStateRunning
	})
}

// disposalsSettled: no disposal in flight, and none due (count disposed).
func disposalsSettled(j *v1beta1.JobStatus, disposed int) bool {
	n := 0
	for _, e := range j.SavepointHistory {
		if e.Disposal == nil {
			continue
		}
		if e.Disposal.State != v1beta1.DisposalStateDisposed {
			return false
		}
		n++
	}
	return n == disposed
}

func locationsOf(j *v1beta1.JobStatus, disposed bool) []string {
	var out []string
	for _, e := range j.SavepointHistory {
		if e.State == v1beta1.SavepointStateSucceeded && (e.Disposal != nil) == disposed {
			out = append(out, e.Location)
		}
	}
	return out
}

// TestSavepointRetention: with maxCount 2, five savepoints leave exactly the newest two in the
// storage, the others disposed of through the JobManager and marked in the history; a restore's
// source is never disposed of although newer savepoints push it beyond the count.
func TestSavepointRetention(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, savepointJobCluster)
	setPath(obj.Object, "spec.job.savepointRetention", map[string]interface{}{"maxCount": int64(2)})
	_, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	for n := int32(1); n <= 5; n++ {
		takeSavepoint(t, ns, "counter", n)
	}
	j := waitJob(t, ns, "counter", 30*time.Second, "three disposals", func(j *v1beta1.JobStatus) bool { return disposalsSettled(j, 3) })
	kept := locationsOf(j, false)
	require.Len(t, kept, 2)
	assert.ElementsMatch(t, kept, storedSavepoints(t, ns, "counter"), "exactly the newest two are left")
	assert.Len(t, locationsOf(j, true), 3)
	assert.Equal(t, kept[0], j.SavepointLocation)

	// Restore from the older of the two: the restore's stop takes an update savepoint, and two
	// more savepoints push the chosen one beyond the count; it stays, as the attempt's source.
	chosen := kept[1]
	patchJob(t, ns, "counter", `{"fromSavepoint":"`+chosen+`","restoreGeneration":1}`)
	j = waitJob(t, ns, "counter", 60*time.Second, "the restored job to run", func(j *v1beta1.JobStatus) bool {
		return j.RestoreGeneration == 1 && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	require.Equal(t, chosen, j.FromSavepoint)
	next := j.SavepointGeneration + 1
	takeSavepoint(t, ns, "counter", next)
	takeSavepoint(t, ns, "counter", next+1)
	j = waitJob(t, ns, "counter", 30*time.Second, "two more disposals", func(j *v1beta1.JobStatus) bool { return disposalsSettled(j, 5) })
	kept = locationsOf(j, false)
	require.Len(t, kept, 3)
	assert.Equal(t, j.SavepointLocation, kept[0])
	assert.Equal(t, chosen, kept[2], "the newest two, and the restore's source beyond the count")
	assert.ElementsMatch(t, kept, storedSavepoints(t, ns, "counter"))
	var reasons []string
	waitFor(t, eventDelivery, "five SavepointDisposed events", func() bool {
		reasons = eventReasons(t, ns, "counter")
		disposed := 0
		for _, r := range reasons {
			if r == "SavepointDisposed" {
				disposed++
			}
		}
		return disposed == 5
	})
	assert.NotContains(t, reasons, "SavepointDisposalFailed")
}
