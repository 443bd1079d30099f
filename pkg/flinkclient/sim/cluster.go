package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// Errors of the Go and control APIs.
var (
	// ErrDuplicateJob: a job with the submitted job ID already exists in the
	// cluster (in any state, until the JobManager loses its jobs). The
	// returned error adds Flink's cause: DuplicateJobSubmissionException
	// "Job has already been submitted." (1.x), or
	// DuplicateApplicationSubmissionException "Application has already been
	// submitted." (2.3+).
	ErrDuplicateJob = errors.New("duplicate job submission rejected by the JobManager")
	// ErrNoJob: the job is not known to the simulated cluster.
	ErrNoJob = errors.New("no such job in the simulated cluster")
	// ErrNoCluster: the cluster does not exist (RequireExplicitClusters, or
	// a malformed "namespace/name").
	ErrNoCluster = errors.New("no such simulated cluster")
)

// maxSubmissions bounds the submission log kept per cluster.
const maxSubmissions = 64

// Cluster is one simulated Flink cluster (a JobManager with its jobs and
// asynchronous operations). Get one from Server.Cluster or
// Server.CreateCluster. All methods are safe for concurrent use.
type Cluster struct {
	srv             *Server
	namespace, name string

	// requests counts REST requests by endpoint; atomic so that faulty
	// requests are counted without taking the lock.
	requests [numEndpoints]atomic.Int64

	mu          sync.Mutex
	cfg         ClusterConfig
	faults      Faults
	spFailures  int // next savepoints that fail; <0: all
	spFailure   string
	jobs        map[string]*job       // visible jobs
	known       map[string]struct{}   // every job ID submitted since the JobManager started
	ops         map[string]*operation // key: jobID + "/" + triggerID ("" job for disposals)
	events      eventQueue
	seq         uint64
	submissions []Submission
}

// Namespace and Name identify the cluster; its REST base URL path is
// /clusters/{namespace}/{name}.
func (c *Cluster) Namespace() string { return c.namespace }

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Key is "namespace/name".
func (c *Cluster) Key() string { return c.namespace + "/" + c.name }

// Config returns the cluster's configuration.
func (c *Cluster) Config() ClusterConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// SetConfig replaces the cluster's configuration (zero fields take the
// defaults of withDefaults, not the server's Defaults). Changed delays apply
// to transitions scheduled afterwards.
func (c *Cluster) SetConfig(cfg ClusterConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg.withDefaults()
}

// Faults returns the cluster's current transport faults.
func (c *Cluster) Faults() Faults {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

// SetFaults replaces the cluster's transport faults; Faults{} heals it.
func (c *Cluster) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
}

// FailSavepoints makes the next n savepoints (including stop-with-savepoint
// and savepoints with cancel-job) triggered on this cluster fail with a
// CheckpointException carrying message (wrapped in a CompletionException,
// like Flink reports it); n < 0 fails all of them until
// FailSavepoints(0, "") is called. The trigger is still accepted: the failure
// shows in the operation status once the savepoint delay has passed.
func (c *Cluster) FailSavepoints(n int, message string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if message == "" {
		message = "Simulated savepoint failure."
	}
	c.spFailures, c.spFailure = n, message
}

// FailJob makes a non-terminal job FAILED now. Its exception history gets
// the entry Flink writes when restarts are disabled or exhausted: a
// JobException ("Recovery is suppressed by ...") caused by a
// java.lang.RuntimeException with the given message.
func (c *Cluster) FailJob(jobID, message string) error {
	return c.FailJobWith(jobID, "", message)
}

// FailJobWith is FailJob for a job whose task threw exception class (a
// Java class name such as "java.lang.IllegalStateException"; empty means
// java.lang.RuntimeException): the final JobException entry names it in its
// "Caused by", as Flink does when the job's own exception exhausts its
// restarts.
func (c *Cluster) FailJobWith(jobID, class, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	j, err := c.liveJob(jobID)
	if err != nil {
		return err
	}
	if message == "" {
		message = "Simulated job failure."
	}
	// Like Flink when restarts are disabled or exhausted: the final entry is
	// a JobException without task, with the job's exception as its cause.
	j.addException(exceptionEntry{at: now, name: "org.apache.flink.runtime.JobException",
		stack: "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy" + simFrame +
			"\nCaused by: " + exceptionClass(class) + ": " + message + simFrame})
	j.setState(flinkclient.JobStateFailed, now)
	return nil
}

// exceptionClass defaults an empty Java exception class name.
func exceptionClass(class string) string {
	if class == "" {
		return "java.lang.RuntimeException"
	}
	return class
}

// FinishJob makes a non-terminal job FINISHED now, as a bounded job does
// when its input ends.
func (c *Cluster) FinishJob(jobID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	j, err := c.liveJob(jobID)
	if err != nil {
		return err
	}
	j.setState(flinkclient.JobStateFinished, now)
	return nil
}

// RestartJob makes a non-terminal job fail over: it records an exception,
// goes RESTARTING, and is RUNNING again after the restart delay, restored
// from its latest checkpoint (or the savepoint it started from).
func (c *Cluster) RestartJob(jobID, message string) error {
	return c.RestartJobWith(jobID, "", message)
}

// RestartJobWith is RestartJob for a task that threw exception class (a Java
// class name such as "java.lang.IllegalStateException"; empty means
// java.lang.RuntimeException): the history entry's exceptionName is that
// class, as in Flink.
func (c *Cluster) RestartJobWith(jobID, class, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	j, err := c.liveJob(jobID)
	if err != nil {
		return err
	}
	if j.state == flinkclient.JobStateCancelling {
		return fmt.Errorf("job %s is %s: %w", jobID, j.state, ErrNoJob)
	}
	if message == "" {
		message = "Simulated task failure."
	}
	class = exceptionClass(class)
	j.addException(exceptionEntry{at: now, name: class,
		stack:    class + ": " + message + simFrame,
		taskName: fmt.Sprintf("%s (1/%d) - execution #%d", vertexNames[1], j.parallelism, j.restarts)})
	j.restarts++
	j.setState(flinkclient.JobStateRestarting, now)
	c.schedule(now.Add(c.cfg.Delays.Restart), event{kind: evRestarted, job: j, gen: j.gen})
	return nil
}

// DefaultHARecovery is how long a restarted JobManager with high availability takes to recover
// its jobs (RestartJobManager).
const DefaultHARecovery = 2 * time.Second

// RestartJobManager simulates a JobManager restart, with DefaultHARecovery.
func (c *Cluster) RestartJobManager() { c.RestartJobManagerWith(DefaultHARecovery) }

// RestartJobManagerWith simulates a JobManager restart. Every asynchronous operation vanishes
// (Flink keeps them in memory). Without high availability every job and its history vanish too,
// and job IDs may be submitted again. A job submitted under a configuration with Flink's HA
// services that had not ended is recovered, as Flink's new leader does: no JobManager lists it
// for recoverAfter, then it is RUNNING under the same job ID with a new start time, restored
// from its latest checkpoint; its ID stays taken meanwhile.
func (c *Cluster) RestartJobManagerWith(recoverAfter time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	// The checkpoints the jobs completed stay on the storage; nothing deletes them.
	c.materializeAll(now)
	var recovered []*job
	for _, j := range c.sortedJobs() {
		if j.ha && !j.state.IsGloballyTerminal() {
			recovered = append(recovered, j)
		}
	}
	c.jobs, c.known, c.ops = nil, nil, nil
	c.events = nil
	for _, j := range recovered {
		if c.known == nil {
			c.known = map[string]struct{}{}
		}
		c.known[j.id] = struct{}{}
		j.inProgress = 0
		// Drops what the lost attempt had scheduled; no checkpoint completes while it is down.
		j.setState(flinkclient.JobStateInitializing, now)
		c.schedule(now.Add(recoverAfter), event{kind: evRecovered, job: j, gen: j.gen})
	}
}

// Submit starts the job described by a `flink run` command line (see
// ParseRunCommand) and returns its job ID. A job ID that the cluster already
// has (any state) is rejected with an error wrapping ErrDuplicateJob.
func (c *Cluster) Submit(args []string) (string, error) {
	return c.SubmitConfigured(nil, args)
}

// SubmitConfigured is Submit for a cluster whose Flink configuration is conf (the operator's
// ConfigMap): the job reads its checkpoint settings from conf, and -D options override it.
func (c *Cluster) SubmitConfigured(conf map[string]string, args []string) (string, error) {
	cmd, err := ParseRunCommand(args)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.advance()
	id := cmd.JobID
	if id == "" {
		id = c.srv.randomHex(32)
	}
	sub := Submission{Cluster: c.Key(), Args: append([]string(nil), args...), Command: cmd, JobID: id, At: now, Config: maps.Clone(conf)}
	if _, dup := c.known[id]; dup {
		state := "terminated"
		if j, ok := c.jobs[id]; ok {
			state = string(j.state)
		}
		err := fmt.Errorf("%w: %s (job %s is %s in %s)", ErrDuplicateJob, c.cfg.duplicateMessage(), id, state, c.Key())
		sub.Err = err.Error()
		c.logSubmission(sub)
		return "", err
	}
	c.logSubmission(sub)
	j := c.newJob(id, cmd, conf, sub, now)
	if c.jobs == nil {
		c.jobs = map[string]*job{}
		c.known = map[string]struct{}{}
	}
	c.jobs[id] = j
	c.known[id] = struct{}{}
	c.schedule(now.Add(c.cfg.Delays.Initialize), event{kind: evInitialized, job: j, gen: j.gen})
	return id, nil
}

func (c *Cluster) logSubmission(s Submission) {
	if len(c.submissions) == maxSubmissions {
		c.submissions = append(c.submissions[:0], c.submissions[1:]...)
	}
	c.submissions = append(c.submissions, s)
}

func (c *Cluster) newJob(id string, cmd RunCommand, conf map[string]string, sub Submission, now time.Time) *job {
	p := cmd.Parallelism
	if p == 0 {
		p = defaultParallelism
	}
	j := &job{
		id: id, name: defaultJobName, parallelism: p, maxPar: -1,
		restoreFrom: cmd.FromSavepoint, allowNonRS: cmd.AllowNonRestoredState,
		submission: sub, start: now,
		stateTimes: make(map[flinkclient.JobState]time.Time, 4),
		files:      c.srv, numRetained: 1,
	}
	props := maps.Clone(conf)
	if props == nil {
		props = map[string]string{}
	}
	maps.Copy(props, cmd.Properties)
	if v := props[propPipelineName]; v != "" {
		j.name = v
	}
	if v, err := parsePositive(propMaxParallelism, props[propMaxParallelism]); err == nil {
		j.maxPar = v
	}
	j.batch = strings.EqualFold(props[propRuntimeMode], "BATCH")
	if ms, err := parseFlinkDuration(props[propCheckpointInterval]); err == nil && ms > 0 {
		j.ckptInterval = time.Duration(ms) * time.Millisecond
	}
	j.ckptDir = props[propCheckpointDir]
	if j.ckptDir == "" {
		j.ckptDir = props[propCheckpointDirOld]
	}
	for _, k := range []string{propNumRetainedOld, propNumRetained} {
		if v, err := parsePositive(k, props[k]); err == nil {
			j.numRetained = v
		}
	}
	j.retention = strings.ToUpper(strings.TrimSpace(props[propRetention]))
	// The JobManager's configuration, not the client's -D options: HA is the cluster's.
	j.ha = haConfigured(conf)
	j.setState(flinkclient.JobStateInitializing, now)
	return j
}

// Jobs lists the cluster's visible jobs, oldest first.
func (c *Cluster) Jobs() []JobInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	out := make([]JobInfo, 0, len(c.jobs))
	for _, j := range c.sortedJobs() {
		out = append(out, j.info())
	}
	return out
}

// Job returns one job.
func (c *Cluster) Job(jobID string) (JobInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	j, ok := c.jobs[strings.ToLower(jobID)]
	if !ok {
		return JobInfo{}, false
	}
	return j.info(), true
}

// Submissions returns the last submissions (accepted and rejected), oldest
// first.
func (c *Cluster) Submissions() []Submission {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Submission, len(c.submissions))
	for i, s := range c.submissions {
		out[i] = cloneSubmission(s)
	}
	return out
}

// RequestCounts returns the number of Flink REST requests received per
// endpoint (e.g. "GET /jobs/{jobid}"), including those answered with a
// fault. Endpoints never called are left out.
func (c *Cluster) RequestCounts() map[string]int64 {
	out := map[string]int64{}
	for i := range c.requests {
		if n := c.requests[i].Load(); n > 0 {
			out[endpointNames[i]] = n
		}
	}
	return out
}

// TotalRequests is the sum of RequestCounts.
func (c *Cluster) TotalRequests() int64 {
	var n int64
	for i := range c.requests {
		n += c.requests[i].Load()
	}
	return n
}

// ResetRequestCounts sets every request counter to zero.
func (c *Cluster) ResetRequestCounts() {
	for i := range c.requests {
		c.requests[i].Store(0)
	}
}

// sortedJobs orders jobs by start time, then ID. Callers hold c.mu.
func (c *Cluster) sortedJobs() []*job {
	js := make([]*job, 0, len(c.jobs))
	for _, j := range c.jobs {
		js = append(js, j)
	}
	sort.Slice(js, func(a, b int) bool {
		if !js[a].start.Equal(js[b].start) {
			return js[a].start.Before(js[b].start)
		}
		return js[a].id < js[b].id
	})
	return js
}

// liveJob returns a visible, non-terminal job. Callers hold c.mu.
func (c *Cluster) liveJob(jobID string) (*job, error) {
	j, ok := c.jobs[strings.ToLower(jobID)]
	if !ok {
		return nil, fmt.Errorf("%w: %s in %s", ErrNoJob, jobID, c.Key())
	}
	if j.state.IsGloballyTerminal() {
		return nil, fmt.Errorf("%w: %s in %s is already %s", ErrNoJob, jobID, c.Key(), j.state)
	}
	return j, nil
}

// cancel starts cancelling a job. Callers hold c.mu.
func (c *Cluster) cancel(j *job, now time.Time) {
	if j.state == flinkclient.JobStateCancelling || j.state.IsGloballyTerminal() {
		return
	}
	j.setState(flinkclient.JobStateCancelling, now)
	c.schedule(now.Add(c.cfg.Delays.Cancel), event{kind: evCanceled, job: j, gen: j.gen})
}

// materializeAll records the checkpoints every job of the cluster completed up to t.
func (c *Cluster) materializeAll(t time.Time) {
	for _, j := range c.jobs {
		j.materialize(t)
	}
}

// ---- lazy evaluation -------------------------------------------------------

type eventKind uint8

const (
	evInitialized      eventKind = iota // INITIALIZING -> RUNNING (or FAILED)
	evRestarted                         // RESTARTING -> RUNNING
	evRecovered                         // recovered by a new JobManager leader
	evCanceled                          // CANCELLING -> CANCELED
	evSavepointWritten                  // a savepoint/stop/cancel-job savepoint is written
	evStopped                           // stop-with-savepoint: job FINISHED, operation completes
	evDisposed                          // a disposal completes
)

// event is a transition due at a point in simulated time. Job events carry
// the job's generation when scheduled and are dropped if the job has moved
// on since (e.g. a job cancelled while INITIALIZING never becomes RUNNING).
type event struct {
	at   time.Time
	seq  uint64
	kind eventKind
	job  *job
	gen  uint64
	op   *operation
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(a, b int) bool {
	if !q[a].at.Equal(q[b].at) {
		return q[a].at.Before(q[b].at)
	}
	return q[a].seq < q[b].seq
}
func (q eventQueue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// schedule queues e at time at. Callers hold c.mu.
func (c *Cluster) schedule(at time.Time, e event) {
	c.seq++
	e.at, e.seq = at, c.seq
	heap.Push(&c.events, e)
}

// advance applies every transition due by now, in time order, expires old
// jobs and operations, and returns now. Callers hold c.mu.
func (c *Cluster) advance() time.Time {
	now := c.srv.clock.Now()
	for len(c.events) > 0 && !c.events[0].at.After(now) {
		e := heap.Pop(&c.events).(event)
		c.apply(e)
	}
	if len(c.events) == 0 {
		c.events = nil // release the backing array of an idle cluster
	}
	c.expire(now)
	return now
}

func (c *Cluster) apply(e event) {
	if e.job != nil && e.kind != evSavepointWritten && e.kind != evStopped && e.job.gen != e.gen {
		return
	}
	j := e.job
	switch e.kind {
	case evInitialized:
		c.materializeAll(e.at) // a restore may name a checkpoint another job completed by now
		if (c.srv.opts.CheckRestorePaths || c.cfg.CheckRestorePaths) && j.restoreFrom != "" && !c.srv.HasSavepoint(j.restoreFrom) {
			j.addException(exceptionEntry{at: e.at, name: "org.apache.flink.runtime.client.JobInitializationException",
				stack: "org.apache.flink.runtime.client.JobInitializationException: Could not start the JobMaster." + simFrame +
					"\nCaused by: java.io.FileNotFoundException: Cannot find checkpoint or savepoint file/directory '" +
					j.restoreFrom + "' on file system 'file'." + simFrame})
			j.setState(flinkclient.JobStateFailed, e.at)
			return
		}
		if j.restoreFrom != "" {
			j.latestRestored = &restoredCheckpoint{id: 0, savepoint: true, at: e.at, path: j.restoreFrom}
			j.restored++
		}
		j.stateTimes[flinkclient.JobStateCreated] = e.at
		j.setState(flinkclient.JobStateRunning, e.at)
	case evRestarted:
		j.restoreFromLatest(e.at)
		j.setState(flinkclient.JobStateRunning, e.at)
	case evRecovered:
		if c.jobs == nil {
			c.jobs = map[string]*job{}
		}
		c.jobs[j.id] = j
		j.start = e.at
		j.restoreFromLatest(e.at)
		j.setState(flinkclient.JobStateRunning, e.at)
	case evCanceled:
		j.setState(flinkclient.JobStateCanceled, e.at)
	case evSavepointWritten:
		c.savepointWritten(e.op, e.at)
	case evStopped:
		c.stopped(e.op, e.at)
	case evDisposed:
		c.disposed(e.op, e.at)
	}
}

// expire drops terminal jobs and completed operations past their retention,
// as Flink's job store and operation cache do. Callers hold c.mu.
func (c *Cluster) expire(now time.Time) {
	if d := c.srv.jobStoreExpiration; d > 0 {
		for id, j := range c.jobs {
			if j.state.IsGloballyTerminal() && !now.Before(j.end.Add(d)) {
				delete(c.jobs, id) // stays in c.known: still a duplicate
			}
		}
	}
	if d := c.srv.opStoreDuration; d > 0 {
		for k, op := range c.ops {
			if op.done && !now.Before(op.doneAt.Add(d)) {
				delete(c.ops, k)
			}
		}
	}
}

// simFrame is the stack frame the simulator puts under its exceptions.
const simFrame = "\n\tat org.apache.flink.sim.SimulatedJobManager(SimulatedJobManager.java:1)"

// haConfigured: the Flink configuration runs high-availability services (Kubernetes, ZooKeeper
// or a factory class), by the 2.x key or the 1.x one.
func haConfigured(conf map[string]string) bool {
	v := conf["high-availability.type"]
	if v == "" {
		v = conf["high-availability"]
	}
	v = strings.TrimSpace(v)
	return v != "" && !strings.EqualFold(v, "none")
}
