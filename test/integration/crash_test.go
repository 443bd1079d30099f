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

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// simCluster is what the simulator knows of one cluster: every job it ran and every savepoint.
type simCluster struct {
	Jobs []struct {
		ID         string   `json:"id"`
		State      string   `json:"state"`
		Savepoints []string `json:"savepoints"`
	} `json:"jobs"`
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
	savepoints := 0
	for _, j := range sim.Jobs {
		savepoints += len(j.Savepoints)
	}
	assert.Equal(t, int(final.SavepointGeneration), savepoints, "every savepoint Flink wrote is counted in status, none taken twice")
	assert.Equal(t, int32(0), final.RestartCount)
	t.Logf("operator killed %d times; %d attempts, %d savepoints", kills, final.Attempt, savepoints)
}
