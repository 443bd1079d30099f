// Package fake is an in-memory flinkclient.Interface for controller tests.
//
// It keeps per-JobManager state (jobs, savepoint and disposal operations with
// programmable outcomes), lets a test inject errors into chosen calls and
// records every call so the test can assert what the operator did. It is
// deliberately small: it returns what it was told to, it does not simulate
// Flink (a simulated JobManager HTTP server is a separate tool).
//
// All methods are safe for concurrent use.
package fake

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// Call is one recorded call, as the real client would send it.
type Call struct {
	BaseURL string
	Method  string
	// Path includes the query, e.g. "/jobs/<id>?mode=cancel".
	Path string
	// TLS is the context's flinkclient.TLS as SOURCE@VERSION ("" for none).
	TLS string
}

// Job is the programmable state of one job.
type Job struct {
	// Details.ID must be set; it is the key of the job.
	Details    flinkclient.JobDetails
	Exceptions flinkclient.JobExceptions
	// Checkpoints nil means checkpointing is disabled for the job.
	Checkpoints *flinkclient.CheckpointStats
	// CheckpointConfig nil means checkpointing is disabled for the job.
	CheckpointConfig *flinkclient.CheckpointConfig
	// SavepointOutcome applies to savepoints and stops triggered later.
	SavepointOutcome Outcome
	// Metrics are the job's metrics by name (GetJobMetrics answers the requested ones it has).
	Metrics map[string]string
}

// Outcome programs how an asynchronous operation ends.
type Outcome struct {
	// Polls is how many status calls answer "in progress" first.
	Polls int
	// Failure, if set, makes the operation fail with this cause.
	Failure *flinkclient.FailureCause
	// Location overrides the savepoint path reported on success.
	Location string
}

// Fault makes matching calls fail with Err. Empty match fields match
// anything.
type Fault struct {
	BaseURL string
	Method  string
	Path    string
	Err     error
	// Times is how many matching calls fail; 0 means all of them.
	Times int
}

// Client is the fake; create it with New.
type Client struct {
	mu       sync.Mutex
	jms      map[string]*jobManager
	faults   []*Fault
	calls    []Call
	triggers int
}

var _ flinkclient.Interface = (*Client)(nil)

type jobManager struct {
	overview        flinkclient.ClusterOverview
	config          flinkclient.DashboardConfig
	jobs            map[string]*jobState
	disposals       map[string]*operation
	disposalOutcome Outcome
}

type jobState struct {
	Job
	savepoints map[string]*operation
}

// operation is a savepoint, stop or disposal in flight.
type operation struct {
	outcome  Outcome
	location string
	job      *jobState            // nil for disposals
	onDone   flinkclient.JobState // state the job reaches on success, "" = unchanged
}

// New returns a fake without any JobManager: every call fails with
// ErrUnreachable until AddJobManager or AddJob registers its base URL.
func New() *Client {
	return &Client{jms: map[string]*jobManager{}}
}

// AddJobManager registers (or updates) a reachable JobManager at base.
func (c *Client) AddJobManager(base string, overview flinkclient.ClusterOverview, config flinkclient.DashboardConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	jm := c.jobManager(base)
	jm.overview, jm.config = overview, config
}

// AddJob adds or replaces a job, registering the JobManager if needed.
func (c *Client) AddJob(base string, job Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobManager(base).jobs[job.Details.ID] = &jobState{Job: job, savepoints: map[string]*operation{}}
}

// RemoveJobManager makes base unreachable again.
func (c *Client) RemoveJobManager(base string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.jms, base)
}

// SetJobState changes the state of a job, e.g. to simulate a failure.
func (c *Client) SetJobState(base, jobID string, s flinkclient.JobState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.lookupJob(base, jobID); j != nil {
		j.Details.State = s
	}
}

// JobState returns the current state of a job.
func (c *Client) JobState(base, jobID string) (flinkclient.JobState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.lookupJob(base, jobID); j != nil {
		return j.Details.State, true
	}
	return "", false
}

// SetSavepointOutcome programs savepoints and stops triggered later on a job.
func (c *Client) SetSavepointOutcome(base, jobID string, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.lookupJob(base, jobID); j != nil {
		j.SavepointOutcome = o
	}
}

// SetDisposalOutcome programs disposals triggered later on base.
func (c *Client) SetDisposalOutcome(base string, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobManager(base).disposalOutcome = o
}

// Inject adds a fault; faults are checked in the order they were added.
func (c *Client) Inject(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &f)
}

// Calls returns a copy of the recorded calls, oldest first.
func (c *Client) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

// ResetCalls forgets the recorded calls.
func (c *Client) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

// Errors shaped like the real client's, for Fault.Err.

// Unreachable is what the client returns when the JobManager cannot be reached.
func Unreachable() error {
	return fmt.Errorf("%w: fake: connection refused", flinkclient.ErrUnreachable)
}

// Timeout is what the client returns when a call times out.
func Timeout() error {
	return fmt.Errorf("%w: fake: %w", flinkclient.ErrTimeout, context.DeadlineExceeded)
}

// JobNotFound is what the client returns for a 404 on a job endpoint.
func JobNotFound() error { return fmt.Errorf("%w: fake", flinkclient.ErrJobNotFound) }

// HTTPError is what the client returns for an unexpected status code.
func HTTPError(code int) error {
	return &flinkclient.UnexpectedResponseError{
		Method: "?", URL: "fake", StatusCode: code, Snippet: http.StatusText(code),
	}
}

// jobManager returns the state for base, creating it. Callers hold c.mu.
func (c *Client) jobManager(base string) *jobManager {
	jm, ok := c.jms[base]
	if !ok {
		jm = &jobManager{jobs: map[string]*jobState{}, disposals: map[string]*operation{}}
		c.jms[base] = jm
	}
	return jm
}

func (c *Client) lookupJob(base, jobID string) *jobState {
	if jm, ok := c.jms[base]; ok {
		return jm.jobs[jobID]
	}
	return nil
}

// begin records a call and applies, in order: the caller's context, injected
// faults and reachability. Callers hold c.mu.
func (c *Client) begin(ctx context.Context, base, method, path string) (*jobManager, error) {
	call := Call{BaseURL: base, Method: method, Path: path}
	if t := flinkclient.TLSFrom(ctx); t != nil {
		call.TLS = t.Source + "@" + t.Version
	}
	c.calls = append(c.calls, call)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake %s %s: %w", method, path, err)
	}
	if err := c.fault(base, method, path); err != nil {
		return nil, err
	}
	jm, ok := c.jms[base]
	if !ok {
		return nil, fmt.Errorf("%w: fake: no JobManager at %s", flinkclient.ErrUnreachable, base)
	}
	return jm, nil
}

func (c *Client) fault(base, method, path string) error {
	for i, f := range c.faults {
		if (f.BaseURL != "" && f.BaseURL != base) || (f.Method != "" && f.Method != method) ||
			(f.Path != "" && f.Path != path) {
			continue
		}
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				c.faults = append(c.faults[:i:i], c.faults[i+1:]...)
			}
		}
		return f.Err
	}
	return nil
}

func (jm *jobManager) job(jobID string) (*jobState, error) {
	if j, ok := jm.jobs[jobID]; ok {
		return j, nil
	}
	return nil, fmt.Errorf("%w: fake: job %s", flinkclient.ErrJobNotFound, jobID)
}

func checkIDs(ids ...string) error {
	for _, id := range ids {
		if !flinkclient.IsValidID(id) {
			return fmt.Errorf("%w: fake: ID %q", flinkclient.ErrInvalidArgument, id)
		}
	}
	return nil
}

// newTrigger returns the client-chosen ID or a fresh deterministic one.
func (c *Client) newTrigger(requested string) string {
	if requested != "" {
		return requested
	}
	c.triggers++
	return fmt.Sprintf("%032x", c.triggers)
}

// poll advances op by one status call.
func (op *operation) poll() flinkclient.SavepointStatus {
	if op.outcome.Polls > 0 {
		op.outcome.Polls--
		return flinkclient.SavepointStatus{State: flinkclient.OperationInProgress}
	}
	if op.outcome.Failure != nil {
		return flinkclient.SavepointStatus{State: flinkclient.OperationFailed, Failure: op.outcome.Failure}
	}
	if op.job != nil && op.onDone != "" {
		op.job.Details.State = op.onDone
	}
	return flinkclient.SavepointStatus{State: flinkclient.OperationCompleted, Location: op.location}
}
