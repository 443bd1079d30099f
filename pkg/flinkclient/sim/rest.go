package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// endpoint identifies a Flink REST endpoint for request counting.
type endpoint uint8

const (
	epOverview endpoint = iota
	epConfig
	epJobsOverview
	epJob
	epJobExceptions
	epJobCheckpoints
	epJobCheckpointConfig
	epJobMetrics
	epTriggerSavepoint
	epSavepointStatus
	epStop
	epCancel
	epTriggerDisposal
	epDisposalStatus
	epShutdown
	epOther
	numEndpoints
)

// endpointNames are the keys of Cluster.RequestCounts.
var endpointNames = [numEndpoints]string{
	epOverview:            "GET /overview",
	epConfig:              "GET /config",
	epJobsOverview:        "GET /jobs/overview",
	epJob:                 "GET /jobs/{jobid}",
	epJobExceptions:       "GET /jobs/{jobid}/exceptions",
	epJobCheckpoints:      "GET /jobs/{jobid}/checkpoints",
	epJobCheckpointConfig: "GET /jobs/{jobid}/checkpoints/config",
	epJobMetrics:          "GET /jobs/{jobid}/metrics",
	epTriggerSavepoint:    "POST /jobs/{jobid}/savepoints",
	epSavepointStatus:     "GET /jobs/{jobid}/savepoints/{triggerid}",
	epStop:                "POST /jobs/{jobid}/stop",
	epCancel:              "PATCH /jobs/{jobid}",
	epTriggerDisposal:     "POST /savepoint-disposal",
	epDisposalStatus:      "GET /savepoint-disposal/{triggerid}",
	epShutdown:            "DELETE /cluster",
	epOther:               "other",
}

// EndpointNames lists the keys Cluster.RequestCounts may use.
func EndpointNames() []string { return append([]string(nil), endpointNames[:]...) }

type routed struct {
	ep             endpoint
	path           string
	jobID, trigger string
}

// route maps a request to an endpoint. Flink also serves every path under
// /v1; that prefix is accepted too.
func route(method, p string) routed {
	rt := routed{ep: epOther, path: p}
	p = strings.TrimPrefix(p, "/v1")
	seg := strings.Split(strings.Trim(p, "/"), "/")
	is := func(m string, n int) bool { return method == m && len(seg) == n }
	switch {
	case is(http.MethodGet, 1) && seg[0] == "overview":
		rt.ep = epOverview
	case is(http.MethodGet, 1) && seg[0] == "config":
		rt.ep = epConfig
	case is(http.MethodGet, 2) && seg[0] == "jobs" && seg[1] == "overview":
		rt.ep = epJobsOverview
	case is(http.MethodDelete, 1) && seg[0] == "cluster":
		rt.ep = epShutdown
	case is(http.MethodPost, 1) && seg[0] == "savepoint-disposal":
		rt.ep = epTriggerDisposal
	case is(http.MethodGet, 2) && seg[0] == "savepoint-disposal":
		rt.ep, rt.trigger = epDisposalStatus, seg[1]
	case len(seg) >= 2 && seg[0] == "jobs":
		rt.jobID = seg[1]
		switch {
		case is(http.MethodGet, 2):
			rt.ep = epJob
		case is(http.MethodPatch, 2):
			rt.ep = epCancel
		case is(http.MethodGet, 3) && seg[2] == "exceptions":
			rt.ep = epJobExceptions
		case is(http.MethodGet, 3) && seg[2] == "checkpoints":
			rt.ep = epJobCheckpoints
		case is(http.MethodGet, 4) && seg[2] == "checkpoints" && seg[3] == "config":
			rt.ep = epJobCheckpointConfig
		case is(http.MethodGet, 3) && seg[2] == "metrics":
			rt.ep = epJobMetrics
		case is(http.MethodPost, 3) && seg[2] == "savepoints":
			rt.ep = epTriggerSavepoint
		case is(http.MethodGet, 4) && seg[2] == "savepoints":
			rt.ep, rt.trigger = epSavepointStatus, seg[3]
		case is(http.MethodPost, 3) && seg[2] == "stop":
			rt.ep = epStop
		}
	}
	return rt
}

// maxRequestBody bounds request bodies; Flink's requests here are tiny.
const maxRequestBody = 64 << 10

// serveREST answers one Flink REST request of the cluster.
func (c *Cluster) serveREST(w http.ResponseWriter, r *http.Request, rt routed, body []byte) {
	if rt.ep == epOther {
		writeFlinkError(w, http.StatusNotFound, "Not found: "+rt.path)
		return
	}
	if rt.jobID != "" && !flinkclient.IsValidID(rt.jobID) {
		writeFlinkError(w, http.StatusBadRequest, fmt.Sprintf(
			"Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value \"%s\".", rt.jobID))
		return
	}
	if rt.trigger != "" && !flinkclient.IsValidID(rt.trigger) {
		writeFlinkError(w, http.StatusBadRequest, fmt.Sprintf(
			"Bad request, could not parse parameters: Cannot resolve path parameter (triggerid) from value \"%s\".", rt.trigger))
		return
	}
	jobID, trigger := strings.ToLower(rt.jobID), strings.ToLower(rt.trigger)

	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	switch rt.ep {
	case epOverview:
		writeJSON(w, http.StatusOK, c.overviewJSON())
	case epConfig:
		writeJSON(w, http.StatusOK, c.configJSON())
	case epJobsOverview:
		c.jobsOverview(w, now)
	case epJob, epJobExceptions, epJobCheckpoints, epJobCheckpointConfig:
		j, ok := c.jobs[jobID]
		if !ok {
			writeFlinkError(w, http.StatusNotFound, jobNotFoundMessage(jobID))
			return
		}
		switch rt.ep {
		case epJob:
			writeJSON(w, http.StatusOK, c.jobDetailsJSON(j, now))
		case epJobExceptions:
			writeJSON(w, http.StatusOK, c.exceptionsJSON(j))
		case epJobCheckpointConfig:
			writeJSON(w, http.StatusOK, checkpointConfigJSON(j))
		default:
			if j.batch {
				writeFlinkError(w, http.StatusNotFound, "Checkpointing has not been enabled.")
				return
			}
			j.materialize(now)
			writeJSON(w, http.StatusOK, checkpointsJSON(j))
		}
	case epJobMetrics:
		writeJSON(w, http.StatusOK, c.jobMetricsJSON(jobID, r.URL.Query().Get("get"), now))
	case epShutdown:
		// A clean shutdown: the process ends after it, and with high availability Flink
		// deletes the jobs' HA data, so a restarted JobManager has none of them.
		c.materializeAll(now)
		c.jobs, c.known, c.ops, c.events = nil, nil, nil, nil
		writeJSON(w, http.StatusOK, map[string]any{})
	case epTriggerSavepoint, epStop:
		c.triggerREST(w, rt.ep, jobID, body, now)
	case epSavepointStatus:
		op, ok := c.ops[opKey(jobID, trigger)]
		if !ok || op.kind == opDisposal {
			writeFlinkError(w, http.StatusNotFound, fmt.Sprintf(
				"There is no savepoint operation with triggerId=%s for job %s.", trigger, jobID))
			return
		}
		writeJSON(w, http.StatusOK, operationJSON(op))
	case epCancel:
		c.cancelREST(w, r, jobID, now)
	case epTriggerDisposal:
		var req struct {
			Path *string `json:"savepoint-path"`
		}
		if err := decodeBody(body, &req); err != nil || req.Path == nil || *req.Path == "" {
			writeFlinkError(w, http.StatusBadRequest, "Request did not match expected format SavepointDisposalRequest.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"request-id": c.triggerDisposal(now, *req.Path)})
	case epDisposalStatus:
		op, ok := c.ops[opKey("", trigger)]
		if !ok {
			writeFlinkError(w, http.StatusNotFound, fmt.Sprintf(
				"There is no savepoint disposal operation with triggerId=%s.", trigger))
			return
		}
		writeJSON(w, http.StatusOK, operationJSON(op))
	}
}

func jobNotFoundMessage(jobID string) string {
	return fmt.Sprintf("org.apache.flink.runtime.rest.NotFoundException: Job %s not found\n"+
		"\tat org.apache.flink.runtime.rest.handler.job.AbstractExecutionGraphHandler.lambda$handleRequest$1(AbstractExecutionGraphHandler.java:99)", jobID)
}

// triggerREST serves POST /jobs/{id}/savepoints and POST /jobs/{id}/stop.
func (c *Cluster) triggerREST(w http.ResponseWriter, ep endpoint, jobID string, body []byte, now time.Time) {
	var req struct {
		TargetDir     *string `json:"target-directory"` // savepoint
		TargetDirStop *string `json:"targetDirectory"`  // stop
		CancelJob     bool    `json:"cancel-job"`
		Drain         bool    `json:"drain"`
		FormatType    string  `json:"formatType"`
		TriggerID     string  `json:"triggerId"`
	}
	bodyName := "SavepointTriggerRequestBody"
	dirField := "target-directory"
	if ep == epStop {
		bodyName, dirField = "StopWithSavepointRequestBody", "targetDirectory"
	}
	if err := decodeBody(body, &req); err != nil {
		writeFlinkError(w, http.StatusBadRequest, "Request did not match expected format "+bodyName+".")
		return
	}
	if req.TriggerID != "" && !flinkclient.IsValidID(req.TriggerID) {
		writeFlinkError(w, http.StatusBadRequest, "Request did not match expected format "+bodyName+".")
		return
	}
	switch req.FormatType {
	case "":
		req.FormatType = string(flinkclient.SavepointFormatCanonical)
	case string(flinkclient.SavepointFormatCanonical), string(flinkclient.SavepointFormatNative):
	default:
		writeFlinkError(w, http.StatusBadRequest, "Request did not match expected format "+bodyName+".")
		return
	}
	dir := req.TargetDir
	if ep == epStop {
		dir = req.TargetDirStop
	}
	target := c.cfg.DefaultSavepointDir
	if dir != nil && *dir != "" {
		target = *dir
	}
	if target == "" {
		writeFlinkError(w, http.StatusBadRequest, fmt.Sprintf(
			"Config key [%s] is not set. Property [%s] must be provided.", c.cfg.savepointDirKey(), dirField))
		return
	}
	kind := opSavepoint
	if ep == epStop {
		kind = opStop
	}
	id := c.trigger(now, kind, jobID, strings.ToLower(req.TriggerID), target, req.FormatType, req.CancelJob && ep != epStop)
	writeJSON(w, http.StatusAccepted, map[string]string{"request-id": id})
}

// cancelREST serves PATCH /jobs/{id}?mode=cancel.
func (c *Cluster) cancelREST(w http.ResponseWriter, r *http.Request, jobID string, now time.Time) {
	switch mode := r.URL.Query().Get("mode"); mode {
	case "", "cancel":
	case "stop":
		writeFlinkError(w, http.StatusPermanentRedirect, "The termination mode \"stop\" has been removed. For "+
			"an ungraceful shutdown, please use \"cancel\" instead. For a graceful shutdown, please use \"jobs/:jobId/stop\" instead.")
		return
	default:
		writeFlinkError(w, http.StatusBadRequest, fmt.Sprintf("Bad request, could not parse parameters: Invalid value %q for query parameter mode.", mode))
		return
	}
	j, ok := c.jobs[jobID]
	if !ok {
		writeFlinkError(w, http.StatusNotFound, "Job could not be found.")
		return
	}
	switch j.state {
	case flinkclient.JobStateFinished, flinkclient.JobStateFailed:
		writeFlinkError(w, http.StatusConflict, fmt.Sprintf(
			"Job cancellation failed because the job has already reached another terminal state (%s).", j.state))
		return
	}
	c.cancel(j, now)
	writeJSON(w, http.StatusAccepted, struct{}{})
}

// decodeBody decodes an optional JSON object body (empty means {}).
func decodeBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // like Jackson: "->" in vertex names stays as is
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"errors":["Internal server error."]}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeFlinkError writes Flink's ErrorResponseBody.
func writeFlinkError(w http.ResponseWriter, code int, msgs ...string) {
	writeJSON(w, code, struct {
		Errors []string `json:"errors"`
	}{msgs})
}

// ---- response bodies -------------------------------------------------------

func ms(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

func (c *Cluster) overviewJSON() any {
	var running, finished, cancelled, failed, used int
	for _, j := range c.jobs {
		switch j.state {
		case flinkclient.JobStateFinished:
			finished++
		case flinkclient.JobStateCanceled:
			cancelled++
		case flinkclient.JobStateFailed:
			failed++
		default:
			running++
			used += j.parallelism
		}
	}
	total := c.cfg.TaskManagers * c.cfg.SlotsPerTaskManager
	return map[string]any{
		"taskmanagers": c.cfg.TaskManagers, "slots-total": total, "slots-available": max(0, total-used),
		"taskmanagers-blocked": 0, "slots-free-and-blocked": 0,
		"jobs-running": running, "jobs-finished": finished, "jobs-cancelled": cancelled, "jobs-failed": failed,
		"flink-version": c.cfg.FlinkVersion, "flink-commit": "5im0000",
	}
}

func (c *Cluster) configJSON() any {
	return map[string]any{
		"refresh-interval": 3000, "timezone-name": "Coordinated Universal Time", "timezone-offset": 0,
		"flink-version": c.cfg.FlinkVersion, "flink-revision": "5im0000 @ 2026-01-01T00:00:00+00:00",
		"features": map[string]bool{"web-submit": false, "web-cancel": false, "web-rescale": false, "web-history": false},
	}
}

// allExecutionStates are the keys Flink uses in task count maps.
var allExecutionStates = []string{"CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED",
	"CANCELING", "CANCELED", "FAILED", "RECONCILING", "INITIALIZING"}

func (c *Cluster) taskCounts(j *job, now time.Time) map[string]int {
	m := make(map[string]int, len(allExecutionStates))
	for _, s := range allExecutionStates {
		m[s] = 0
	}
	for i := range vertexNames {
		m[j.vertexStatus(i, now, c.cfg.Delays.Deploy)] += j.parallelism
	}
	return m
}

func duration(j *job, now time.Time) int64 {
	end := now
	if !j.end.IsZero() {
		end = j.end
	}
	return end.Sub(j.start).Milliseconds()
}

func (c *Cluster) jobsOverview(w http.ResponseWriter, now time.Time) {
	jobs := make([]map[string]any, 0, len(c.jobs))
	for _, j := range c.sortedJobs() {
		counts := c.taskCounts(j, now)
		tasks := map[string]int{"total": len(vertexNames) * j.parallelism}
		for k, v := range counts {
			tasks[strings.ToLower(k)] = v
		}
		e := map[string]any{
			"jid": j.id, "name": j.name, "state": j.state,
			"start-time": ms(j.start), "end-time": ms(j.end), "duration": duration(j, now),
			"last-modification": ms(j.lastMod), "tasks": tasks,
		}
		if !c.cfg.v1() {
			e["pending-operators"] = 0
		}
		if c.cfg.atLeast(2, 3) { // seen on 2.3.0
			e["jobType"], e["schedulerType"] = j.jobType(), j.schedulerType()
		}
		jobs = append(jobs, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
}

func (c *Cluster) jobDetailsJSON(j *job, now time.Time) any {
	ts := make(map[string]int64, len(flinkclient.AllJobStates))
	for _, s := range flinkclient.AllJobStates {
		ts[string(s)] = 0
		if t, ok := j.stateTimes[s]; ok {
			ts[string(s)] = t.UnixMilli()
		}
	}
	statusCounts := map[string]int{}
	for _, s := range allExecutionStates {
		statusCounts[s] = 0
	}
	vertices := make([]map[string]any, 0, len(vertexNames))
	nodes := make([]map[string]any, 0, len(vertexNames))
	for i, name := range vertexNames {
		st := j.vertexStatus(i, now, c.cfg.Delays.Deploy)
		statusCounts[st]++
		start, end := int64(-1), int64(-1)
		if !j.runningFrom.IsZero() {
			start = ms(j.runningFrom)
		}
		if !j.end.IsZero() {
			end = ms(j.end)
		}
		dur := int64(-1)
		if start > 0 {
			e := end
			if e < 0 {
				e = now.UnixMilli()
			}
			dur = e - start
		}
		tasks := map[string]int{}
		for _, s := range allExecutionStates {
			tasks[s] = 0
		}
		tasks[st] = j.parallelism
		maxPar := j.maxPar
		if maxPar <= 0 {
			maxPar = 128
		}
		id := j.vertexID(i)
		vertices = append(vertices, map[string]any{
			"id": id, "slotSharingGroupId": "a0d1c7a96e8e63d5d6d1b7ff8a8dd9b0", "name": name,
			"maxParallelism": maxPar, "parallelism": j.parallelism, "status": st,
			"start-time": start, "end-time": end, "duration": dur, "tasks": tasks,
			"metrics": map[string]any{"read-bytes": 0, "read-bytes-complete": true, "write-bytes": 0,
				"write-bytes-complete": true, "read-records": 0, "read-records-complete": true,
				"write-records": 0, "write-records-complete": true},
		})
		node := map[string]any{"id": id, "parallelism": j.parallelism, "operator": "", "operator_strategy": "",
			"description": name, "optimizer_properties": map[string]any{}}
		if i > 0 {
			node["inputs"] = []map[string]any{{"num": 0, "id": j.vertexID(i - 1), "ship_strategy": "FORWARD", "exchange": "pipelined_bounded"}}
		}
		nodes = append(nodes, node)
	}
	jobType := j.jobType()
	d := map[string]any{
		"jid": j.id, "name": j.name, "isStoppable": false, "state": j.state,
		"start-time": ms(j.start), "end-time": ms(j.end), "duration": duration(j, now),
		"maxParallelism": j.maxPar, "now": now.UnixMilli(), "timestamps": ts,
		"vertices": vertices, "status-counts": statusCounts,
		"plan": map[string]any{"jid": j.id, "name": j.name, "type": jobType, "nodes": nodes},
	}
	if c.cfg.hasJobType() {
		d["job-type"] = jobType
	}
	if !c.cfg.v1() {
		d["pending-operators"] = 0
	}
	if c.cfg.atLeast(2, 3) { // seen on 2.3.0: every job is an application with the job's ID
		d["application-id"], d["schedulerType"] = j.id, j.schedulerType()
	}
	return d
}

func (c *Cluster) exceptionsJSON(j *job) any {
	n := len(j.exceptions)
	keep := min(n, exceptionHistorySize)
	entries := make([]map[string]any, 0, keep)
	for i := n - 1; i >= n-keep; i-- { // newest first
		e := j.exceptions[i]
		m := map[string]any{
			"exceptionName": e.name, "stacktrace": e.stack, "timestamp": e.at.UnixMilli(),
			"taskName": nil, "endpoint": nil, "taskManagerId": nil,
			"failureLabels": map[string]string{}, "concurrentExceptions": []any{},
		}
		if e.taskName != "" {
			m["taskName"], m["endpoint"], m["taskManagerId"] = e.taskName, "10.0.0.1:6122", "sim-taskmanager-1"
		}
		if c.cfg.v1() {
			m["location"] = m["endpoint"]
		}
		entries = append(entries, m)
	}
	history := map[string]any{"entries": entries, "truncated": n > keep}
	if !c.cfg.v1() {
		return map[string]any{"exceptionHistory": history}
	}
	out := map[string]any{"all-exceptions": []any{}, "truncated": false, "exceptionHistory": history}
	if n > 0 {
		out["root-exception"] = j.exceptions[n-1].stack
		out["timestamp"] = j.exceptions[n-1].at.UnixMilli()
	}
	return out
}

// checkpointConfigJSON is GET /jobs/{id}/checkpoints/config as Flink 1.20 and 2.3 answer it,
// with the fields the simulator models.
func checkpointConfigJSON(j *job) any {
	// Flink 1.20 and 2.3 answer for a job without checkpointing too, with the interval at
	// Long.MAX_VALUE (seen by the contract tests).
	interval := int64(math.MaxInt64)
	if j.ckptInterval > 0 && !j.batch {
		interval = j.ckptInterval.Milliseconds()
	}
	return map[string]any{
		"mode": "exactly_once", "interval": interval, "timeout": 600000, "min_pause": 0, "max_concurrent": 1,
		"externalization": map[string]bool{
			"enabled":                j.retention == retainOnCancellation || j.retention == deleteOnCancellation,
			"delete_on_cancellation": j.retention != retainOnCancellation,
		},
		"state_backend": "HashMapStateBackend", "checkpoint_storage": "FileSystemCheckpointStorage",
		"unaligned_checkpoints": false, "tolerable_failed_checkpoints": 0,
	}
}

// jobMetricsJSON answers GET /jobs/{id}/metrics?get=...: the requested metrics the simulator
// has, as Flink's metric store does (an unknown job or metric is left out, never an error).
func (c *Cluster) jobMetricsJSON(jobID, get string, now time.Time) any {
	type metric struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	out := []metric{}
	j, ok := c.jobs[jobID]
	if !ok || get == "" {
		return out
	}
	j.materialize(now)
	values := map[string]int64{"numRestarts": int64(j.restarts), "numberOfCompletedCheckpoints": j.completed,
		"numberOfFailedCheckpoints": j.failed}
	for _, name := range strings.Split(get, ",") {
		if v, ok := values[name]; ok {
			out = append(out, metric{ID: name, Value: strconv.FormatInt(v, 10)})
		}
	}
	return out
}

func checkpointsJSON(j *job) any {
	completed := func(r *checkpointRecord) any {
		if r == nil {
			return nil
		}
		var format any
		if r.savepoint {
			format = r.format
		}
		return map[string]any{
			"className": "completed", "id": r.id, "status": "COMPLETED", "is_savepoint": r.savepoint,
			"savepointFormat": format, "checkpoint_type": r.kind,
			"trigger_timestamp": ms(r.triggeredAt), "latest_ack_timestamp": ms(r.ackAt),
			"state_size": 4096, "checkpointed_size": 4096, "end_to_end_duration": r.ackAt.Sub(r.triggeredAt).Milliseconds(),
			"external_path": r.path, "discarded": r.discarded,
			"num_subtasks": len(vertexNames) * j.parallelism, "num_acknowledged_subtasks": len(vertexNames) * j.parallelism,
			"tasks": map[string]any{},
		}
	}
	var failed, restored any
	if f := j.latestFailed; f != nil {
		failed = map[string]any{
			"className": "failed", "id": f.id, "status": "FAILED", "is_savepoint": f.savepoint,
			"checkpoint_type": "SAVEPOINT", "trigger_timestamp": ms(f.triggeredAt),
			"failure_timestamp": ms(f.failedAt), "failure_message": f.message, "tasks": map[string]any{},
		}
	}
	if r := j.latestRestored; r != nil {
		restored = map[string]any{"id": r.id, "restore_timestamp": ms(r.at), "is_savepoint": r.savepoint, "external_path": r.path}
	}
	return map[string]any{
		"counts": map[string]int64{
			"restored": j.restored, "total": j.completed + j.failed + j.inProgress,
			"in_progress": j.inProgress, "completed": j.completed, "failed": j.failed,
		},
		"summary": map[string]any{},
		"latest": map[string]any{
			"completed": completed(j.latestCkpt), "savepoint": completed(j.latestSP),
			"failed": failed, "restored": restored,
		},
		"history": checkpointHistoryJSON(j),
	}
}

// checkpointHistoryJSON lists the retained checkpoints, newest first, at most Flink's default
// web.checkpoints.history (10).
func checkpointHistoryJSON(j *job) []any {
	out := []any{}
	for i := len(j.retained) - 1; i >= 0 && len(out) < 10; i-- {
		path := j.retained[i]
		id, _ := strconv.ParseInt(path[strings.LastIndex(path, "/chk-")+len("/chk-"):], 10, 64)
		out = append(out, map[string]any{"className": "completed", "id": id, "status": "COMPLETED", "is_savepoint": false,
			"checkpoint_type": "CHECKPOINT", "external_path": path, "discarded": false, "tasks": map[string]any{}})
	}
	return out
}
