package fake

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

const (
	jm    = "http://demo-jobmanager.ns.svc:8081"
	jobID = "a5e0edd8e66b53f1b89c2041f91b8fd2"
	trig  = "0123456789abcdef0123456789abcdef"
)

func newFake() *Client {
	c := New()
	c.AddJobManager(jm, flinkclient.ClusterOverview{TaskManagers: 1, FlinkVersion: "2.0.0"},
		flinkclient.DashboardConfig{FlinkVersion: "2.0.0"})
	c.AddJob(jm, Job{Details: flinkclient.JobDetails{ID: jobID, Name: "wc", State: flinkclient.JobStateRunning}})
	return c
}

func TestReadsAndRecordedCalls(t *testing.T) {
	c := newFake()
	ctx := context.Background()

	o, err := c.GetOverview(ctx, jm)
	require.NoError(t, err)
	assert.Equal(t, "2.0.0", o.FlinkVersion)
	jobs, err := c.ListJobs(ctx, jm)
	require.NoError(t, err)
	assert.Equal(t, []flinkclient.JobOverview{{ID: jobID, Name: "wc", State: flinkclient.JobStateRunning}}, jobs)
	d, err := c.GetJob(ctx, jm, jobID)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.JobStateRunning, d.State)
	_, err = c.GetCheckpoints(ctx, jm, jobID)
	assert.ErrorIs(t, err, flinkclient.ErrCheckpointingDisabled)
	require.NoError(t, c.CancelJob(ctx, jm, jobID))

	assert.Equal(t, []Call{
		{BaseURL: jm, Method: http.MethodGet, Path: "/overview"},
		{BaseURL: jm, Method: http.MethodGet, Path: "/jobs/overview"},
		{BaseURL: jm, Method: http.MethodGet, Path: "/jobs/" + jobID},
		{BaseURL: jm, Method: http.MethodGet, Path: "/jobs/" + jobID + "/checkpoints"},
		{BaseURL: jm, Method: http.MethodPatch, Path: "/jobs/" + jobID + "?mode=cancel"},
	}, c.Calls())
	state, _ := c.JobState(jm, jobID)
	assert.Equal(t, flinkclient.JobStateCanceled, state)

	c.ResetCalls()
	assert.Empty(t, c.Calls())
}

func TestMissingThings(t *testing.T) {
	c := newFake()
	ctx := context.Background()
	_, err := c.GetOverview(ctx, "http://other:8081")
	assert.ErrorIs(t, err, flinkclient.ErrUnreachable)
	_, err = c.GetJob(ctx, jm, "ffffffffffffffffffffffffffffffff")
	assert.ErrorIs(t, err, flinkclient.ErrJobNotFound)
	_, err = c.GetSavepointStatus(ctx, jm, jobID, trig)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound)
	_, err = c.GetDisposalStatus(ctx, jm, trig)
	assert.ErrorIs(t, err, flinkclient.ErrTriggerNotFound)
	_, err = c.GetJob(ctx, jm, "not-an-id")
	assert.ErrorIs(t, err, flinkclient.ErrInvalidArgument)
	assert.Len(t, c.Calls(), 4, "invalid arguments never reach the wire, so they are not recorded")

	c.RemoveJobManager(jm)
	_, err = c.GetJob(ctx, jm, jobID)
	assert.ErrorIs(t, err, flinkclient.ErrUnreachable)
}

func TestSavepointOutcomes(t *testing.T) {
	ctx := context.Background()
	cause := &flinkclient.FailureCause{Class: "java.lang.Exception", StackTrace: "boom"}
	tests := []struct {
		name      string
		outcome   Outcome
		trigger   func(c *Client) (string, error)
		want      flinkclient.SavepointStatus
		wantState flinkclient.JobState
	}{
		{
			name:    "savepoint succeeds after polls",
			outcome: Outcome{Polls: 2},
			trigger: func(c *Client) (string, error) {
				return c.TriggerSavepoint(ctx, jm, jobID, flinkclient.SavepointRequest{TargetDirectory: "s3://b/sp/", TriggerID: trig})
			},
			want:      flinkclient.SavepointStatus{State: flinkclient.OperationCompleted, Location: "s3://b/sp/savepoint-a5e0ed-0123456789ab"},
			wantState: flinkclient.JobStateRunning,
		},
		{
			name:    "cancel-job savepoint cancels the job",
			outcome: Outcome{Polls: 2, Location: "s3://b/sp/x"},
			trigger: func(c *Client) (string, error) {
				return c.TriggerSavepoint(ctx, jm, jobID, flinkclient.SavepointRequest{CancelJob: true})
			},
			want:      flinkclient.SavepointStatus{State: flinkclient.OperationCompleted, Location: "s3://b/sp/x"},
			wantState: flinkclient.JobStateCanceled,
		},
		{
			name:    "stop finishes the job",
			outcome: Outcome{Polls: 2},
			trigger: func(c *Client) (string, error) {
				return c.StopWithSavepoint(ctx, jm, jobID, flinkclient.StopRequest{Drain: true})
			},
			want:      flinkclient.SavepointStatus{State: flinkclient.OperationCompleted, Location: "file:///fake/savepoints/savepoint-a5e0ed-000000000000"},
			wantState: flinkclient.JobStateFinished,
		},
		{
			name:    "failed stop keeps the job running",
			outcome: Outcome{Polls: 2, Failure: cause},
			trigger: func(c *Client) (string, error) {
				return c.StopWithSavepoint(ctx, jm, jobID, flinkclient.StopRequest{})
			},
			want:      flinkclient.SavepointStatus{State: flinkclient.OperationFailed, Failure: cause},
			wantState: flinkclient.JobStateRunning,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFake()
			c.SetSavepointOutcome(jm, jobID, tc.outcome)
			id, err := tc.trigger(c)
			require.NoError(t, err)
			for i := 0; i < tc.outcome.Polls; i++ {
				s, err := c.GetSavepointStatus(ctx, jm, jobID, id)
				require.NoError(t, err)
				assert.Equal(t, flinkclient.OperationInProgress, s.State)
				state, _ := c.JobState(jm, jobID)
				assert.Equal(t, flinkclient.JobStateRunning, state, "state changes only on completion")
			}
			s, err := c.GetSavepointStatus(ctx, jm, jobID, id)
			require.NoError(t, err)
			assert.Equal(t, tc.want, s)
			state, _ := c.JobState(jm, jobID)
			assert.Equal(t, tc.wantState, state)
		})
	}
}

func TestTriggerIsIdempotentPerTriggerID(t *testing.T) {
	c := newFake()
	ctx := context.Background()
	c.SetSavepointOutcome(jm, jobID, Outcome{Polls: 1})
	req := flinkclient.SavepointRequest{TriggerID: trig}
	id1, err := c.TriggerSavepoint(ctx, jm, jobID, req)
	require.NoError(t, err)
	_, err = c.GetSavepointStatus(ctx, jm, jobID, id1) // consumes the only poll
	require.NoError(t, err)
	id2, err := c.TriggerSavepoint(ctx, jm, jobID, req)
	require.NoError(t, err)
	assert.Equal(t, id1, id2)
	s, err := c.GetSavepointStatus(ctx, jm, jobID, id2)
	require.NoError(t, err)
	assert.Equal(t, flinkclient.OperationCompleted, s.State, "the retry did not start a new savepoint")
}

func TestDisposal(t *testing.T) {
	c := newFake()
	ctx := context.Background()
	c.SetDisposalOutcome(jm, Outcome{Polls: 1})
	id, err := c.DisposeSavepoint(ctx, jm, "s3://b/sp/x")
	require.NoError(t, err)
	assert.True(t, flinkclient.IsValidID(id))
	s, _ := c.GetDisposalStatus(ctx, jm, id)
	assert.Equal(t, flinkclient.OperationInProgress, s.State)
	s, _ = c.GetDisposalStatus(ctx, jm, id)
	assert.Equal(t, flinkclient.SavepointStatus{State: flinkclient.OperationCompleted}, s)
	_, err = c.DisposeSavepoint(ctx, jm, "")
	assert.ErrorIs(t, err, flinkclient.ErrInvalidArgument)
}

func TestFaults(t *testing.T) {
	c := newFake()
	ctx := context.Background()
	c.Inject(Fault{Method: http.MethodGet, Path: "/jobs/" + jobID, Err: Timeout(), Times: 2})
	c.Inject(Fault{BaseURL: jm, Path: "/overview", Err: HTTPError(500)})
	c.Inject(Fault{Path: "/jobs/" + jobID + "/exceptions", Err: JobNotFound()})
	c.Inject(Fault{BaseURL: "http://elsewhere", Err: Unreachable()})

	for i := 0; i < 2; i++ {
		_, err := c.GetJob(ctx, jm, jobID)
		assert.ErrorIs(t, err, flinkclient.ErrTimeout)
	}
	_, err := c.GetJob(ctx, jm, jobID)
	assert.NoError(t, err, "Times exhausted")

	for i := 0; i < 3; i++ {
		_, err = c.GetOverview(ctx, jm)
		var ue *flinkclient.UnexpectedResponseError
		require.ErrorAs(t, err, &ue, "Times 0 = forever")
		assert.Equal(t, 500, ue.StatusCode)
	}
	_, err = c.GetJobExceptions(ctx, jm, jobID)
	assert.ErrorIs(t, err, flinkclient.ErrJobNotFound)
	_, err = c.GetConfig(ctx, jm)
	assert.NoError(t, err, "faults for another base URL do not apply")
	assert.Len(t, c.Calls(), 8, "faulted calls are recorded too")
}

func TestCanceledContext(t *testing.T) {
	c := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetJob(ctx, jm, jobID)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentUse(t *testing.T) {
	c := newFake()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				id, err := c.TriggerSavepoint(ctx, jm, jobID, flinkclient.SavepointRequest{})
				assert.NoError(t, err)
				_, _ = c.GetSavepointStatus(ctx, jm, jobID, id)
				c.SetJobState(jm, jobID, flinkclient.JobStateRunning)
				_, _ = c.ListJobs(ctx, jm)
				_ = c.Calls()
			}
		}()
	}
	wg.Wait()
	assert.Len(t, c.Calls(), 8*50*3)
}
