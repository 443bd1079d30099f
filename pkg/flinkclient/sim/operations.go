package sim

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

type opKind uint8

const (
	opSavepoint opKind = iota
	opStop
	opDisposal
)

// operation is an asynchronous savepoint, stop-with-savepoint or disposal.
// Guarded by its Cluster's mutex.
type operation struct {
	kind        opKind
	jobID       string
	triggerID   string
	targetDir   string
	cancelJob   bool
	format      string
	path        string // disposal
	triggeredAt time.Time
	// forcedFailure is set at trigger time by FailSavepoints.
	forcedFailure string

	done     bool
	doneAt   time.Time
	location string
	failure  *flinkclient.FailureCause
}

func opKey(jobID, triggerID string) string { return jobID + "/" + triggerID }

// Failure classes and messages, as Flink reports them.
const (
	classCheckpointException = "org.apache.flink.runtime.checkpoint.CheckpointException"
	classJobNotFound         = "org.apache.flink.runtime.messages.FlinkJobNotFoundException"
	classFlinkException      = "org.apache.flink.util.FlinkException"
	msgNotAllTasksRunning    = "Not all required tasks are currently running."
	msgCoordinatorSuspending = "Checkpoint Coordinator is suspending."
)

// failureCause is the failure-cause of an asynchronous operation: Flink
// reports the CompletionException that wraps the real cause.
func failureCause(class, message string) *flinkclient.FailureCause {
	const completion = "java.util.concurrent.CompletionException"
	return &flinkclient.FailureCause{
		Class: completion,
		StackTrace: completion + ": " + class + ": " + message + simFrame +
			"\nCaused by: " + class + ": " + message + simFrame,
	}
}

// trigger registers a savepoint or stop-with-savepoint for jobID and returns
// its trigger ID. Like Flink (1.15+), the trigger is accepted for any job
// ID: an unknown or non-running job makes the operation fail at once, and a
// repeated trigger ID returns the existing operation. Callers hold c.mu.
func (c *Cluster) trigger(now time.Time, kind opKind, jobID, triggerID, targetDir, format string, cancelJob bool) string {
	if triggerID == "" {
		triggerID = c.srv.randomHex(32)
	}
	key := opKey(jobID, triggerID)
	if _, ok := c.ops[key]; ok {
		return triggerID // Flink's idempotency: same (job, trigger) -> same operation
	}
	op := &operation{kind: kind, jobID: jobID, triggerID: triggerID, targetDir: targetDir,
		format: format, cancelJob: cancelJob, triggeredAt: now}
	if c.ops == nil {
		c.ops = map[string]*operation{}
	}
	c.ops[key] = op
	j, ok := c.jobs[jobID]
	switch {
	case !ok || j.state.IsGloballyTerminal():
		c.finish(op, now, "", failureCause(classJobNotFound, fmt.Sprintf("Could not find Flink job (%s)", jobID)))
		return triggerID
	case j.state != flinkclient.JobStateRunning:
		c.finish(op, now, "", failureCause(classCheckpointException, msgNotAllTasksRunning))
		return triggerID
	}
	if c.spFailures != 0 {
		op.forcedFailure = c.spFailure
		if c.spFailures > 0 {
			c.spFailures--
		}
	}
	j.inProgress++
	c.schedule(now.Add(c.cfg.Delays.Savepoint), event{kind: evSavepointWritten, job: j, op: op})
	return triggerID
}

// savepointWritten is due when the savepoint of op is written.
func (c *Cluster) savepointWritten(op *operation, at time.Time) {
	j, ok := c.jobs[op.jobID]
	if ok {
		j.inProgress--
	}
	fail := func(msg string) {
		if ok {
			j.lastID++
			j.failed++
			j.latestFailed = &failedCheckpoint{id: j.lastID, savepoint: true, triggeredAt: op.triggeredAt, failedAt: at, message: msg}
		}
		c.finish(op, at, "", failureCause(classCheckpointException, msg))
	}
	switch {
	case !ok || j.state != flinkclient.JobStateRunning:
		fail(msgCoordinatorSuspending)
		return
	case op.forcedFailure != "":
		fail(op.forcedFailure)
		return
	}
	j.materialize(at)
	j.lastID++
	j.completed++
	loc := normalizePath(trimSlash(op.targetDir)) + "/savepoint-" + j.id[:6] + "-" + c.srv.randomHex(12)
	kind := "SAVEPOINT"
	if op.kind == opStop {
		kind = "SYNC_SAVEPOINT"
	}
	j.latestSP = &checkpointRecord{id: j.lastID, savepoint: true, kind: kind, format: op.format,
		triggeredAt: op.triggeredAt, ackAt: at, path: loc}
	j.savepoints = append(j.savepoints, loc)
	j.spTimes = append(j.spTimes, at)
	c.srv.AddSavepoint(loc)
	switch {
	case op.kind == opStop:
		op.location = loc
		c.schedule(at.Add(c.cfg.Delays.Stop), event{kind: evStopped, job: j, op: op})
	case op.cancelJob:
		c.finish(op, at, loc, nil)
		c.cancel(j, at)
	default:
		c.finish(op, at, loc, nil)
	}
}

// stopped is due when a stop-with-savepoint has drained the job.
func (c *Cluster) stopped(op *operation, at time.Time) {
	j, ok := c.jobs[op.jobID]
	switch {
	case ok && j.state == flinkclient.JobStateRunning:
		j.setState(flinkclient.JobStateFinished, at)
	case ok && j.state == flinkclient.JobStateFinished:
	default:
		c.finish(op, at, "", failureCause(classFlinkException, "Job terminated before stop-with-savepoint completed."))
		return
	}
	c.finish(op, at, op.location, nil)
}

// triggerDisposal registers a savepoint disposal. Callers hold c.mu.
func (c *Cluster) triggerDisposal(now time.Time, path string) string {
	id := c.srv.randomHex(32)
	op := &operation{kind: opDisposal, triggerID: id, path: path, triggeredAt: now}
	if c.ops == nil {
		c.ops = map[string]*operation{}
	}
	c.ops[opKey("", id)] = op
	c.schedule(now.Add(c.cfg.Delays.Disposal), event{kind: evDisposed, op: op})
	return id
}

func (c *Cluster) disposed(op *operation, at time.Time) {
	if c.srv.removeSavepoint(op.path) {
		c.finish(op, at, "", nil)
		return
	}
	c.finish(op, at, "", failureCause(classFlinkException, fmt.Sprintf(
		"Could not dispose savepoint %s.\nCaused by: java.io.FileNotFoundException: "+
			"Cannot find checkpoint or savepoint file/directory '%s' on file system 'file'.", op.path, op.path)))
}

func (c *Cluster) finish(op *operation, at time.Time, location string, failure *flinkclient.FailureCause) {
	op.done, op.doneAt, op.location, op.failure = true, at, location, failure
}

// operationJSON is Flink's AsynchronousOperationResult.
func operationJSON(op *operation) any {
	type status struct {
		ID string `json:"id"`
	}
	type cause struct {
		Class      string `json:"class"`
		StackTrace string `json:"stack-trace"`
		// The binary Java serialization cannot be produced here; this is
		// base64 of the stack trace, so the field has a realistic size.
		Serialized string `json:"serialized-throwable"`
	}
	type result struct {
		Status    status `json:"status"`
		Operation any    `json:"operation"`
	}
	if !op.done {
		return result{Status: status{"IN_PROGRESS"}}
	}
	if op.failure != nil {
		c := cause{op.failure.Class, op.failure.StackTrace, base64.StdEncoding.EncodeToString([]byte(op.failure.StackTrace))}
		return result{Status: status{"COMPLETED"}, Operation: map[string]any{"failure-cause": c}}
	}
	if op.kind == opDisposal {
		return result{Status: status{"COMPLETED"}, Operation: map[string]any{"failure-cause": nil}}
	}
	return result{Status: status{"COMPLETED"}, Operation: map[string]any{"location": op.location}}
}

// normalizePath qualifies a local path the way Flink reports savepoint
// locations: "/dir" and "file:///dir" become "file:/dir"; other URIs
// (s3://bucket/dir, ...) are kept.
func normalizePath(p string) string {
	switch {
	case strings.HasPrefix(p, "file:///"):
		return "file:/" + strings.TrimLeft(p[len("file:///"):], "/")
	case strings.HasPrefix(p, "/"):
		return "file:/" + strings.TrimLeft(p, "/")
	}
	return p
}
