//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// latestSavepointFormat is the format the simulated JobManager records for the job's latest
// savepoint (its checkpoint history's latest.savepoint.savepointFormat).
func latestSavepointFormat(t *testing.T, ns, name, jobID string) string {
	t.Helper()
	resp, err := http.Get(env.simURL + "/clusters/" + ns + "/" + name + "/jobs/" + jobID + "/checkpoints")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Latest struct {
			Savepoint *struct {
				Format string `json:"savepointFormat"`
			} `json:"savepoint"`
		} `json:"latest"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotNil(t, body.Latest.Savepoint, "the job has a savepoint")
	return body.Latest.Savepoint.Format
}

// TestSavepointFormatType: spec.job.savepointFormatType NATIVE reaches Flink with every savepoint
// the operator triggers: a requested one and the stop of an update; CANONICAL again once removed.
func TestSavepointFormatType(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, savepointJobCluster)
	setPath(obj.Object, "spec.job.savepointFormatType", "NATIVE")
	_, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	j := waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	takeSavepoint(t, ns, "counter", 1)
	assert.Equal(t, "NATIVE", latestSavepointFormat(t, ns, "counter", j.ID), "a requested savepoint")

	patchJob(t, ns, "counter", `{"args":["--updated"]}`)
	updated := waitJob(t, ns, "counter", 60*time.Second, "the update to run", func(u *v1beta1.JobStatus) bool {
		return u.ID != j.ID && u.State == v1beta1.JobStateRunning
	})
	assert.Equal(t, "NATIVE", latestSavepointFormat(t, ns, "counter", j.ID), "the update's stop")

	_, err = kubectl(context.Background(), "patch", "-n", ns, "fc/counter", "--type=json", "-p", `[{"op":"remove","path":"/spec/job/savepointFormatType"}]`)
	require.NoError(t, err)
	takeSavepoint(t, ns, "counter", 3)
	assert.Equal(t, "CANONICAL", latestSavepointFormat(t, ns, "counter", updated.ID), "the default, and no restart for the change")
	assert.Equal(t, updated.ID, jobStatus(t, ns, "counter").ID)
}
