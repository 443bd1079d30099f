package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

func TestTransportFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, err error)
	}{
		{"unreachable", Faults{Unreachable: true}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, flinkclient.ErrUnreachable)
		}},
		{"slow beyond the client timeout", Faults{Slow: time.Minute}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, flinkclient.ErrTimeout)
		}},
		{"internal error", Faults{InternalError: true}, func(t *testing.T, err error) {
			var ue *flinkclient.UnexpectedResponseError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, 500, ue.StatusCode)
			require.NotEmpty(t, ue.FlinkErrors)
			assert.Equal(t, "Internal server error.", ue.FlinkErrors[0])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.faults.Slow > 0 {
				// Only the slow case needs a short timeout; the others keep a
				// generous one so a loaded machine cannot turn them into timeouts.
				e.client = flinkclient.New(flinkclient.Options{Timeout: 50 * time.Millisecond})
			}
			jm := e.jm("ns", "c")
			e.running("ns/c", jm, jobA)
			c := e.srv.Cluster("ns", "c")
			c.SetFaults(tt.faults)
			assert.Equal(t, tt.faults, c.Faults())
			calls := map[string]func() error{
				"GetOverview":      func() error { _, err := e.client.GetOverview(e.ctx, jm); return err },
				"GetConfig":        func() error { _, err := e.client.GetConfig(e.ctx, jm); return err },
				"ListJobs":         func() error { _, err := e.client.ListJobs(e.ctx, jm); return err },
				"GetJob":           func() error { _, err := e.client.GetJob(e.ctx, jm, jobA); return err },
				"GetJobExceptions": func() error { _, err := e.client.GetJobExceptions(e.ctx, jm, jobA); return err },
				"GetCheckpoints":   func() error { _, err := e.client.GetCheckpoints(e.ctx, jm, jobA); return err },
				"TriggerSavepoint": func() error {
					_, err := e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{})
					return err
				},
				"StopWithSavepoint": func() error {
					_, err := e.client.StopWithSavepoint(e.ctx, jm, jobA, flinkclient.StopRequest{})
					return err
				},
				"GetSavepointStatus": func() error { _, err := e.client.GetSavepointStatus(e.ctx, jm, jobA, trig); return err },
				"DisposeSavepoint":   func() error { _, err := e.client.DisposeSavepoint(e.ctx, jm, "/sp/x"); return err },
				"GetDisposalStatus":  func() error { _, err := e.client.GetDisposalStatus(e.ctx, jm, trig); return err },
				"CancelJob":          func() error { return e.client.CancelJob(e.ctx, jm, jobA) },
			}
			for name, call := range calls {
				t.Run(name, func(t *testing.T) { tt.check(t, call()) })
			}
			assert.GreaterOrEqual(t, c.TotalRequests(), int64(len(calls)), "faulty requests are counted")

			// Nothing reached the job while the fault was on; healing restores service.
			c.SetFaults(Faults{})
			e.client = flinkclient.New(flinkclient.Options{})
			assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobA))
			_, err := e.client.GetSavepointStatus(e.ctx, jm, jobA, trig)
			assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound)
		})
	}
}

func TestFaultsAreIsolatedPerCluster(t *testing.T) {
	e := newEnv(t)
	e.srv.Cluster("ns", "down").SetFaults(Faults{Unreachable: true})
	_, err := e.client.GetOverview(e.ctx, e.jm("ns", "down"))
	assert.ErrorIs(t, err, flinkclient.ErrUnreachable)
	_, err = e.client.GetOverview(e.ctx, e.jm("ns", "up"))
	assert.NoError(t, err)
}

func TestSavepointFailures(t *testing.T) {
	e := newEnv(t)
	jm := e.jm("ns", "c")
	e.running("ns/c", jm, jobA)
	c := e.srv.Cluster("ns", "c")
	c.FailSavepoints(2, "Checkpoint was declined (tasks not ready)")

	trigger := func(stop bool) string {
		t.Helper()
		var id string
		var err error
		if stop {
			id, err = e.client.StopWithSavepoint(e.ctx, jm, jobA, flinkclient.StopRequest{Drain: true})
		} else {
			id, err = e.client.TriggerSavepoint(e.ctx, jm, jobA, flinkclient.SavepointRequest{CancelJob: true})
		}
		require.NoError(t, err)
		assert.Equal(t, flinkclient.OperationInProgress, e.savepointStatus(jm, jobA, id).State)
		e.clock.Advance(testDelays.Savepoint + testDelays.Stop)
		return id
	}
	for _, stop := range []bool{false, true} {
		st := e.savepointStatus(jm, jobA, trigger(stop))
		require.Equal(t, flinkclient.OperationFailed, st.State)
		assert.Equal(t, "java.util.concurrent.CompletionException", st.Failure.Class)
		assert.Contains(t, st.Failure.StackTrace, classCheckpointException+": Checkpoint was declined")
		assert.Equal(t, flinkclient.JobStateRunning, e.state(jm, jobA), "a failed savepoint leaves the job running")
	}
	cp, err := e.client.GetCheckpoints(e.ctx, jm, jobA)
	require.NoError(t, err)
	assert.Equal(t, int64(2), cp.Counts.Failed)
	assert.Equal(t, "Checkpoint was declined (tasks not ready)", cp.LatestFailed.FailureMessage)

	st := e.savepointStatus(jm, jobA, trigger(true)) // the third succeeds
	require.Equal(t, flinkclient.OperationCompleted, st.State)
	assert.Equal(t, flinkclient.JobStateFinished, e.state(jm, jobA))

	// n < 0 fails every savepoint until reset.
	e.running("ns/c", jm, jobB)
	c.FailSavepoints(-1, "")
	for i := 0; i < 3; i++ {
		id, err := e.client.TriggerSavepoint(e.ctx, jm, jobB, flinkclient.SavepointRequest{})
		require.NoError(t, err)
		e.clock.Advance(testDelays.Savepoint)
		assert.Equal(t, flinkclient.OperationFailed, e.savepointStatus(jm, jobB, id).State)
	}
	c.FailSavepoints(0, "")
	id, err := e.client.TriggerSavepoint(e.ctx, jm, jobB, flinkclient.SavepointRequest{})
	require.NoError(t, err)
	e.clock.Advance(testDelays.Savepoint)
	assert.Equal(t, flinkclient.OperationCompleted, e.savepointStatus(jm, jobB, id).State)
}
