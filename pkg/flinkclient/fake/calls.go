package fake

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// The flinkclient.Interface methods. Each records the call (method and path
// as the real client sends them), then answers from the programmed state.

// GetOverview implements flinkclient.Interface.
func (c *Client) GetOverview(ctx context.Context, base string) (flinkclient.ClusterOverview, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	jm, err := c.begin(ctx, base, http.MethodGet, "/overview")
	if err != nil {
		return flinkclient.ClusterOverview{}, err
	}
	return jm.overview, nil
}

// GetConfig implements flinkclient.Interface.
func (c *Client) GetConfig(ctx context.Context, base string) (flinkclient.DashboardConfig, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	jm, err := c.begin(ctx, base, http.MethodGet, "/config")
	if err != nil {
		return flinkclient.DashboardConfig{}, err
	}
	return jm.config, nil
}

// ListJobs implements flinkclient.Interface.
func (c *Client) ListJobs(ctx context.Context, base string) ([]flinkclient.JobOverview, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	jm, err := c.begin(ctx, base, http.MethodGet, "/jobs/overview")
	if err != nil {
		return nil, err
	}
	out := []flinkclient.JobOverview{}
	for _, j := range jm.jobs {
		d := j.Details
		out = append(out, flinkclient.JobOverview{ID: d.ID, Name: d.Name, State: d.State,
			StartTime: d.StartTime, EndTime: d.EndTime, DurationMillis: d.DurationMillis})
	}
	// Map order is random; a stable order keeps controller tests deterministic.
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// jobCall is the common prologue of job-scoped calls. Callers hold c.mu.
func (c *Client) jobCall(ctx context.Context, base, method, jobID, suffix string) (*jobManager, *jobState, error) {
	if err := checkIDs(jobID); err != nil {
		return nil, nil, err
	}
	jm, err := c.begin(ctx, base, method, "/jobs/"+jobID+suffix)
	if err != nil {
		return nil, nil, err
	}
	j, err := jm.job(jobID)
	return jm, j, err
}

// GetJob implements flinkclient.Interface.
func (c *Client) GetJob(ctx context.Context, base, jobID string) (flinkclient.JobDetails, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, j, err := c.jobCall(ctx, base, http.MethodGet, jobID, "")
	if err != nil {
		return flinkclient.JobDetails{}, err
	}
	return j.Details, nil
}

// GetJobExceptions implements flinkclient.Interface.
func (c *Client) GetJobExceptions(ctx context.Context, base, jobID string) (flinkclient.JobExceptions, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, j, err := c.jobCall(ctx, base, http.MethodGet, jobID, "/exceptions")
	if err != nil {
		return flinkclient.JobExceptions{}, err
	}
	return j.Exceptions, nil
}

// GetCheckpoints implements flinkclient.Interface.
func (c *Client) GetCheckpoints(ctx context.Context, base, jobID string) (flinkclient.CheckpointStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, j, err := c.jobCall(ctx, base, http.MethodGet, jobID, "/checkpoints")
	if err != nil {
		return flinkclient.CheckpointStats{}, err
	}
	if j.Checkpoints == nil {
		return flinkclient.CheckpointStats{}, fmt.Errorf("%w: fake", flinkclient.ErrCheckpointingDisabled)
	}
	return *j.Checkpoints, nil
}

// GetCheckpointConfig implements flinkclient.Interface.
func (c *Client) GetCheckpointConfig(ctx context.Context, base, jobID string) (flinkclient.CheckpointConfig, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, j, err := c.jobCall(ctx, base, http.MethodGet, jobID, "/checkpoints/config")
	if err != nil {
		return flinkclient.CheckpointConfig{}, err
	}
	if j.CheckpointConfig == nil {
		return flinkclient.CheckpointConfig{}, fmt.Errorf("%w: fake", flinkclient.ErrCheckpointingDisabled)
	}
	return *j.CheckpointConfig, nil
}

// GetJobMetrics implements flinkclient.Interface.
func (c *Client) GetJobMetrics(ctx context.Context, base, jobID string, names ...string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, j, err := c.jobCall(ctx, base, http.MethodGet, jobID, "/metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		if v, ok := j.Metrics[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// TriggerSavepoint implements flinkclient.Interface. A savepoint with
// CancelJob moves the job to CANCELED when it completes.
func (c *Client) TriggerSavepoint(ctx context.Context, base, jobID string, req flinkclient.SavepointRequest) (string, error) {
	var onDone flinkclient.JobState
	if req.CancelJob {
		onDone = flinkclient.JobStateCanceled
	}
	return c.trigger(ctx, base, jobID, "/savepoints", req.TriggerID, req.TargetDirectory, onDone)
}

// StopWithSavepoint implements flinkclient.Interface. The job moves to
// FINISHED when the stop completes, as stop-with-savepoint does in Flink.
func (c *Client) StopWithSavepoint(ctx context.Context, base, jobID string, req flinkclient.StopRequest) (string, error) {
	return c.trigger(ctx, base, jobID, "/stop", req.TriggerID, req.TargetDirectory, flinkclient.JobStateFinished)
}

// trigger starts a savepoint operation. Like Flink, re-sending a known
// trigger ID returns it without starting a second savepoint.
func (c *Client) trigger(ctx context.Context, base, jobID, suffix, triggerID, dir string, onDone flinkclient.JobState) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if triggerID != "" {
		if err := checkIDs(triggerID); err != nil {
			return "", err
		}
	}
	_, j, err := c.jobCall(ctx, base, http.MethodPost, jobID, suffix)
	if err != nil {
		return "", err
	}
	id := c.newTrigger(triggerID)
	if _, ok := j.savepoints[id]; !ok {
		j.savepoints[id] = &operation{outcome: j.SavepointOutcome, job: j, onDone: onDone,
			location: savepointLocation(j.SavepointOutcome, dir, jobID, id)}
	}
	return id, nil
}

func savepointLocation(o Outcome, dir, jobID, triggerID string) string {
	if o.Location != "" {
		return o.Location
	}
	if dir == "" {
		dir = "file:///fake/savepoints"
	}
	return fmt.Sprintf("%s/savepoint-%s-%s", strings.TrimRight(dir, "/"), jobID[:6], triggerID[:12])
}

// GetSavepointStatus implements flinkclient.Interface.
func (c *Client) GetSavepointStatus(ctx context.Context, base, jobID, triggerID string) (flinkclient.SavepointStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := checkIDs(jobID, triggerID); err != nil {
		return flinkclient.SavepointStatus{}, err
	}
	jm, err := c.begin(ctx, base, http.MethodGet, "/jobs/"+jobID+"/savepoints/"+triggerID)
	if err != nil {
		return flinkclient.SavepointStatus{}, err
	}
	// Like Flink, an unknown job shows up as an unknown trigger here.
	if j := jm.jobs[jobID]; j != nil && j.savepoints[triggerID] != nil {
		return j.savepoints[triggerID].poll(), nil
	}
	return flinkclient.SavepointStatus{}, fmt.Errorf("%w: fake: %s", flinkclient.ErrTriggerNotFound, triggerID)
}

// DisposeSavepoint implements flinkclient.Interface.
func (c *Client) DisposeSavepoint(ctx context.Context, base, path string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if path == "" {
		return "", fmt.Errorf("%w: fake: empty savepoint path", flinkclient.ErrInvalidArgument)
	}
	jm, err := c.begin(ctx, base, http.MethodPost, "/savepoint-disposal")
	if err != nil {
		return "", err
	}
	id := c.newTrigger("")
	jm.disposals[id] = &operation{outcome: jm.disposalOutcome}
	return id, nil
}

// GetDisposalStatus implements flinkclient.Interface.
func (c *Client) GetDisposalStatus(ctx context.Context, base, triggerID string) (flinkclient.SavepointStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := checkIDs(triggerID); err != nil {
		return flinkclient.SavepointStatus{}, err
	}
	jm, err := c.begin(ctx, base, http.MethodGet, "/savepoint-disposal/"+triggerID)
	if err != nil {
		return flinkclient.SavepointStatus{}, err
	}
	op, ok := jm.disposals[triggerID]
	if !ok {
		return flinkclient.SavepointStatus{}, fmt.Errorf("%w: fake: %s", flinkclient.ErrTriggerNotFound, triggerID)
	}
	return op.poll(), nil
}

// CancelJob implements flinkclient.Interface. The job goes straight to
// CANCELED (Flink passes through CANCELLING); cancelling a globally
// terminal job leaves it unchanged.
func (c *Client) CancelJob(ctx context.Context, base, jobID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, j, err := c.jobCall(ctx, base, http.MethodPatch, jobID, "?mode=cancel")
	if err != nil {
		return err
	}
	if !j.Details.State.IsGloballyTerminal() {
		j.Details.State = flinkclient.JobStateCanceled
	}
	return nil
}

// ShutDownCluster implements flinkclient.Interface. The JobManager forgets its jobs, as a clean
// shutdown with high availability deletes them.
func (c *Client) ShutDownCluster(ctx context.Context, base string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	jm, err := c.begin(ctx, base, http.MethodDelete, "/cluster")
	if err != nil {
		return err
	}
	jm.jobs = map[string]*jobState{}
	return nil
}
