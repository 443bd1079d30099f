package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/pkg/flinkclient/sim"
)

// SimVersions are the Flink versions whose REST shapes the simulator
// reproduces and that the real-Flink suite checks (flinkcluster.Versions()).
var SimVersions = []string{"2.3.0", "1.20.5"}

// SimSpeedup is how much faster than the wall clock simulated time runs in a
// SimTarget: the counter job's rates and the JobManager's delays are in
// simulated time, so the suite's real-time polling sees them SimSpeedup
// times faster.
const SimSpeedup = 10

// simMaxStep bounds how far a SimTarget moves simulated time in one step,
// so the counter job's failures and ends land within this of their due time
// even when they become known only during a step.
const simMaxStep = 20 * time.Millisecond

// simDelays are the simulated JobManager's transition delays, in simulated
// time. Cancel and Restart are zero: on real Flink CANCELLING and RESTARTING
// were never seen at a 100 ms poll rate, not even with the counter job's
// 200 ms restart delay (the restarted tasks wait instead; here Deploy plays
// that part). Stop is zero because Flink's sources stop at the barrier of a
// stop-with-savepoint: no record flows between that savepoint and FINISHED.
var simDelays = sim.Delays{
	Initialize: time.Second, Deploy: 500 * time.Millisecond, Savepoint: 500 * time.Millisecond,
	Stop: 0, Cancel: 0, Restart: 0, Disposal: 200 * time.Millisecond,
}

// The TaskManager-loss failure the simulated JobManager records. Flink's
// JobMaster reports a TaskManager whose heartbeat RPCs fail this way.
const (
	tmLostClass   = "org.apache.flink.runtime.jobmaster.JobMasterException"
	tmLostMessage = "TaskManager with id sim-taskmanager-1 is no longer reachable."
)

// SimTarget is a Target backed by the simulated JobManager
// (pkg/flinkclient/sim): one simulated cluster (1 TaskManager, 4 slots,
// a configured savepoint directory, like flinkcluster.Start) answering Flink
// REST for the given version's shapes.
//
// The simulator runs no job program, so SimTarget also plays the
// TaskManagers running test/flink-job's CounterJob (counterProgram): from
// the job's state in the simulator (when it became RUNNING, its savepoints,
// when it stopped) it writes the COUNT lines the job would write, throws the
// job's IllegalStateException after --fail-after records, finishes a
// --bounded job, and carries the counters through savepoints, checkpoints
// and restores. What CounterJob.main sets programmatically (env.execute's
// job name, BATCH runtime mode, the checkpoint interval) is passed to the
// simulator as the equivalent -D configuration, since the simulator does not
// open the JAR.
//
// Simulated time is a sim.FakeClock that SimTarget moves to SimSpeedup
// times the elapsed wall-clock time before every REST request, submission
// and output read, in steps of at most simMaxStep during which the counter
// jobs act. Nothing runs in the background.
type SimTarget struct {
	version string
	srv     *sim.Server
	cluster *sim.Cluster
	hs      *httptest.Server
	clock   *sim.FakeClock
	// simNow is the simulated time to move to: SimSpeedup times the
	// elapsed wall clock (tests of the target itself replace it).
	simNow func() time.Time

	mu        sync.Mutex
	programs  []*counterProgram
	outputs   map[string]*strings.Builder
	snapshots map[string]counterState // savepoint location (local path) -> counters in it
}

var _ Target = (*SimTarget)(nil)

const (
	simNamespace  = "contract"
	simJar        = "/opt/flink/usrlib/flink-operator-test-job.jar"
	simClass      = "org.flinkoperator.testjob.CounterJob"
	simSPDir      = "/flink-sim/savepoints"
	simOutDir     = "/flink-sim/out"
	counterPrefix = "COUNT key="
)

// NewSimTarget starts a simulated JobManager reporting Flink version; it is
// shut down when the test ends.
func NewSimTarget(t testing.TB, version string) *SimTarget {
	now := time.Now()
	clock := sim.NewFakeClock(now)
	srv := sim.New(sim.Options{
		Clock: clock,
		// Flink fails a job whose -s path does not exist.
		CheckRestorePaths: true,
	})
	st := &SimTarget{
		version: version, srv: srv, clock: clock,
		simNow:  func() time.Time { return now.Add(time.Since(now) * SimSpeedup) },
		outputs: map[string]*strings.Builder{}, snapshots: map[string]counterState{},
	}
	st.cluster = srv.CreateCluster(simNamespace, "flink-"+version, sim.ClusterConfig{
		FlinkVersion: version, TaskManagers: 1, SlotsPerTaskManager: 4,
		DefaultSavepointDir: "file://" + simSPDir, Delays: simDelays,
	})
	st.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.advanceLocked()
		st.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(st.hs.Close)
	return st
}

// Server and Cluster expose the simulator, e.g. to inspect submissions.
func (st *SimTarget) Server() *sim.Server   { return st.srv }
func (st *SimTarget) Cluster() *sim.Cluster { return st.cluster }

func (st *SimTarget) Name() string         { return "sim-" + st.version }
func (st *SimTarget) FlinkVersion() string { return st.version }
func (st *SimTarget) SavepointDir() string { return simSPDir }
func (st *SimTarget) BaseURL() string {
	return sim.JobManagerURL(st.hs.URL, simNamespace, st.cluster.Name())
}

// SavepointExists asks the simulator's savepoint registry, its stand-in for
// the savepoint directory with its _metadata.
func (st *SimTarget) SavepointExists(location string) bool {
	return location != "" && st.srv.HasSavepoint(location)
}

func (st *SimTarget) OutputPath(name string) string { return simOutDir + "/" + name + ".txt" }

// ReadCounts parses what the counter jobs wrote to output so far.
func (st *SimTarget) ReadCounts(_ context.Context, output string) (Counts, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.advanceLocked()
	b, ok := st.outputs[output]
	if !ok {
		return nil, nil
	}
	return ParseCounts(strings.NewReader(b.String()))
}

// CLIArgs is the `flink run` command line Submit hands to RunCLI: the
// options flinkcluster.CLIArgs gives the real CLI.
func (st *SimTarget) CLIArgs(a SubmitArgs) []string {
	args := []string{"flink", "run", "-d", "-m", st.hostPort(), "-c", simClass}
	if a.Parallelism > 0 {
		args = append(args, "-p", strconv.Itoa(a.Parallelism))
	}
	if a.FromSavepoint != "" {
		args = append(args, "-s", a.FromSavepoint)
	}
	if a.AllowNonRestored {
		args = append(args, "-n")
	}
	if a.JobID != "" {
		args = append(args, "-D", sim.PropJobID+"="+a.JobID)
	}
	args = append(args, simJar)
	return append(args, a.Args...)
}

// Submit runs the counter job's `flink run` command line (RunCLI), as the
// operator's submitter pod would.
func (st *SimTarget) Submit(_ context.Context, a SubmitArgs) error {
	id, err := st.RunCLI(st.CLIArgs(a)...)
	if err == nil && a.JobID != "" && id != a.JobID {
		return fmt.Errorf("the simulator started job %s, want %s", id, a.JobID)
	}
	return err
}

// RunCLI submits a `flink run ...` command line (see sim.ParseRunCommand)
// to the simulated cluster and returns the job ID. A duplicate job ID is an
// error wrapping ErrDuplicateJob. When the main class (-c) is CounterJob,
// its program runs too (counterProgram), and what its main method
// configures programmatically is added as the equivalent -D options:
// env.execute(name) as pipeline.name, setRuntimeMode(BATCH) with --bounded
// as execution.runtime-mode, enableCheckpointing(ms) with --checkpoint-ms
// as execution.checkpointing.interval, --checkpoint-retention as
// execution.checkpointing.externalized-checkpoint-retention.
func (st *SimTarget) RunCLI(args ...string) (string, error) {
	cmd, err := sim.ParseRunCommand(args)
	if err != nil {
		return "", err
	}
	var job *counterArgs
	if cmd.Class == simClass {
		j, err := parseCounterArgs(cmd.ProgramArgs)
		if err != nil {
			// CounterJob.main throws before submitting anything.
			return "", fmt.Errorf("the program's main method failed: %w", err)
		}
		job = &j
		conf := []string{"-D", "pipeline.name=" + j.name}
		if j.bounded > 0 {
			conf = append(conf, "-D", "execution.runtime-mode=BATCH")
		}
		if j.checkpointMS > 0 {
			conf = append(conf, "-D", "execution.checkpointing.interval="+strconv.FormatInt(j.checkpointMS, 10)+"ms")
		}
		if j.retention != "" {
			conf = append(conf, "-D", "execution.checkpointing.externalized-checkpoint-retention="+j.retention)
		}
		if i := slices.Index(args, "run"); i >= 0 {
			args = slices.Concat(args[:i+1], conf, args[i+1:])
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.advanceLocked()
	id, err := st.cluster.Submit(args)
	if errors.Is(err, sim.ErrDuplicateJob) {
		// `flink run` exits 1 and prints Flink's exception.
		return "", errors.Join(ErrDuplicateJob, errors.New("flink run: exit code 1"), err)
	}
	if err != nil || job == nil {
		return id, err
	}
	info, _ := st.cluster.Job(id)
	p := &counterProgram{st: st, jobID: id, job: *job, parallelism: info.Parallelism}
	if info.FromSavepoint != "" {
		if s, ok := st.snapshots[simLocalPath(info.FromSavepoint)]; ok {
			p.restored = &s
		}
	}
	st.programs = append(st.programs, p)
	return id, nil
}

// KillTaskManager is the simulator's equivalent of SIGKILLing the only
// TaskManager: every RUNNING job fails over with the JobMaster's
// TaskManager-loss exception, and restarts or fails as its restart
// strategy says. The simulator does not model TaskManagers or slots, so the
// jobs find resources again at once.
func (st *SimTarget) KillTaskManager(context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.advanceLocked()
	for _, j := range st.cluster.Jobs() {
		if j.State != flinkclient.JobStateRunning {
			continue
		}
		var p *counterProgram
		for _, q := range st.programs {
			if q.jobID == j.ID {
				p = q
			}
		}
		if p == nil {
			if err := st.cluster.RestartJobWith(j.ID, tmLostClass, tmLostMessage); err != nil {
				return err
			}
			continue
		}
		if err := p.fail(st.clock.Now(), tmLostClass, tmLostMessage); err != nil {
			return err
		}
	}
	return nil
}

// advanceLocked moves simulated time to SimSpeedup times the elapsed wall
// clock, letting the counter jobs act on the way. Callers hold st.mu.
func (st *SimTarget) advanceLocked() {
	target := st.simNow()
	for {
		now := st.clock.Now()
		next := now.Add(simMaxStep)
		if target.Before(next) {
			next = target
		}
		for _, p := range st.programs {
			if due, ok := p.nextEvent(); ok && due.After(now) && due.Before(next) {
				next = due
			}
		}
		st.clock.Set(next)
		now = st.clock.Now()
		for _, p := range st.programs {
			p.step(now)
		}
		if !now.Before(target) {
			return
		}
	}
}

func (st *SimTarget) write(out, line string) {
	if out == "" {
		return
	}
	b, ok := st.outputs[out]
	if !ok {
		b = &strings.Builder{}
		st.outputs[out] = b
	}
	b.WriteString(line)
	b.WriteByte('\n')
}

// simLocalPath turns "file:/x" or "file:///x" into "/x", the key of
// SimTarget.snapshots.
func simLocalPath(location string) string {
	p := strings.TrimPrefix(location, "file:")
	for strings.HasPrefix(p, "//") {
		p = p[1:]
	}
	return p
}

// counterArgs are CounterJob's program arguments, with its defaults.
type counterArgs struct {
	name         string
	rate         float64
	keys         int64
	out          string
	failAfter    int64 // < 0: never
	restarts     int64
	bounded      int64
	checkpointMS int64
	retention    string
}

// parseCounterArgs reads CounterJob's "--key value" arguments like its
// main method does.
func parseCounterArgs(argv []string) (counterArgs, error) {
	j := counterArgs{name: "counter", rate: 20, keys: 4, failAfter: -1}
	if len(argv)%2 != 0 {
		return j, fmt.Errorf("expected --key value pairs, got: %s", strings.Join(argv, " "))
	}
	for i := 0; i < len(argv); i += 2 {
		k, v := argv[i], argv[i+1]
		if !strings.HasPrefix(k, "--") {
			return j, fmt.Errorf("expected --key value pairs, got: %s", strings.Join(argv, " "))
		}
		var err error
		switch k[2:] {
		case "name":
			j.name = v
		case "out":
			j.out = v
		case "rate":
			j.rate, err = strconv.ParseFloat(v, 64)
		case "keys":
			j.keys, err = strconv.ParseInt(v, 10, 64)
		case "fail-after":
			j.failAfter, err = strconv.ParseInt(v, 10, 64)
		case "restarts":
			j.restarts, err = strconv.ParseInt(v, 10, 64)
		case "bounded":
			j.bounded, err = strconv.ParseInt(v, 10, 64)
		case "checkpoint-ms":
			j.checkpointMS, err = strconv.ParseInt(v, 10, 64)
		case "checkpoint-retention":
			j.retention = v
		}
		if err != nil {
			return j, fmt.Errorf("CounterJob argument %s %q: %w", k, v, err)
		}
	}
	if j.rate <= 0 || j.keys <= 0 {
		return j, fmt.Errorf("CounterJob: --rate and --keys must be positive")
	}
	return j, nil
}

// counterState is the CounterJob state a checkpoint or savepoint holds: the
// generator's position and each key's counter.
type counterState struct {
	pos    int64
	counts []int64 // by key index: key "k<i>"
}

func (s counterState) clone() counterState {
	s.counts = slices.Clone(s.counts)
	return s
}

// counterProgram is one submitted CounterJob, executed against the job's
// state in the simulator. Record i of the generator has key "k"+(i%keys);
// records arrive at --rate per second of simulated time while the job's
// vertices are RUNNING; the keyed counter subtask of key index m is
// m%parallelism.
type counterProgram struct {
	st          *SimTarget
	jobID       string
	job         counterArgs
	parallelism int
	restored    *counterState // from -s

	att         *counterAttempt // the running attempt, nil when not RUNNING
	lastRunning time.Time       // RUNNING timestamp of the latest attempt
	lastCkpt    *counterState   // the latest completed checkpoint
	restarts    int64           // restarts used
	nSavepoints int             // savepoints already recorded in st.snapshots
	done        bool            // the job is globally terminal and fully accounted for
}

// counterAttempt is one execution attempt: from RUNNING to a failure, a
// restart, a stop or a cancellation.
type counterAttempt struct {
	runningFrom time.Time // the job's RUNNING timestamp (checkpoints count from it)
	from        time.Time // the vertices are RUNNING: records flow
	base        counterState
	cur         counterState
	emitted     int64
	// limit: records this attempt processes before it fails (failing) or
	// the bounded input ends; < 0: no limit.
	limit   int64
	failing bool
}

// nextEvent is when the running attempt fails or finishes, if it will.
func (p *counterProgram) nextEvent() (time.Time, bool) {
	a := p.att
	if p.done || a == nil || a.limit < 0 {
		return time.Time{}, false
	}
	if a.failing {
		return a.due(a.limit+1, p.job.rate), true
	}
	return a.due(a.limit, p.job.rate), true
}

// due is when the attempt's n-th record (1-based) arrives.
func (a *counterAttempt) due(n int64, rate float64) time.Time {
	if n <= 0 {
		return a.from
	}
	return a.from.Add(time.Duration(float64(n) * float64(time.Second) / rate))
}

// recordsBy is how many records arrived by t (before limit).
func (a *counterAttempt) recordsBy(t time.Time, rate float64) int64 {
	if t.Before(a.from) {
		return 0
	}
	n := int64(t.Sub(a.from).Seconds() * rate)
	for !a.due(n+1, rate).After(t) {
		n++
	}
	for n > 0 && a.due(n, rate).After(t) {
		n--
	}
	if a.limit >= 0 && n > a.limit {
		n = a.limit
	}
	return n
}

// stateAt is the attempt's state after the records that arrived by t.
func (p *counterProgram) stateAt(a *counterAttempt, t time.Time) counterState {
	n := a.recordsBy(t, p.job.rate)
	s := a.base.clone()
	k := p.job.keys
	before := func(x, m int64) int64 { // records with key m among [0, x)
		c := x / k
		if x%k > m {
			c++
		}
		return c
	}
	for m := range s.counts {
		s.counts[m] += before(a.base.pos+n, int64(m)) - before(a.base.pos, int64(m))
	}
	s.pos += n
	return s
}

// emit writes the COUNT lines of the records that arrived by t.
func (p *counterProgram) emit(t time.Time) {
	a := p.att
	n := a.recordsBy(t, p.job.rate)
	for ; a.emitted < n; a.emitted++ {
		m := (a.base.pos + a.emitted) % p.job.keys
		a.cur.counts[m]++
		p.st.write(p.job.out, counterPrefix+"k"+strconv.FormatInt(m, 10)+" count="+strconv.FormatInt(a.cur.counts[m], 10))
	}
	a.cur.pos = a.base.pos + a.emitted
}

// startAttempt begins an attempt at the job's RUNNING timestamp run,
// restoring the latest checkpoint, else the savepoint the job started from.
func (p *counterProgram) startAttempt(run time.Time) {
	base := counterState{counts: make([]int64, p.job.keys)}
	from := p.restored
	if p.lastCkpt != nil {
		from = p.lastCkpt
	}
	if from != nil { // keyed state is restored by key name: "k<i>" is index i
		base.pos = from.pos
		copy(base.counts, from.counts)
	}
	a := &counterAttempt{runningFrom: run, from: run.Add(p.st.cluster.Config().Delays.Deploy),
		base: base, cur: base.clone(), limit: -1}
	if p.job.failAfter >= 0 {
		// Each keyed counter subtask counts its records in this attempt and
		// throws on the one after --fail-after.
		seen := make([]int64, p.parallelism)
		for i := int64(0); ; i++ {
			sub := ((base.pos + i) % p.job.keys) % int64(p.parallelism)
			if seen[sub]++; seen[sub] > p.job.failAfter {
				a.limit, a.failing = i, true
				break
			}
		}
	}
	if p.job.bounded > 0 {
		if rest := max(p.job.bounded-base.pos, 0); a.limit < 0 || rest < a.limit {
			a.limit, a.failing = rest, false
		}
	}
	p.att, p.lastRunning = a, run
}

// endAttempt closes the running attempt at end: its last records, and the
// savepoints and checkpoints taken during it.
func (p *counterProgram) endAttempt(info sim.JobInfo, end time.Time) {
	p.emit(end)
	p.recordSavepoints(info, end)
	a := p.att
	if iv := time.Duration(p.job.checkpointMS) * time.Millisecond; iv > 0 && p.job.bounded <= 0 {
		// The simulator completes a checkpoint every interval while RUNNING.
		if k := end.Sub(a.runningFrom) / iv; k >= 1 {
			s := p.stateAt(a, a.runningFrom.Add(k*iv))
			p.lastCkpt = &s
		}
	}
	p.att = nil
}

// recordSavepoints stores the state of the job's savepoints written by t.
func (p *counterProgram) recordSavepoints(info sim.JobInfo, t time.Time) {
	for ; p.nSavepoints < len(info.Savepoints) && p.nSavepoints < len(info.SavepointTimes); p.nSavepoints++ {
		at := info.SavepointTimes[p.nSavepoints]
		if at.After(t) || p.att == nil {
			return
		}
		p.st.snapshots[simLocalPath(info.Savepoints[p.nSavepoints])] = p.stateAt(p.att, at)
	}
}

// restartAllowed applies CounterJob's restart strategy: fixed-delay with
// --restarts attempts when --fail-after is given (none without restarts),
// else Flink's default: none without checkpointing, exponential-delay
// (unbounded) with it.
func (p *counterProgram) restartAllowed() bool {
	switch {
	case p.job.failAfter >= 0:
		return p.restarts < p.job.restarts
	default:
		return p.job.checkpointMS > 0
	}
}

// fail makes the running attempt fail at now with a Java exception: the job
// restarts or, with its restarts used up, fails.
func (p *counterProgram) fail(now time.Time, class, message string) error {
	info, ok := p.st.cluster.Job(p.jobID)
	if !ok {
		return fmt.Errorf("job %s vanished from the simulator", p.jobID)
	}
	if p.att != nil {
		p.endAttempt(info, now)
	}
	if p.restartAllowed() {
		p.restarts++
		return p.st.cluster.RestartJobWith(p.jobID, class, message)
	}
	return p.st.cluster.FailJobWith(p.jobID, class, message)
}

// leftRunning is when the attempt that became RUNNING at run stopped
// running: the first later state change the simulator reports.
func leftRunning(info sim.JobInfo, run, now time.Time) time.Time {
	end := now
	for st, at := range info.Timestamps {
		switch st {
		case flinkclient.JobStateCreated, flinkclient.JobStateInitializing, flinkclient.JobStateRunning,
			flinkclient.JobStateReconciling:
			continue
		}
		if !at.Before(run) && at.Before(end) {
			end = at
		}
	}
	return end
}

// step brings the program up to simulated time now (the simulator has
// applied every transition due by now).
func (p *counterProgram) step(now time.Time) {
	if p.done {
		return
	}
	info, ok := p.st.cluster.Job(p.jobID)
	if !ok { // expired from the JobManager's job store
		p.done = true
		return
	}
	running := info.State == flinkclient.JobStateRunning
	run := info.Timestamps[flinkclient.JobStateRunning]
	if a := p.att; a != nil && (!running || !run.Equal(a.runningFrom)) {
		p.endAttempt(info, leftRunning(info, a.runningFrom, now))
	}
	if p.att == nil && running && !run.IsZero() && !run.Equal(p.lastRunning) {
		p.startAttempt(run)
	}
	if p.att == nil {
		p.done = info.State.IsGloballyTerminal()
		return
	}
	p.emit(now)
	p.recordSavepoints(info, now)
	due, ok := p.nextEvent()
	if !ok || due.After(now) {
		return
	}
	if p.att.failing {
		msg := fmt.Sprintf("CounterJob: intentional failure after %d records", p.job.failAfter)
		_ = p.fail(now, "java.lang.IllegalStateException", msg)
		return
	}
	// The bounded input is exhausted: the job finishes.
	p.endAttempt(info, now)
	_ = p.st.cluster.FinishJob(p.jobID)
}

// hostPort is the simulator's listen address, host:port.
func (st *SimTarget) hostPort() string {
	u, err := url.Parse(st.hs.URL)
	if err != nil {
		return ""
	}
	return u.Host
}
