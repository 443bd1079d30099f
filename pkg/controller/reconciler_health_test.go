package controller

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

// flinkCounters plays a running Flink job with these restart and checkpoint counters.
func (f *fixture) flinkCounters(restarts, checkpoints int) {
	f.rest.AddJob(jmURL, flinkfake.Job{Details: flinkclient.JobDetails{ID: f.job().ID, State: flinkclient.JobStateRunning},
		Metrics: map[string]string{"numRestarts": strconv.Itoa(restarts), "numberOfCompletedCheckpoints": strconv.Itoa(checkpoints)}})
}

// TestARestartLoopMakesTheJobUnhealthyUntilAQuietWindow: condition JobHealthy follows Flink's
// numRestarts (read once a minute), with a Warning event when the job turns unhealthy and a
// Normal one when a whole restart window passed without a restart.
func TestARestartLoopMakesTheJobUnhealthyUntilAQuietWindow(t *testing.T) {
	f := runningJob(t, jobCluster())
	f.flinkCounters(0, 0)
	f.sync()
	c := condition(f.cluster(), state.ConditionJobHealthy)
	require.NotNil(t, c)
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	f.events()

	f.now = f.now.Add(time.Minute)
	f.flinkCounters(5, 0)
	f.sync()
	c = condition(f.cluster(), state.ConditionJobHealthy)
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Equal(t, "RestartLoop", c.Reason)
	assert.Contains(t, f.events(), "Warning JobUnhealthy RestartLoop: Flink restarted the job 5 times in the last 10m0s")

	for i := 0; i < 9; i++ { // quiet, but not yet for a whole window
		f.now = f.now.Add(time.Minute)
		f.sync()
		assert.Equal(t, metav1.ConditionFalse, condition(f.cluster(), state.ConditionJobHealthy).Status, "minute %d", i+2)
	}
	assert.Empty(t, f.events(), "no event while it stays unhealthy")
	f.now = f.now.Add(time.Minute)
	f.sync()
	assert.Equal(t, metav1.ConditionTrue, condition(f.cluster(), state.ConditionJobHealthy).Status)
	assert.Contains(t, f.events(), "Normal JobHealthy healthy again after RestartLoop")
}

// TestJobHealthyBelongsToTheRunningAttempt: the condition goes while the job does not run, and an
// unhealthy verdict of an earlier attempt does not carry over to the next.
func TestJobHealthyBelongsToTheRunningAttempt(t *testing.T) {
	f := runningJob(t, jobCluster())
	f.flinkCounters(0, 0)
	f.sync()
	f.now = f.now.Add(time.Minute)
	f.flinkCounters(9, 0)
	f.sync()
	require.Equal(t, "RestartLoop", condition(f.cluster(), state.ConditionJobHealthy).Reason)

	f.now = f.now.Add(time.Minute)
	f.runFlinkJob(flinkclient.JobStateFailed)
	f.sync()
	assert.Nil(t, condition(f.cluster(), state.ConditionJobHealthy), "a failed job is not judged")
}

// TestRestartOnUnhealthyThroughTheSync: the sync that judges the job unhealthy cancels it (state
// Failing) and still reports the verdict as an event; the condition goes with the running job.
func TestRestartOnUnhealthyThroughTheSync(t *testing.T) {
	fc := jobCluster()
	fc.Spec.Job.RestartOnUnhealthy = ptr.To(true)
	fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	f := startedJob(t, fc)
	f.takeUserSavepoint(1)
	f.flinkCounters(0, 0)
	f.now = f.now.Add(time.Minute)
	f.sync()
	require.Equal(t, metav1.ConditionTrue, condition(f.cluster(), state.ConditionJobHealthy).Status)
	f.events()
	f.rest.ResetCalls()

	f.now = f.now.Add(time.Minute)
	f.flinkCounters(5, 0)
	f.sync()
	assert.Equal(t, fsm.Failing, f.job().State)
	cancels := 0
	for _, c := range f.rest.Calls() {
		if c.Method == "PATCH" && strings.Contains(c.Path, "mode=cancel") {
			cancels++
		}
	}
	assert.Equal(t, 1, cancels, "the job is cancelled")
	events := f.events()
	assert.Contains(t, events, "Warning JobUnhealthy RestartLoop")
	assert.Contains(t, events, "Running -> Failing on JobUnhealthy")
	assert.Nil(t, condition(f.cluster(), state.ConditionJobHealthy), "not judged while it is cancelled")
}
