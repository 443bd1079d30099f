package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The control API (under /sim) lets a harness in another process drive the
// simulator; every call has a Go equivalent. See docs/simulator.md.

// delaysWire is Delays with Go duration strings ("1.5s").
type delaysWire struct {
	Initialize *string `json:"initialize,omitempty"`
	Deploy     *string `json:"deploy,omitempty"`
	Savepoint  *string `json:"savepoint,omitempty"`
	Stop       *string `json:"stop,omitempty"`
	Cancel     *string `json:"cancel,omitempty"`
	Restart    *string `json:"restart,omitempty"`
	Disposal   *string `json:"disposal,omitempty"`
}

// configWire is ClusterConfig on the wire; absent fields keep their value.
type configWire struct {
	FlinkVersion        *string     `json:"flinkVersion,omitempty"`
	TaskManagers        *int        `json:"taskManagers,omitempty"`
	SlotsPerTaskManager *int        `json:"slotsPerTaskManager,omitempty"`
	DefaultSavepointDir *string     `json:"defaultSavepointDir,omitempty"`
	CheckRestorePaths   *bool       `json:"checkRestorePaths,omitempty"`
	Delays              *delaysWire `json:"delays,omitempty"`
}

type faultsWire struct {
	Unreachable   bool   `json:"unreachable"`
	Slow          string `json:"slow,omitempty"`
	InternalError bool   `json:"internalError"`
}

func durStr(d time.Duration) *string { s := d.String(); return &s }

func toConfigWire(c ClusterConfig) configWire {
	d := c.Delays
	return configWire{
		FlinkVersion: &c.FlinkVersion, TaskManagers: &c.TaskManagers,
		SlotsPerTaskManager: &c.SlotsPerTaskManager, DefaultSavepointDir: &c.DefaultSavepointDir,
		CheckRestorePaths: &c.CheckRestorePaths,
		Delays: &delaysWire{durStr(d.Initialize), durStr(d.Deploy), durStr(d.Savepoint), durStr(d.Stop),
			durStr(d.Cancel), durStr(d.Restart), durStr(d.Disposal)},
	}
}

// merge applies the fields present in w to c.
func (w configWire) merge(c ClusterConfig) (ClusterConfig, error) {
	if w.FlinkVersion != nil {
		c.FlinkVersion = *w.FlinkVersion
	}
	if w.TaskManagers != nil {
		c.TaskManagers = *w.TaskManagers
	}
	if w.SlotsPerTaskManager != nil {
		c.SlotsPerTaskManager = *w.SlotsPerTaskManager
	}
	if w.DefaultSavepointDir != nil {
		c.DefaultSavepointDir = *w.DefaultSavepointDir
	}
	if w.CheckRestorePaths != nil {
		c.CheckRestorePaths = *w.CheckRestorePaths
	}
	if d := w.Delays; d != nil {
		for _, f := range []struct {
			name string
			in   *string
			out  *time.Duration
		}{
			{"initialize", d.Initialize, &c.Delays.Initialize}, {"deploy", d.Deploy, &c.Delays.Deploy},
			{"savepoint", d.Savepoint, &c.Delays.Savepoint}, {"stop", d.Stop, &c.Delays.Stop},
			{"cancel", d.Cancel, &c.Delays.Cancel}, {"restart", d.Restart, &c.Delays.Restart},
			{"disposal", d.Disposal, &c.Delays.Disposal},
		} {
			if f.in == nil {
				continue
			}
			v, err := time.ParseDuration(*f.in)
			if err != nil || v < 0 {
				return c, fmt.Errorf("delays.%s: %q is not a non-negative Go duration", f.name, *f.in)
			}
			*f.out = v
		}
	}
	return c.withDefaults(), nil
}

type jobWire struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	State                 string   `json:"state"`
	Parallelism           int      `json:"parallelism"`
	FromSavepoint         string   `json:"fromSavepoint,omitempty"`
	AllowNonRestoredState bool     `json:"allowNonRestoredState,omitempty"`
	StartTime             string   `json:"startTime"`
	EndTime               string   `json:"endTime,omitempty"`
	Savepoints            []string `json:"savepoints,omitempty"`
	Restarts              int      `json:"restarts,omitempty"`
	Args                  []string `json:"args"`
}

type submissionWire struct {
	JobID string   `json:"jobId"`
	At    string   `json:"at"`
	Args  []string `json:"args"`
	Error string   `json:"error,omitempty"`
}

func timeStr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// serveControl serves /sim/...; p is the path after "/sim".
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, p string) {
	seg := strings.Split(strings.Trim(p, "/"), "/")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return
	}
	m := r.Method
	switch {
	case len(seg) == 1 && seg[0] == "healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case len(seg) == 1 && seg[0] == "clock":
		s.controlClock(w, m, body)
	case len(seg) == 1 && seg[0] == "savepoints":
		s.controlSavepoints(w, m, body)
	case len(seg) == 1 && seg[0] == "clusters" && m == http.MethodGet:
		type entry struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
			Jobs      int    `json:"jobs"`
			Requests  int64  `json:"requests"`
		}
		out := []entry{}
		for _, k := range s.Clusters() {
			ns, name, _ := strings.Cut(k, "/")
			if c, ok := s.LookupCluster(ns, name); ok {
				out = append(out, entry{ns, name, len(c.Jobs()), c.TotalRequests()})
			}
		}
		writeJSON(w, http.StatusOK, out)
	case len(seg) >= 3 && seg[0] == "clusters":
		s.controlCluster(w, m, seg[1], seg[2], seg[3:], body)
	default:
		writeFlinkError(w, http.StatusNotFound, "Not found: /sim"+p)
	}
}

func (s *Server) controlClock(w http.ResponseWriter, m string, body []byte) {
	switch m {
	case http.MethodGet:
	case http.MethodPost:
		fc, ok := s.clock.(*FakeClock)
		if !ok {
			writeFlinkError(w, http.StatusConflict, "the simulator runs on the real clock; start it with a fake clock to advance time")
			return
		}
		var req struct {
			Advance string `json:"advance"`
		}
		d, err := time.Duration(0), json.Unmarshal(body, &req)
		if err == nil {
			d, err = time.ParseDuration(req.Advance)
		}
		if err != nil || d < 0 {
			writeFlinkError(w, http.StatusBadRequest, `want {"advance": "<non-negative Go duration>"}`)
			return
		}
		fc.Advance(d)
	default:
		writeFlinkError(w, http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"now": timeStr(s.clock.Now())})
}

func (s *Server) controlSavepoints(w http.ResponseWriter, m string, body []byte) {
	switch m {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.Savepoints())
	case http.MethodPost:
		var req struct {
			Path string `json:"path"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Path == "" {
			writeFlinkError(w, http.StatusBadRequest, `want {"path": "<savepoint path>"}`)
			return
		}
		s.AddSavepoint(req.Path)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		// Someone deleted savepoints or checkpoints from the storage: one path, or every path
		// under a prefix (a checkpoint directory).
		var req struct {
			Path   string `json:"path"`
			Prefix string `json:"prefix"`
		}
		if err := json.Unmarshal(body, &req); err != nil || (req.Path == "") == (req.Prefix == "") {
			writeFlinkError(w, http.StatusBadRequest, `want {"path": "<savepoint path>"} or {"prefix": "<directory>"}`)
			return
		}
		if req.Path != "" {
			s.removeSavepoint(req.Path)
		} else {
			s.removeSavepoints(req.Prefix)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeFlinkError(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
	}
}

func (s *Server) controlCluster(w http.ResponseWriter, m, ns, name string, rest []string, body []byte) {
	action := strings.Join(rest, "/")
	// Creating and deleting work on any name; everything else needs the
	// cluster (created on first use unless RequireExplicitClusters).
	switch {
	case action == "" && m == http.MethodPut:
		var cw configWire
		if err := decodeBody(body, &cw); err != nil {
			writeFlinkError(w, http.StatusBadRequest, "bad cluster configuration: "+err.Error())
			return
		}
		c, existed := s.LookupCluster(ns, name)
		base := s.opts.Defaults.withDefaults()
		if existed {
			base = c.Config()
		}
		cfg, err := cw.merge(base)
		if err != nil {
			writeFlinkError(w, http.StatusBadRequest, err.Error())
			return
		}
		c = s.CreateCluster(ns, name, cfg)
		writeJSON(w, http.StatusOK, toConfigWire(c.Config()))
		return
	case action == "" && m == http.MethodDelete:
		if !s.RemoveCluster(ns, name) {
			writeFlinkError(w, http.StatusNotFound, fmt.Sprintf("no cluster %s/%s", ns, name))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c, ok := s.cluster(ns, name, !s.opts.RequireExplicitClusters)
	if !ok {
		writeFlinkError(w, http.StatusNotFound, fmt.Sprintf("no cluster %s/%s", ns, name))
		return
	}
	var msg struct {
		Message   string   `json:"message"`
		Exception string   `json:"exception"`
		Count     *int     `json:"count"`
		Args      []string `json:"args"`
	}
	if err := decodeBody(body, &msg); err != nil {
		writeFlinkError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return
	}
	switch {
	case action == "" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, clusterState(c))
	case action == "submit" && m == http.MethodPost:
		id, err := c.Submit(msg.Args)
		switch {
		case errors.Is(err, ErrDuplicateJob):
			writeFlinkError(w, http.StatusConflict, err.Error())
		case err != nil:
			writeFlinkError(w, http.StatusBadRequest, err.Error())
		default:
			writeJSON(w, http.StatusOK, map[string]string{"jobId": id})
		}
	case action == "faults" && m == http.MethodPut:
		var fw faultsWire
		var slow time.Duration
		err := json.Unmarshal(body, &fw)
		if err == nil && fw.Slow != "" {
			slow, err = time.ParseDuration(fw.Slow)
		}
		if err != nil || slow < 0 {
			writeFlinkError(w, http.StatusBadRequest, `want {"unreachable": bool, "slow": "<Go duration>", "internalError": bool}`)
			return
		}
		c.SetFaults(Faults{Unreachable: fw.Unreachable, Slow: slow, InternalError: fw.InternalError})
		w.WriteHeader(http.StatusNoContent)
	case action == "faults" && m == http.MethodDelete:
		c.SetFaults(Faults{})
		w.WriteHeader(http.StatusNoContent)
	case action == "savepoint-failures" && m == http.MethodPost:
		n := 1
		if msg.Count != nil {
			n = *msg.Count
		}
		c.FailSavepoints(n, msg.Message)
		w.WriteHeader(http.StatusNoContent)
	case action == "jobmanager/restart" && m == http.MethodPost:
		var req struct {
			RecoverAfter string `json:"recoverAfter"`
		}
		recoverAfter := DefaultHARecovery
		err := decodeBody(body, &req)
		if err == nil && req.RecoverAfter != "" {
			recoverAfter, err = time.ParseDuration(req.RecoverAfter)
		}
		if err != nil || recoverAfter < 0 {
			writeFlinkError(w, http.StatusBadRequest, `want {"recoverAfter": "<Go duration>"} (or no body)`)
			return
		}
		c.RestartJobManagerWith(recoverAfter)
		w.WriteHeader(http.StatusNoContent)
	case action == "requests" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, c.RequestCounts())
	case action == "requests" && m == http.MethodDelete:
		c.ResetRequestCounts()
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 3 && rest[0] == "jobs" && m == http.MethodPost && (rest[2] == "fail" || rest[2] == "restart" || rest[2] == "finish"):
		f := c.FailJobWith
		switch rest[2] {
		case "restart":
			f = c.RestartJobWith
		case "finish":
			f = func(id, _, _ string) error { return c.FinishJob(id) }
		}
		if err := f(rest[1], msg.Exception, msg.Message); err != nil {
			writeFlinkError(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeFlinkError(w, http.StatusNotFound, fmt.Sprintf("Not found: %s /sim/clusters/%s/%s/%s", m, ns, name, action))
	}
}

func clusterState(c *Cluster) any {
	jobs := []jobWire{}
	for _, j := range c.Jobs() {
		jobs = append(jobs, jobWire{
			ID: j.ID, Name: j.Name, State: string(j.State), Parallelism: j.Parallelism,
			FromSavepoint: j.FromSavepoint, AllowNonRestoredState: j.AllowNonRestoredState,
			StartTime: timeStr(j.StartTime), EndTime: timeStr(j.EndTime), Savepoints: j.Savepoints,
			Restarts: j.Restarts, Args: j.Submission.Args,
		})
	}
	subs := []submissionWire{}
	for _, s := range c.Submissions() {
		subs = append(subs, submissionWire{JobID: s.JobID, At: timeStr(s.At), Args: s.Args, Error: s.Err})
	}
	f := c.Faults()
	fw := faultsWire{Unreachable: f.Unreachable, InternalError: f.InternalError}
	if f.Slow > 0 {
		fw.Slow = f.Slow.String()
	}
	c.mu.Lock()
	spFailures := c.spFailures
	c.mu.Unlock()
	return map[string]any{
		"namespace": c.namespace, "name": c.name, "config": toConfigWire(c.Config()), "faults": fw,
		"savepointFailures": spFailures, "jobs": jobs, "submissions": subs, "requests": c.RequestCounts(),
	}
}
