package flinkclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Interface is what the controller depends on. jm is the JobManager REST
// base URL, e.g. "http://NAME-jobmanager.NS.svc:8081". *Client implements it;
// package fake provides an in-memory implementation for controller tests.
type Interface interface {
	// GetOverview is GET /overview.
	GetOverview(ctx context.Context, jm string) (ClusterOverview, error)
	// GetConfig is GET /config.
	GetConfig(ctx context.Context, jm string) (DashboardConfig, error)
	// ListJobs is GET /jobs/overview.
	ListJobs(ctx context.Context, jm string) ([]JobOverview, error)
	// GetJob is GET /jobs/{jobID}.
	GetJob(ctx context.Context, jm, jobID string) (JobDetails, error)
	// GetJobExceptions is GET /jobs/{jobID}/exceptions.
	GetJobExceptions(ctx context.Context, jm, jobID string) (JobExceptions, error)
	// GetCheckpoints is GET /jobs/{jobID}/checkpoints.
	GetCheckpoints(ctx context.Context, jm, jobID string) (CheckpointStats, error)
	// GetCheckpointConfig is GET /jobs/{jobID}/checkpoints/config.
	GetCheckpointConfig(ctx context.Context, jm, jobID string) (CheckpointConfig, error)
	// GetJobMetrics is GET /jobs/{jobID}/metrics?get=NAMES: the current values of the named
	// job metrics (numRestarts, numberOfCompletedCheckpoints, ...), by name. A metric the
	// JobManager does not report (yet) is absent. Values are Flink's strings.
	GetJobMetrics(ctx context.Context, jm, jobID string, names ...string) (map[string]string, error)
	// TriggerSavepoint is POST /jobs/{jobID}/savepoints; it returns the
	// trigger ID to poll with GetSavepointStatus.
	TriggerSavepoint(ctx context.Context, jm, jobID string, req SavepointRequest) (string, error)
	// StopWithSavepoint is POST /jobs/{jobID}/stop; poll the returned
	// trigger ID with GetSavepointStatus.
	StopWithSavepoint(ctx context.Context, jm, jobID string, req StopRequest) (string, error)
	// GetSavepointStatus is GET /jobs/{jobID}/savepoints/{triggerID}.
	GetSavepointStatus(ctx context.Context, jm, jobID, triggerID string) (SavepointStatus, error)
	// DisposeSavepoint is POST /savepoint-disposal; poll the returned
	// trigger ID with GetDisposalStatus.
	DisposeSavepoint(ctx context.Context, jm, savepointPath string) (string, error)
	// GetDisposalStatus is GET /savepoint-disposal/{triggerID}.
	GetDisposalStatus(ctx context.Context, jm, triggerID string) (SavepointStatus, error)
	// CancelJob is PATCH /jobs/{jobID}?mode=cancel. Cancellation is
	// asynchronous: poll GetJob until the state is CANCELED.
	CancelJob(ctx context.Context, jm, jobID string) error
	// ShutDownCluster is DELETE /cluster: the leading JobManager shuts the cluster down cleanly,
	// which with high availability deletes its blob store (<storageDir>/<cluster-id>/blob) and
	// its leader ConfigMap; jobs still running are only suspended. It answers before the
	// shutdown ends, and a SIGTERM then waits for the cleanup.
	ShutDownCluster(ctx context.Context, jm string) error
}

// get performs a GET and decodes a 2xx body with decode.
func get[T any](ctx context.Context, c *Client, jm string, r request, decode func([]byte) (T, error)) (T, error) {
	r.method = http.MethodGet
	return call(ctx, c, jm, r, decode)
}

func call[T any](ctx context.Context, c *Client, jm string, r request, decode func([]byte) (T, error)) (T, error) {
	var zero T
	resp, err := c.do(ctx, jm, r)
	if err != nil {
		return zero, err
	}
	v, err := decode(resp.body)
	if err != nil {
		return zero, &UnexpectedResponseError{
			Method: r.method, URL: resp.url.Redacted(), StatusCode: resp.code,
			Snippet: snippet(resp.body), Err: err,
		}
	}
	return v, nil
}

// GetOverview implements Interface.
func (c *Client) GetOverview(ctx context.Context, jm string) (ClusterOverview, error) {
	return get(ctx, c, jm, request{path: "/overview"}, decodeClusterOverview)
}

// GetConfig implements Interface.
func (c *Client) GetConfig(ctx context.Context, jm string) (DashboardConfig, error) {
	return get(ctx, c, jm, request{path: "/config"}, decodeDashboardConfig)
}

// ListJobs implements Interface.
func (c *Client) ListJobs(ctx context.Context, jm string) ([]JobOverview, error) {
	return get(ctx, c, jm, request{path: "/jobs/overview"}, decodeJobsOverview)
}

// GetJob implements Interface.
func (c *Client) GetJob(ctx context.Context, jm, jobID string) (JobDetails, error) {
	if err := checkID("job ID", jobID); err != nil {
		return JobDetails{}, err
	}
	return get(ctx, c, jm, request{path: "/jobs/" + jobID, notFound: jobNotFound}, decodeJobDetails)
}

// GetJobExceptions implements Interface.
func (c *Client) GetJobExceptions(ctx context.Context, jm, jobID string) (JobExceptions, error) {
	if err := checkID("job ID", jobID); err != nil {
		return JobExceptions{}, err
	}
	r := request{path: "/jobs/" + jobID + "/exceptions", notFound: jobNotFound}
	return get(ctx, c, jm, r, decodeJobExceptions)
}

// GetCheckpoints implements Interface.
func (c *Client) GetCheckpoints(ctx context.Context, jm, jobID string) (CheckpointStats, error) {
	if err := checkID("job ID", jobID); err != nil {
		return CheckpointStats{}, err
	}
	r := request{path: "/jobs/" + jobID + "/checkpoints", notFound: checkpointsNotFound}
	return get(ctx, c, jm, r, decodeCheckpointStats)
}

// GetCheckpointConfig implements Interface.
func (c *Client) GetCheckpointConfig(ctx context.Context, jm, jobID string) (CheckpointConfig, error) {
	if err := checkID("job ID", jobID); err != nil {
		return CheckpointConfig{}, err
	}
	r := request{path: "/jobs/" + jobID + "/checkpoints/config", notFound: checkpointsNotFound}
	return get(ctx, c, jm, r, decodeCheckpointConfig)
}

// GetJobMetrics implements Interface.
func (c *Client) GetJobMetrics(ctx context.Context, jm, jobID string, names ...string) (map[string]string, error) {
	if err := checkID("job ID", jobID); err != nil {
		return nil, err
	}
	if err := checkMetricNames(names); err != nil {
		return nil, err
	}
	r := request{path: "/jobs/" + jobID + "/metrics", query: "get=" + strings.Join(names, ","), notFound: jobNotFound}
	return get(ctx, c, jm, r, decodeMetrics)
}

// checkMetricNames: at least one name, each made of the characters Flink's metric names use, so
// that nothing needs escaping in the query.
func checkMetricNames(names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("%w: no metric names", ErrInvalidArgument)
	}
	for _, n := range names {
		if n == "" || strings.IndexFunc(n, func(r rune) bool {
			return !(r == '_' || r == '.' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
		}) >= 0 {
			return fmt.Errorf("%w: metric name %q", ErrInvalidArgument, n)
		}
	}
	return nil
}

// savepointBody is SavepointTriggerRequestBody. Empty optional fields are
// omitted so that Flink applies its own defaults.
type savepointBody struct {
	TargetDirectory string          `json:"target-directory,omitempty"`
	CancelJob       bool            `json:"cancel-job"`
	FormatType      SavepointFormat `json:"formatType,omitempty"`
	TriggerID       string          `json:"triggerId,omitempty"`
}

// stopBody is StopWithSavepointRequestBody; note the camelCase
// "targetDirectory" where the savepoint body uses "target-directory".
type stopBody struct {
	TargetDirectory string          `json:"targetDirectory,omitempty"`
	Drain           bool            `json:"drain"`
	FormatType      SavepointFormat `json:"formatType,omitempty"`
	TriggerID       string          `json:"triggerId,omitempty"`
}

// TriggerSavepoint implements Interface.
func (c *Client) TriggerSavepoint(ctx context.Context, jm, jobID string, req SavepointRequest) (string, error) {
	if err := checkTrigger(jobID, req.TriggerID, req.FormatType); err != nil {
		return "", err
	}
	body := savepointBody{req.TargetDirectory, req.CancelJob, req.FormatType, req.TriggerID}
	r := request{method: http.MethodPost, path: "/jobs/" + jobID + "/savepoints", body: body, notFound: jobNotFound}
	return call(ctx, c, jm, r, decodeTriggerResponse)
}

// StopWithSavepoint implements Interface.
func (c *Client) StopWithSavepoint(ctx context.Context, jm, jobID string, req StopRequest) (string, error) {
	if err := checkTrigger(jobID, req.TriggerID, req.FormatType); err != nil {
		return "", err
	}
	body := stopBody{req.TargetDirectory, req.Drain, req.FormatType, req.TriggerID}
	r := request{method: http.MethodPost, path: "/jobs/" + jobID + "/stop", body: body, notFound: jobNotFound}
	return call(ctx, c, jm, r, decodeTriggerResponse)
}

func checkTrigger(jobID, triggerID string, f SavepointFormat) error {
	if err := checkID("job ID", jobID); err != nil {
		return err
	}
	if err := checkOptionalID("trigger ID", triggerID); err != nil {
		return err
	}
	return checkFormat(f)
}

// GetSavepointStatus implements Interface.
func (c *Client) GetSavepointStatus(ctx context.Context, jm, jobID, triggerID string) (SavepointStatus, error) {
	if err := checkID("job ID", jobID); err != nil {
		return SavepointStatus{}, err
	}
	if err := checkID("trigger ID", triggerID); err != nil {
		return SavepointStatus{}, err
	}
	r := request{path: "/jobs/" + jobID + "/savepoints/" + triggerID, notFound: triggerNotFound}
	return get(ctx, c, jm, r, decodeSavepointStatus)
}

// DisposeSavepoint implements Interface.
func (c *Client) DisposeSavepoint(ctx context.Context, jm, savepointPath string) (string, error) {
	if savepointPath == "" {
		return "", fmt.Errorf("%w: empty savepoint path", ErrInvalidArgument)
	}
	body := struct {
		Path string `json:"savepoint-path"`
	}{savepointPath}
	r := request{method: http.MethodPost, path: "/savepoint-disposal", body: body}
	return call(ctx, c, jm, r, decodeTriggerResponse)
}

// GetDisposalStatus implements Interface.
func (c *Client) GetDisposalStatus(ctx context.Context, jm, triggerID string) (SavepointStatus, error) {
	if err := checkID("trigger ID", triggerID); err != nil {
		return SavepointStatus{}, err
	}
	r := request{path: "/savepoint-disposal/" + triggerID, notFound: triggerNotFound}
	return get(ctx, c, jm, r, decodeDisposalStatus)
}

// CancelJob implements Interface.
func (c *Client) CancelJob(ctx context.Context, jm, jobID string) error {
	if err := checkID("job ID", jobID); err != nil {
		return err
	}
	r := request{method: http.MethodPatch, path: "/jobs/" + jobID, query: "mode=cancel", notFound: jobNotFound}
	_, err := c.do(ctx, jm, r)
	return err
}

// ShutDownCluster implements Interface.
func (c *Client) ShutDownCluster(ctx context.Context, jm string) error {
	_, err := c.do(ctx, jm, request{method: http.MethodDelete, path: "/cluster"})
	return err
}
