//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// simCluster is what the simulator knows of one cluster: every job it ran and every savepoint.
type simCluster struct {
	Jobs []struct {
		ID         string   `json:"id"`
		State      string   `json:"state"`
		Savepoints []string `json:"savepoints"`
		StartTime  string   `json:"startTime"`
		EndTime    string   `json:"endTime"`
	} `json:"jobs"`
	Submissions []struct {
		JobID string `json:"jobId"`
		Error string `json:"error"`
	} `json:"submissions"`
}

func simState(t *testing.T, ns, name string) simCluster {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/sim/clusters/%s/%s", env.simURL, ns, name))
	require.NoError(t, err)
	defer resp.Body.Close()
	var c simCluster
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	return c
}

// chaos SIGKILLs and restarts the operator at random moments until stopped, so that it dies in
// every state of the job's life, between any two writes of a sync.
func chaos(t *testing.T) (stop func() int) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	kills := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		for {
			select {
			case <-quit:
				return
			case <-time.After(time.Duration(300+rng.Intn(900)) * time.Millisecond):
			}
			env.operator.Kill()
			kills++
			if err := env.operator.Start(); err != nil {
				t.Errorf("restarting the operator: %v", err)
				return
			}
		}
	}()
	return func() int { close(quit); wg.Wait(); return kills }
}

// TestOperatorKilledAnywhereConverges runs a job cluster's whole life (submit, a requested
// savepoint, an update through a savepoint, cancel with a savepoint) while the operator is
// killed every few hundred milliseconds. Whatever state it dies in, it must converge: every
// attempt ran exactly once in Flink, and every savepoint Flink wrote is one the status counts.
func TestOperatorKilledAnywhereConverges(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	stop := chaos(t)
	defer func() {
		if stop != nil {
			stop()
		}
	}()

	_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	first := waitJob(t, ns, "counter", 3*time.Minute, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	patchJob(t, ns, "counter", `{"savepointGeneration":1}`)
	waitJob(t, ns, "counter", 2*time.Minute, "the requested savepoint", func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration >= 1
	})
	patchJob(t, ns, "counter", `{"parallelism":2}`)
	waitJob(t, ns, "counter", 3*time.Minute, "the updated job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	patchJob(t, ns, "counter", `{"cancelRequested":true}`)
	final := waitJob(t, ns, "counter", 3*time.Minute, "the job to be cancelled", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateCancelled
	})
	kills := stop()
	stop = nil

	sim := simState(t, ns, "counter")
	assert.Len(t, sim.Jobs, int(final.Attempt), "one Flink job per attempt: nothing was submitted twice")
	savepoints := countSavepoints(sim)
	assert.Equal(t, int(final.SavepointGeneration), savepoints, "every savepoint Flink wrote is counted in status, none taken twice")
	assert.Equal(t, int32(0), final.RestartCount)
	t.Logf("operator killed %d times; %d attempts, %d savepoints", kills, final.Attempt, savepoints)
}

// killOnState SIGKILLs and restarts the operator the first time the job's status shows state:
// status is written before the step's actions run, so the kill often lands between the two.
func killOnState(t *testing.T, ns, name string, state v1beta1.JobState) (stop func() bool) {
	quit := make(chan struct{})
	killed := make(chan bool, 1)
	go func() {
		for {
			select {
			case <-quit:
				killed <- false
				return
			case <-time.After(5 * time.Millisecond):
			}
			fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil || fc.Status.Components.Job == nil || fc.Status.Components.Job.State != state {
				continue
			}
			env.operator.Kill()
			if err := env.operator.Start(); err != nil {
				t.Errorf("restarting the operator: %v", err)
			}
			<-quit
			killed <- true
			return
		}
	}()
	return func() bool { close(quit); return <-killed }
}

// TestOperatorKilledInEveryState kills the operator once in each state of the job's life and
// checks that the life still completes with exactly the jobs and savepoints it needs: a job
// submitted, a requested savepoint, an update through a savepoint and a deletion with a final
// savepoint (2 Flink jobs, 3 savepoints); or a job submitted and cancelled with a savepoint
// (1 job, 1 savepoint).
func TestOperatorKilledInEveryState(t *testing.T) {
	full := []v1beta1.JobState{v1beta1.JobStateSubmitting, v1beta1.JobStateRunning, v1beta1.JobStateSavepointing,
		v1beta1.JobStateUpdating, v1beta1.JobStateDeploying, v1beta1.JobStateDeleting}
	for _, state := range full {
		t.Run(string(state), func(t *testing.T) {
			ns := newNamespace(t)
			stop := killOnState(t, ns, "counter", state)
			sim := updateAndDelete(t, ns)
			require.True(t, stop(), "the operator was never seen in state %s", state)
			assert.Len(t, sim.Jobs, 2, "one Flink job per attempt")
			assert.Equal(t, 3, countSavepoints(sim), "the requested, the update and the final savepoint, each once")
		})
	}
	t.Run(string(v1beta1.JobStateCancelling), func(t *testing.T) {
		ns := newNamespace(t)
		stop := killOnState(t, ns, "counter", v1beta1.JobStateCancelling)
		_, err := createStrict(context.Background(), ns, fromYAML(t, savepointJobCluster))
		require.NoError(t, err)
		waitJob(t, ns, "counter", 2*time.Minute, "the job to run", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
		})
		patchJob(t, ns, "counter", `{"cancelRequested":true}`)
		waitJob(t, ns, "counter", 2*time.Minute, "the job to be cancelled", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateCancelled
		})
		require.True(t, stop())
		sim := simState(t, ns, "counter")
		assert.Len(t, sim.Jobs, 1)
		assert.Equal(t, 1, countSavepoints(sim))
	})
}

// updateAndDelete runs one job cluster through submit, a requested savepoint, an update and a
// deletion, and returns what the simulator saw.
func updateAndDelete(t *testing.T, ns string) simCluster {
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	first := waitJob(t, ns, "counter", 2*time.Minute, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	patchJob(t, ns, "counter", `{"savepointGeneration":1}`)
	waitJob(t, ns, "counter", 2*time.Minute, "the requested savepoint", func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration >= 1 && j.State == v1beta1.JobStateRunning
	})
	patchJob(t, ns, "counter", `{"parallelism":2}`)
	waitJob(t, ns, "counter", 2*time.Minute, "the updated job to run", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "counter", metav1.DeleteOptions{}))
	waitFor(t, 2*time.Minute, "the FlinkCluster to be gone", func() bool {
		_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "counter", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	return simState(t, ns, "counter")
}

func countSavepoints(c simCluster) int {
	n := 0
	for _, j := range c.Jobs {
		n += len(j.Savepoints)
	}
	return n
}

// TestOperatorKilledInTheOtherStates kills the operator once on first sight of each state the
// lifecycle above does not pass through: Pending (before the first submission), Failed and Lost
// (the restart path, which records a new attempt before submitting it), and Succeeded (the
// cleanup). Each life must still complete with exactly one Flink job per attempt.
func TestOperatorKilledInTheOtherStates(t *testing.T) {
	ctx := context.Background()
	running := func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	}
	runningJobs := func(c simCluster) int {
		n := 0
		for _, j := range c.Jobs {
			if j.State == "RUNNING" {
				n++
			}
		}
		return n
	}
	t.Run(string(v1beta1.JobStatePending), func(t *testing.T) {
		ns := newNamespace(t)
		stop := killOnState(t, ns, "counter", v1beta1.JobStatePending)
		_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
		require.NoError(t, err)
		waitJob(t, ns, "counter", 2*time.Minute, "the job to run", running)
		require.True(t, stop(), "the operator was never seen in state Pending")
		assert.Len(t, simState(t, ns, "counter").Jobs, 1, "submitted once")
	})
	for _, state := range []v1beta1.JobState{v1beta1.JobStateFailed, v1beta1.JobStateLost} {
		t.Run(string(state), func(t *testing.T) {
			ns := newNamespace(t)
			_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
			require.NoError(t, err)
			waitJob(t, ns, "counter", 2*time.Minute, "the job to run", running)
			patchJob(t, ns, "counter", `{"savepointGeneration":1}`)
			first := waitJob(t, ns, "counter", time.Minute, "the savepoint", func(j *v1beta1.JobStatus) bool {
				return j.SavepointGeneration == 1 && j.State == v1beta1.JobStateRunning
			})
			stop := killOnState(t, ns, "counter", state)
			if state == v1beta1.JobStateFailed {
				simPost(t, ns, "counter", "jobs/"+first.ID+"/fail", `{"message":"boom"}`)
			} else {
				simPost(t, ns, "counter", "jobmanager/restart", `{}`)
			}
			j := waitJob(t, ns, "counter", 2*time.Minute, "the restarted job to run", func(j *v1beta1.JobStatus) bool {
				return running(j) && j.ID != first.ID
			})
			require.True(t, stop(), "the operator was never seen in state %s", state)
			assert.Equal(t, int32(1), j.RestartCount, "restarted once")
			assert.Equal(t, first.SavepointLocation, j.FromSavepoint)
			time.Sleep(2 * time.Second) // a duplicate submission would show up by now
			assert.Equal(t, 1, runningJobs(simState(t, ns, "counter")), "exactly one job runs")
		})
	}
	t.Run(string(v1beta1.JobStateSucceeded), func(t *testing.T) {
		ns := newNamespace(t)
		_, err := createStrict(ctx, ns, fromYAML(t, minimalJobCluster))
		require.NoError(t, err)
		j := waitJob(t, ns, "minimal", 2*time.Minute, "the job to run", running)
		stop := killOnState(t, ns, "minimal", v1beta1.JobStateSucceeded)
		simPost(t, ns, "minimal", "jobs/"+j.ID+"/finish", `{}`)
		waitFor(t, time.Minute, "the cluster to stop", func() bool {
			return getFC(t, ns, "minimal").Status.State == v1beta1.ClusterStateStopped
		})
		require.True(t, stop(), "the operator was never seen in state Succeeded")
		assert.Len(t, simState(t, ns, "minimal").Jobs, 1)
		assert.Equal(t, v1beta1.JobStateSucceeded, jobStatus(t, ns, "minimal").State)
	})
}
