//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// stopTestTimeout is the operator's --savepoint-timeout in TestStopsOutlivingTheirTimeout: the
// simulated JobManager takes stopTestDelay to complete a stop, and does not answer for longer
// than the timeout in between.
const (
	stopTestTimeout = 3 * time.Second
	stopTestDelay   = 10 * time.Second
)

// simRequest sends a control request for a cluster to the simulator.
func simRequest(t *testing.T, method, ns, name, path, body string) {
	t.Helper()
	url := fmt.Sprintf("%s/sim/clusters/%s/%s", env.simURL, ns, name)
	if path != "" {
		url += "/" + path
	}
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s", method, url)
}

// withSavepointTimeout runs the suite's operator with a short --savepoint-timeout for the rest
// of the test.
func withSavepointTimeout(t *testing.T, d time.Duration) {
	env.operator.Stop()
	args := env.operator.args
	env.operator.args = append(append([]string{}, args...), "--savepoint-timeout="+d.String())
	require.NoError(t, env.operator.Start())
	t.Cleanup(func() {
		env.operator.Stop()
		env.operator.args = args
		if err := env.operator.Start(); err != nil {
			t.Errorf("restarting the suite's operator: %v", err)
		}
	})
}

// TestStopsOutlivingTheirTimeout stops running jobs (an update, a cancel, a deletion) through a
// JobManager whose stop takes longer than the operator's savepoint timeout and that stops
// answering for longer than the timeout meanwhile: each stop is marked overdue, never returns the
// job to Running and is never read as the job's end; once Flink confirms it, the update resumes
// from the stop's savepoint, the cancel records it, and the deletion writes it.
func TestStopsOutlivingTheirTimeout(t *testing.T) {
	withSavepointTimeout(t, stopTestTimeout)
	ns := newNamespace(t)
	ctx := context.Background()
	for _, name := range []string{"update", "cancel", "delete"} {
		obj := fromYAML(t, savepointJobCluster)
		obj.SetName(name)
		_, err := createStrict(ctx, ns, obj)
		require.NoError(t, err)
	}
	first := map[string]string{}
	for _, name := range []string{"update", "cancel", "delete"} {
		first[name] = waitJob(t, ns, name, 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
		}).ID
		simRequest(t, http.MethodPut, ns, name, "", fmt.Sprintf(`{"delays":{"stop":%q}}`, stopTestDelay))
	}

	patchJob(t, ns, "update", `{"parallelism":2}`)
	patchJob(t, ns, "cancel", `{"cancelRequested":true}`)
	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "delete", metav1.DeleteOptions{}))
	states := map[string]v1beta1.JobState{"update": v1beta1.JobStateUpdating, "cancel": v1beta1.JobStateCancelling, "delete": v1beta1.JobStateDeleting}
	for name, state := range states {
		waitJob(t, ns, name, 30*time.Second, "the stop to be in flight", func(j *v1beta1.JobStatus) bool {
			return j.State == state && j.Savepoint != nil && j.Savepoint.State == v1beta1.SavepointStateInProgress
		})
		simRequest(t, http.MethodPut, ns, name, "faults", `{"unreachable":true}`)
	}
	for name, state := range states {
		j := waitJob(t, ns, name, 30*time.Second, "the stop to be marked overdue", func(j *v1beta1.JobStatus) bool {
			return j.Savepoint != nil && j.Savepoint.Message != ""
		})
		assert.Equal(t, state, j.State, "%s: an overdue stop keeps its state", name)
		assert.Equal(t, v1beta1.SavepointStateInProgress, j.Savepoint.State, "%s: still polled", name)
		if name != "delete" {
			cond := meta.FindStatusCondition(getFC(t, ns, name).Status.Conditions, "StopUnconfirmed")
			require.NotNil(t, cond, name)
			assert.Equal(t, "Overdue", cond.Reason)
		}
		simRequest(t, http.MethodDelete, ns, name, "faults", "")
	}

	j := waitJob(t, ns, "update", 90*time.Second, "the updated job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first["update"] && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	assert.Equal(t, v1beta1.SavepointReasonUpdate, j.SavepointHistory[0].Reason)
	assert.Equal(t, v1beta1.SavepointStateSucceeded, j.SavepointHistory[0].State)
	assert.Equal(t, j.SavepointHistory[0].Location, j.FromSavepoint, "resumed from the slow stop's savepoint")
	assert.Nil(t, meta.FindStatusCondition(getFC(t, ns, "update").Status.Conditions, "StopUnconfirmed"), "resolved")

	c := waitJob(t, ns, "cancel", 60*time.Second, "the job to be cancelled", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateCancelled
	})
	assert.Equal(t, v1beta1.SavepointStateSucceeded, c.SavepointHistory[0].State)
	assert.Equal(t, c.SavepointHistory[0].Location, c.SavepointLocation)

	waitFor(t, 60*time.Second, "the deleted FlinkCluster to be gone", func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "delete", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})

	events, err := env.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	perCluster := map[string][]string{}
	for _, e := range events.Items {
		perCluster[e.InvolvedObject.Name] = append(perCluster[e.InvolvedObject.Name], e.Reason+": "+e.Message)
	}
	for name := range states {
		log := strings.Join(perCluster[name], "\n")
		assert.Contains(t, log, "StopOverdue: Flink has not confirmed this stop within 3s", name)
		assert.NotContains(t, log, "-> Running on SavepointTimedOut", name)
		assert.NotContains(t, log, "-> Succeeded", "%s: a slow stop is never the job's own end", name)
	}
	assert.Regexp(t, `FinalSavepoint: Final savepoint written to \S*/savepoints/counter/savepoint-`, strings.Join(perCluster["delete"], "\n"))
}
