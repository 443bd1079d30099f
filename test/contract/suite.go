package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/observer"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// Case is one contract test.
type Case struct {
	Name string
	Fn   func(t *testing.T, s *S)
}

// Cases run in this order; TaskManagerLoss is last because it leaves the
// cluster without a TaskManager.
var Cases = []Case{
	{"ClusterInfo", testClusterInfo},
	{"SubmitWithJobID", testSubmitWithJobID},
	{"Savepoint", testSavepoint},
	{"CancelWithSavepoint", testCancelWithSavepoint},
	{"StopWithSavepointAndRestore", testStopWithSavepointAndRestore},
	{"FailingJobExceptions", testFailingJobExceptions},
	{"BatchJobFinishes", testBatchJobFinishes},
	{"NotFound", testNotFound},
	{"CheckpointRetention", testCheckpointRetention},
	{"RestoreFromMissingPath", testRestoreFromMissingPath},
	{"JobMetrics", testJobMetrics},
	{"TaskManagerLoss", testTaskManagerLoss},
}

// S is the state shared by the cases of one run.
type S struct {
	Target Target
	Client flinkclient.Interface
	URL    string
	// TLS is what every call to a JobManager behind TLS carries (TLSTarget); nil for plain HTTP.
	TLS *flinkclient.TLS
	// HTTP makes the suite's own requests, for endpoints the client lacks.
	HTTP *http.Client
}

// TLSTarget is a Target whose REST API serves HTTPS: the calls use TLS.
type TLSTarget interface {
	TLS() *flinkclient.TLS
}

// Run runs every Case against tg, in order.
func Run(t *testing.T, tg Target) {
	s := &S{
		Target: tg,
		Client: flinkclient.New(flinkclient.Options{Timeout: 10 * time.Second}),
		URL:    tg.BaseURL(),
	}
	s.HTTP = http.DefaultClient
	if tt, ok := tg.(TLSTarget); ok {
		s.TLS = tt.TLS()
		s.HTTP = &http.Client{Transport: flinkclient.NewTLSTransport(s.TLS.ClientConfig())}
	}
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Fn(t, s) })
	}
}

// fact logs an observation about the JobManager's behaviour; `go test -v`
// output grepped for "FACT" is what docs/flink-rest.md records.
func (s *S) fact(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("FACT %s: %s", s.Target.Name(), fmt.Sprintf(format, args...))
}

// ctxFor is a context for one case's calls, ended after d or with the test.
func (s *S) ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := s.timeout(d)
	t.Cleanup(cancel)
	return ctx
}

// timeout is a context for calls that ends after d.
func (s *S) timeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(flinkclient.WithTLS(context.Background(), s.TLS), d)
}

// submit submits a job and cancels it when the test ends (if still running).
func (s *S) submit(t *testing.T, ctx context.Context, a SubmitArgs) {
	t.Helper()
	start := time.Now()
	if err := s.Target.Submit(ctx, a); err != nil {
		t.Fatalf("submit %s: %v", a.JobID, err)
	}
	t.Logf("submitted %s in %s", a.JobID, time.Since(start).Round(10*time.Millisecond))
	t.Cleanup(func() { s.cancelIfRunning(a.JobID) })
}

func (s *S) cancelIfRunning(jobID string) {
	ctx, cancel := s.timeout(30 * time.Second)
	defer cancel()
	d, err := s.Client.GetJob(ctx, s.URL, jobID)
	if err != nil || d.State.IsGloballyTerminal() {
		return
	}
	_ = s.Client.CancelJob(ctx, s.URL, jobID)
	for ctx.Err() == nil {
		d, err := s.Client.GetJob(ctx, s.URL, jobID)
		if err != nil || d.State.IsGloballyTerminal() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitState polls GetJob until the job is in one of want; it fails early
// when the job reaches another globally terminal state. It returns the
// details and the distinct states seen, in order.
func (s *S) waitState(t *testing.T, ctx context.Context, jobID string, want ...flinkclient.JobState) (flinkclient.JobDetails, []flinkclient.JobState) {
	t.Helper()
	var seen []flinkclient.JobState
	var lastErr error
	for {
		d, err := s.Client.GetJob(ctx, s.URL, jobID)
		if err == nil {
			if len(seen) == 0 || seen[len(seen)-1] != d.State {
				seen = append(seen, d.State)
			}
			if slices.Contains(want, d.State) {
				return d, seen
			}
			if d.State.IsGloballyTerminal() {
				t.Fatalf("job %s reached %s, want %v (states seen %v)%s", jobID, d.State, want, seen, s.exceptionHint(jobID))
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s: waiting for %v: %v (states seen %v, last error %v)", jobID, want, ctx.Err(), seen, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *S) exceptionHint(jobID string) string {
	ctx, cancel := s.timeout(5 * time.Second)
	defer cancel()
	ex, err := s.Client.GetJobExceptions(ctx, s.URL, jobID)
	if err != nil || ex.RootException == "" {
		return ""
	}
	return "\nroot exception: " + firstLines(ex.RootException, 3)
}

// waitRunning waits until the job is RUNNING and every vertex is RUNNING.
func (s *S) waitRunning(t *testing.T, ctx context.Context, jobID string) (flinkclient.JobDetails, []flinkclient.JobState) {
	t.Helper()
	var seen []flinkclient.JobState
	for {
		d, states := s.waitState(t, ctx, jobID, flinkclient.JobStateRunning)
		seen = appendDistinct(seen, states...)
		all := len(d.Vertices) > 0
		for _, v := range d.Vertices {
			all = all && v.Status == "RUNNING"
		}
		if all {
			return d, seen
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s: vertices not all RUNNING: %+v", jobID, d.Vertices)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func appendDistinct(a []flinkclient.JobState, b ...flinkclient.JobState) []flinkclient.JobState {
	for _, x := range b {
		if len(a) == 0 || a[len(a)-1] != x {
			a = append(a, x)
		}
	}
	return a
}

// waitCounts waits until the output has a count >= min for each of keys keys.
func (s *S) waitCounts(t *testing.T, ctx context.Context, out string, keys int, min int64) Counts {
	t.Helper()
	for {
		cs, err := s.Target.ReadCounts(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		last := cs.Last()
		ok := len(last) >= keys
		for _, c := range last {
			ok = ok && c >= min
		}
		if ok {
			return cs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("output %s: want %d keys with count >= %d, have %v", out, keys, min, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pollOperation polls a savepoint or stop trigger until it is no longer in
// progress; it returns the final status and the distinct states seen.
func (s *S) pollOperation(t *testing.T, ctx context.Context, jobID, trigger string) (flinkclient.SavepointStatus, []flinkclient.OperationState) {
	t.Helper()
	var seen []flinkclient.OperationState
	for {
		st, err := s.Client.GetSavepointStatus(ctx, s.URL, jobID, trigger)
		if err != nil {
			t.Fatalf("savepoint status %s/%s: %v (states seen %v)", jobID, trigger, err, seen)
		}
		if len(seen) == 0 || seen[len(seen)-1] != st.State {
			seen = append(seen, st.State)
		}
		if st.State != flinkclient.OperationInProgress {
			return st, seen
		}
		select {
		case <-ctx.Done():
			t.Fatalf("savepoint %s/%s still in progress: %v", jobID, trigger, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkOperationStates asserts the only states seen are InProgress then
// Completed.
func checkOperationStates(t *testing.T, seen []flinkclient.OperationState) {
	t.Helper()
	if len(seen) == 0 || seen[len(seen)-1] != flinkclient.OperationCompleted {
		t.Fatalf("operation states %v, want [InProgress...] Completed", seen)
	}
	for _, st := range seen[:len(seen)-1] {
		if st != flinkclient.OperationInProgress {
			t.Fatalf("operation states %v, want [InProgress...] Completed", seen)
		}
	}
}

func (s *S) findJob(t *testing.T, ctx context.Context, jobID string) []flinkclient.JobOverview {
	t.Helper()
	jobs, err := s.Client.ListJobs(ctx, s.URL)
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	var found []flinkclient.JobOverview
	for _, j := range jobs {
		if j.ID == jobID {
			found = append(found, j)
		}
	}
	return found
}

func newID() string { return flinkclient.NewTriggerID() }

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// expectFailedOperation asserts a savepoint/stop trigger was accepted and
// the operation then ended Failed with a failure cause.
func (s *S) expectFailedOperation(t *testing.T, ctx context.Context, what, jobID, trigger string, err error) {
	t.Helper()
	if err != nil {
		s.fact(t, "%s: trigger rejected: %s", what, describeErr(err))
		t.Errorf("%s: trigger rejected (%v), want accepted and then failed", what, err)
		return
	}
	st, seen := s.pollOperation(t, ctx, jobID, trigger)
	if st.State != flinkclient.OperationFailed || st.Failure == nil {
		t.Errorf("%s: operation %+v (states %v), want Failed with a cause", what, st, seen)
		return
	}
	s.fact(t, "%s: trigger accepted, operation states %v, failure %s: %s", what, seen, st.Failure.Class,
		firstLines(st.Failure.StackTrace, 1))
}

// duplicateMessage picks the line naming Flink's duplicate-job exception
// out of a Submit error.
func duplicateMessage(err error) string {
	msg := firstLines(err.Error(), 1)
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.Contains(l, "Duplicate") && strings.Contains(l, "Exception") {
			msg = strings.TrimSpace(l)
			break
		}
	}
	if m := exitCodeRE.FindString(err.Error()); m != "" {
		msg += " (" + m + ")"
	}
	return msg
}

var exitCodeRE = regexp.MustCompile(`exit code \d+`)

// rawKeys returns the sorted top-level field names of the JSON object at
// path (or of its member field: the first element if that is an array).
func (s *S) rawKeys(t *testing.T, ctx context.Context, path, member string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil {
		return err.Error()
	}
	if member != "" {
		raw := obj[member]
		var arr []map[string]json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			if len(arr) == 0 {
				return "(empty)"
			}
			obj = arr[0]
		} else {
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(raw, &inner); err != nil {
				return err.Error()
			}
			obj = inner
		}
	}
	return strings.Join(slices.Sorted(maps.Keys(obj)), ",")
}

// describeErr names the client error class of err, for facts.
func describeErr(err error) string {
	var ue *flinkclient.UnexpectedResponseError
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, flinkclient.ErrJobNotFound):
		return "ErrJobNotFound (" + firstLines(err.Error(), 1) + ")"
	case errors.Is(err, flinkclient.ErrTriggerNotFound):
		return "ErrTriggerNotFound"
	case errors.Is(err, flinkclient.ErrCheckpointingDisabled):
		return "ErrCheckpointingDisabled"
	case errors.As(err, &ue):
		msg := ""
		if len(ue.FlinkErrors) > 0 {
			msg = firstLines(ue.FlinkErrors[0], 1)
		}
		return fmt.Sprintf("UnexpectedResponseError status %d %q", ue.StatusCode, msg)
	}
	return err.Error()
}

func testClusterInfo(t *testing.T, s *S) {
	ctx := s.ctxFor(t, time.Minute)
	ov, err := s.Client.GetOverview(ctx, s.URL)
	if err != nil {
		t.Fatalf("GetOverview: %v", err)
	}
	if ov.FlinkVersion != s.Target.FlinkVersion() || ov.TaskManagers < 1 || ov.SlotsTotal < 1 || ov.FlinkCommit == "" {
		t.Errorf("GetOverview = %+v, want version %s, >= 1 TaskManager and slot, a commit", ov, s.Target.FlinkVersion())
	}
	cfg, err := s.Client.GetConfig(ctx, s.URL)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if cfg.FlinkVersion != s.Target.FlinkVersion() || cfg.FlinkRevision == "" {
		t.Errorf("GetConfig = %+v, want version %s and a revision", cfg, s.Target.FlinkVersion())
	}
	if _, err := s.Client.ListJobs(ctx, s.URL); err != nil {
		t.Errorf("ListJobs: %v", err)
	}
	s.fact(t, "GET /overview flink-version=%q flink-commit=%q; GET /config flink-revision=%q", ov.FlinkVersion, ov.FlinkCommit, cfg.FlinkRevision)
}

func testSubmitWithJobID(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	out := s.Target.OutputPath("submit-" + id[:8])
	job := CounterJob{Name: "contract-submit", Rate: 20, Keys: 4, Out: out}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 2, Args: job.Args()})

	d, states := s.waitRunning(t, ctx, id)
	s.fact(t, "states until RUNNING: %v", states)
	if d.ID != id || d.Name != job.Name || d.JobType != s.jobType("STREAMING") || d.StartTime.Time().IsZero() || !d.EndTime.Time().IsZero() {
		t.Errorf("GetJob = id %s name %q type %q start %v end %v; want id %s name %q type %q, started, not ended",
			d.ID, d.Name, d.JobType, d.StartTime, d.EndTime, id, job.Name, s.jobType("STREAMING"))
	}
	for _, v := range d.Vertices {
		if v.Parallelism != 2 {
			t.Errorf("vertex %q parallelism %d, want 2 (-p 2)", v.Name, v.Parallelism)
		}
	}
	if found := s.findJob(t, ctx, id); len(found) != 1 || found[0].State != flinkclient.JobStateRunning {
		t.Errorf("ListJobs entries for %s: %+v, want one RUNNING", id, found)
	}
	s.waitCounts(t, ctx, out, job.Keys, 2)

	// The same job ID again, while the job runs: rejected, not run twice.
	dupOut := s.Target.OutputPath("submit-dup-" + id[:8])
	dup := job
	dup.Out = dupOut
	err := s.Target.Submit(ctx, SubmitArgs{JobID: id, Parallelism: 2, Args: dup.Args()})
	if !errors.Is(err, ErrDuplicateJob) {
		t.Fatalf("second submit with job ID %s: %v, want ErrDuplicateJob", id, err)
	}
	s.fact(t, "duplicate submit of a RUNNING job ID: %s", duplicateMessage(err))
	s.fact(t, "GET /jobs/{id} fields: %s", s.rawKeys(t, ctx, "/jobs/"+id, ""))
	s.fact(t, "GET /jobs/overview entry fields: %s", s.rawKeys(t, ctx, "/jobs/overview", "jobs"))
	if found := s.findJob(t, ctx, id); len(found) != 1 || found[0].State != flinkclient.JobStateRunning {
		t.Errorf("after the duplicate, ListJobs entries for %s: %+v, want still one RUNNING", id, found)
	}
	ov, err := s.Client.GetOverview(ctx, s.URL)
	if err != nil || ov.JobsRunning != 1 {
		t.Errorf("after the duplicate, GetOverview jobs-running = %d (%v), want 1", ov.JobsRunning, err)
	}
	time.Sleep(time.Second)
	if cs, _ := s.Target.ReadCounts(ctx, dupOut); len(cs) != 0 {
		t.Errorf("the rejected duplicate wrote %d COUNT lines", len(cs))
	}

	// Cancel: CANCELED.
	if err := s.Client.CancelJob(ctx, s.URL, id); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	d, states = s.waitState(t, ctx, id, flinkclient.JobStateCanceled)
	s.fact(t, "states after CancelJob: %v", states)
	if d.EndTime.Time().IsZero() {
		t.Errorf("canceled job has no end-time")
	}
	if found := s.findJob(t, ctx, id); len(found) != 1 || found[0].State != flinkclient.JobStateCanceled {
		t.Errorf("ListJobs entries for %s: %+v, want one CANCELED", id, found)
	}
	err = s.Client.CancelJob(ctx, s.URL, id)
	s.fact(t, "CancelJob of a CANCELED job: %s", describeErr(err))

	// The same job ID after the job ended: still a duplicate (the
	// JobManager remembers globally terminated jobs), so an operator needs a
	// new job ID per submission attempt.
	err = s.Target.Submit(ctx, SubmitArgs{JobID: id, Parallelism: 2, Args: dup.Args()})
	if !errors.Is(err, ErrDuplicateJob) {
		t.Errorf("submit with the job ID of a CANCELED job: %v, want ErrDuplicateJob", err)
	} else {
		s.fact(t, "submit with the job ID of a CANCELED job: %s", duplicateMessage(err))
	}
	if found := s.findJob(t, ctx, id); len(found) != 1 || found[0].State != flinkclient.JobStateCanceled {
		t.Errorf("after resubmitting a CANCELED ID, ListJobs entries for %s: %+v, want one CANCELED", id, found)
	}
}

func testSavepoint(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	out := s.Target.OutputPath("savepoint-" + id[:8])
	job := CounterJob{Name: "contract-savepoint", Rate: 20, Keys: 2, Out: out}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	s.waitRunning(t, ctx, id)
	s.waitCounts(t, ctx, out, job.Keys, 2)

	trigger := flinkclient.NewTriggerID()
	req := flinkclient.SavepointRequest{TargetDirectory: s.Target.SavepointDir(), TriggerID: trigger, FormatType: flinkclient.SavepointFormatCanonical}
	got, err := s.Client.TriggerSavepoint(ctx, s.URL, id, req)
	if err != nil {
		t.Fatalf("TriggerSavepoint: %v", err)
	}
	if got != trigger {
		t.Fatalf("TriggerSavepoint returned trigger %s, want the client-chosen %s", got, trigger)
	}
	st, seen := s.pollOperation(t, ctx, id, trigger)
	s.fact(t, "savepoint trigger states: %v; location %s", seen, st.Location)
	checkOperationStates(t, seen)
	if !s.Target.SavepointExists(st.Location) {
		t.Fatalf("savepoint location %q does not exist", st.Location)
	}

	// The same trigger ID again: the same operation, no second savepoint.
	cp1, err := s.Client.GetCheckpoints(ctx, s.URL, id)
	if err != nil {
		t.Fatalf("GetCheckpoints: %v", err)
	}
	again, err := s.Client.TriggerSavepoint(ctx, s.URL, id, req)
	if err != nil || again != trigger {
		t.Fatalf("repeated TriggerSavepoint: %s %v, want %s", again, err, trigger)
	}
	st2, _ := s.pollOperation(t, ctx, id, trigger)
	if st2.State != flinkclient.OperationCompleted || st2.Location != st.Location {
		t.Errorf("repeated trigger status %+v, want the first one's location %s", st2, st.Location)
	}
	cp2, err := s.Client.GetCheckpoints(ctx, s.URL, id)
	if err != nil {
		t.Fatalf("GetCheckpoints: %v", err)
	}
	if cp2.Counts.Total != cp1.Counts.Total {
		t.Errorf("repeated trigger ID took another savepoint: checkpoint total %d -> %d", cp1.Counts.Total, cp2.Counts.Total)
	}
	if cp2.LatestSavepoint == nil || cp2.LatestSavepoint.ExternalPath != st.Location || !cp2.LatestSavepoint.IsSavepoint {
		t.Errorf("GetCheckpoints latest savepoint = %+v, want external path %s", cp2.LatestSavepoint, st.Location)
	} else {
		s.fact(t, "GetCheckpoints after a savepoint: counts %+v, latest savepoint status=%q checkpoint_type=%q savepointFormat=%q",
			cp2.Counts, cp2.LatestSavepoint.Status, cp2.LatestSavepoint.CheckpointType, cp2.LatestSavepoint.SavepointFormat)
	}

	// No target directory: the cluster's configured savepoint directory.
	trigger2, err := s.Client.TriggerSavepoint(ctx, s.URL, id, flinkclient.SavepointRequest{})
	if err != nil {
		t.Fatalf("TriggerSavepoint without directory and trigger ID: %v", err)
	}
	st3, _ := s.pollOperation(t, ctx, id, trigger2)
	if st3.State != flinkclient.OperationCompleted || !s.Target.SavepointExists(st3.Location) {
		t.Errorf("savepoint to the default directory: %+v", st3)
	}

	// Dispose the first savepoint.
	dt, err := s.Client.DisposeSavepoint(ctx, s.URL, st.Location)
	if err != nil {
		t.Fatalf("DisposeSavepoint: %v", err)
	}
	var ds flinkclient.SavepointStatus
	for {
		ds, err = s.Client.GetDisposalStatus(ctx, s.URL, dt)
		if err != nil {
			t.Fatalf("GetDisposalStatus: %v", err)
		}
		if ds.State != flinkclient.OperationInProgress || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ds.State != flinkclient.OperationCompleted || s.Target.SavepointExists(st.Location) {
		t.Errorf("disposal: %+v, savepoint still exists: %v", ds, s.Target.SavepointExists(st.Location))
	}

	if d, err := s.Client.GetJob(ctx, s.URL, id); err != nil || d.State != flinkclient.JobStateRunning {
		t.Errorf("after savepoints the job is %s (%v), want RUNNING", d.State, err)
	}
}

func testCancelWithSavepoint(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	out := s.Target.OutputPath("cancelsp-" + id[:8])
	job := CounterJob{Name: "contract-cancel-savepoint", Rate: 20, Keys: 2, Out: out}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	s.waitRunning(t, ctx, id)
	s.waitCounts(t, ctx, out, job.Keys, 1)
	trigger := flinkclient.NewTriggerID()
	if _, err := s.Client.TriggerSavepoint(ctx, s.URL, id, flinkclient.SavepointRequest{
		TargetDirectory: s.Target.SavepointDir(), CancelJob: true, TriggerID: trigger}); err != nil {
		t.Fatalf("TriggerSavepoint(cancel-job): %v", err)
	}
	st, seen := s.pollOperation(t, ctx, id, trigger)
	checkOperationStates(t, seen)
	if !s.Target.SavepointExists(st.Location) {
		t.Errorf("savepoint location %q does not exist", st.Location)
	}
	_, states := s.waitState(t, ctx, id, flinkclient.JobStateCanceled)
	s.fact(t, "savepoint with cancel-job=true: job states %v", states)
}

func testStopWithSavepointAndRestore(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 4*time.Minute)
	id := newID()
	out := s.Target.OutputPath("stop-" + id[:8])
	job := CounterJob{Name: "contract-stop", Rate: 40, Keys: 4, Out: out, CheckpointMS: 2000}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 2, Args: job.Args()})
	s.waitRunning(t, ctx, id)
	s.waitCounts(t, ctx, out, job.Keys, 5)

	// The operator's own observation, as it records it before a stop.
	historyBefore := observer.ObserveCheckpoints(ctx, s.Client, s.URL, id)
	if !historyBefore.Read {
		t.Fatalf("the checkpoint history of a running job cannot be read")
	}
	trigger := flinkclient.NewTriggerID()
	got, err := s.Client.StopWithSavepoint(ctx, s.URL, id, flinkclient.StopRequest{TargetDirectory: s.Target.SavepointDir(), TriggerID: trigger})
	if err != nil || got != trigger {
		t.Fatalf("StopWithSavepoint: %s %v, want trigger %s", got, err, trigger)
	}
	st, seen := s.pollOperation(t, ctx, id, trigger)
	checkOperationStates(t, seen)
	if !s.Target.SavepointExists(st.Location) {
		t.Fatalf("stop savepoint location %q does not exist", st.Location)
	}
	d, states := s.waitState(t, ctx, id, flinkclient.JobStateFinished)
	s.fact(t, "stop-with-savepoint: trigger states %v, job states %v", seen, states)
	if d.EndTime.Time().IsZero() {
		t.Errorf("stopped job has no end-time")
	}
	// The operator confirms a stop whose trigger Flink forgot from the stopped job's checkpoint
	// history: a savepoint there above the highest ID seen before the stop must be the stop's.
	// Flink may complete the stop before its statistics record the savepoint (FLINK-38408), so the
	// history can lack it (seen once on 1.20.5); the operator then ends the stop Unconfirmed and
	// never takes an older savepoint for it. What must never happen is another savepoint there.
	historyAfter := s.stoppedJobHistory(ctx, id)
	switch {
	case !historyAfter.Read:
		t.Errorf("the stopped job's checkpoint history cannot be read")
	case historyAfter.LatestSavepointID > historyBefore.MaxID && historyAfter.LatestSavepointPath != st.Location:
		t.Errorf("stopped job's checkpoint history = %+v: a savepoint above %d that is not the stop's %s", historyAfter, historyBefore.MaxID, st.Location)
	case historyAfter.LatestSavepointID > historyBefore.MaxID:
		s.fact(t, "stopped job's checkpoint history: latest savepoint %d (%s) above %d", historyAfter.LatestSavepointID, historyAfter.LatestSavepointPath, historyBefore.MaxID)
	default:
		s.fact(t, "stopped job's checkpoint history lacks the stop's savepoint (%+v): the statistics race of FLINK-38408", historyAfter)
	}
	before, err := s.Target.ReadCounts(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	last := before.Last()

	// Restore into a new job ID; the counters continue where they stopped.
	id2 := newID()
	out2 := s.Target.OutputPath("restore-" + id2[:8])
	job2 := job
	job2.Out = out2
	s.submit(t, ctx, SubmitArgs{JobID: id2, Parallelism: 2, FromSavepoint: st.Location, AllowNonRestored: true, Args: job2.Args()})
	s.waitRunning(t, ctx, id2)
	after := s.waitCounts(t, ctx, out2, job.Keys, 1).First()
	for k, n := range last {
		if after[k] != n+1 {
			t.Errorf("key %s: stopped at count %d, restored job started at %d, want %d", k, n, after[k], n+1)
		}
	}
	s.fact(t, "restore from stop-with-savepoint: last counts before %v, first counts after %v", last, after)
	cp, err := s.Client.GetCheckpoints(ctx, s.URL, id2)
	if err != nil {
		t.Fatalf("GetCheckpoints of restored job: %v", err)
	}
	if cp.LatestRestored == nil || cp.LatestRestored.ExternalPath != st.Location || !cp.LatestRestored.IsSavepoint {
		t.Errorf("GetCheckpoints latest restored = %+v, want savepoint %s", cp.LatestRestored, st.Location)
	}
	if err := s.Client.CancelJob(ctx, s.URL, id2); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	s.waitState(t, ctx, id2, flinkclient.JobStateCanceled)
}

// stoppedJobHistory reads a stopped job's checkpoint history as the operator does, for a few
// seconds while it lacks a savepoint (the REST API may serve a cached graph briefly).
func (s *S) stoppedJobHistory(ctx context.Context, id string) fsm.CheckpointObservation {
	h := observer.ObserveCheckpoints(ctx, s.Client, s.URL, id)
	for i := 0; i < 10 && h.Read && h.LatestSavepointPath == ""; i++ {
		time.Sleep(500 * time.Millisecond)
		h = observer.ObserveCheckpoints(ctx, s.Client, s.URL, id)
	}
	return h
}

func testFailingJobExceptions(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	// Every attempt fails after 20 records; 2 restarts, then FAILED.
	job := CounterJob{Name: "contract-fail", Rate: 50, Keys: 2, Out: s.Target.OutputPath("fail-" + id[:8]), FailAfter: 20, Restarts: 2}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	_, states := s.waitState(t, ctx, id, flinkclient.JobStateFailed)
	s.fact(t, "failing job (2 restarts) states: %v", states)
	s.fact(t, "GET /jobs/{id}/exceptions fields: %s; exceptionHistory fields: %s", s.rawKeys(t, ctx, "/jobs/"+id+"/exceptions", ""),
		s.rawKeys(t, ctx, "/jobs/"+id+"/exceptions", "exceptionHistory"))
	ex, err := s.Client.GetJobExceptions(ctx, s.URL, id)
	if err != nil {
		t.Fatalf("GetJobExceptions: %v", err)
	}
	const msg = "intentional failure after 20 records"
	if !strings.Contains(ex.RootException, msg) || ex.Timestamp.Time().IsZero() {
		t.Errorf("root exception %q at %v, want it to contain %q", firstLines(ex.RootException, 2), ex.Timestamp, msg)
	}
	if len(ex.History) != 1+int(job.Restarts) {
		t.Errorf("%d exception history entries, want %d (one per failure)", len(ex.History), 1+job.Restarts)
	}
	for i, h := range ex.History {
		if !strings.Contains(h.Stacktrace, msg) || h.Timestamp.Time().IsZero() {
			t.Errorf("history entry %d: %s at %v, want a stack trace with %q", i, h.ExceptionName, h.Timestamp, msg)
		}
		if i > 0 && h.Timestamp > ex.History[i-1].Timestamp {
			t.Errorf("history not newest first: %v after %v", h.Timestamp, ex.History[i-1].Timestamp)
		}
		s.fact(t, "exception history [%d]: exceptionName=%q taskName=%q endpoint=%q taskManagerId set=%v",
			i, h.ExceptionName, h.TaskName, h.Endpoint, h.TaskManagerID != "")
	}
	if n := len(ex.History); n > 0 && !strings.Contains(ex.History[n-1].ExceptionName, "IllegalStateException") {
		t.Errorf("oldest history entry %q, want the job's IllegalStateException", ex.History[n-1].ExceptionName)
	}
}

func testBatchJobFinishes(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	out := s.Target.OutputPath("batch-" + id[:8])
	job := CounterJob{Name: "contract-batch", Rate: 1000, Keys: 4, Out: out, Bounded: 200}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	d, states := s.waitState(t, ctx, id, flinkclient.JobStateFinished)
	s.fact(t, "bounded batch job states: %v, job-type %q", states, d.JobType)
	if d.JobType != s.jobType("BATCH") {
		t.Errorf("job-type %q, want %q", d.JobType, s.jobType("BATCH"))
	}
	cs, err := s.Target.ReadCounts(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range cs.Last() {
		if n != job.Bounded/int64(job.Keys) {
			t.Errorf("key %s counted %d, want %d", k, n, job.Bounded/int64(job.Keys))
		}
	}
	// Savepoint and stop on a finished job are accepted (a trigger ID comes
	// back) and the operation then fails.
	tr, err := s.Client.TriggerSavepoint(ctx, s.URL, id, flinkclient.SavepointRequest{TargetDirectory: s.Target.SavepointDir(), TriggerID: newID()})
	s.expectFailedOperation(t, ctx, "TriggerSavepoint on a FINISHED job", id, tr, err)
	tr, err = s.Client.StopWithSavepoint(ctx, s.URL, id, flinkclient.StopRequest{TargetDirectory: s.Target.SavepointDir(), TriggerID: newID()})
	s.expectFailedOperation(t, ctx, "StopWithSavepoint on a FINISHED job", id, tr, err)
	err = s.Client.CancelJob(ctx, s.URL, id)
	s.fact(t, "CancelJob on a FINISHED job: %s", describeErr(err))
	_, err = s.Client.GetCheckpoints(ctx, s.URL, id)
	s.fact(t, "GetCheckpoints on a BATCH job: %s", describeErr(err))
	// The operator reads a job's end only after its checkpoint history: a batch job's must count
	// as read (empty), or a finished batch job would never be Succeeded.
	if h := observer.ObserveCheckpoints(ctx, s.Client, s.URL, id); !h.Read || h.LatestSavepointPath != "" {
		t.Errorf("the operator's observation of a finished BATCH job's checkpoint history = %+v, want read and empty", h)
	}
	if d, err := s.Client.GetJob(ctx, s.URL, id); err != nil || d.State != flinkclient.JobStateFinished {
		t.Errorf("after the operations the job is %s (%v), want still FINISHED", d.State, err)
	}
}

func testNotFound(t *testing.T, s *S) {
	ctx := s.ctxFor(t, time.Minute)
	unknown := newID()
	trigger := newID()
	check := func(what string, err error, want error) {
		t.Helper()
		s.fact(t, "%s on an unknown job/trigger: %s", what, describeErr(err))
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	_, err := s.Client.GetJob(ctx, s.URL, unknown)
	check("GetJob", err, flinkclient.ErrJobNotFound)
	_, err = s.Client.GetJobExceptions(ctx, s.URL, unknown)
	check("GetJobExceptions", err, flinkclient.ErrJobNotFound)
	_, err = s.Client.GetCheckpoints(ctx, s.URL, unknown)
	check("GetCheckpoints", err, flinkclient.ErrJobNotFound)
	err = s.Client.CancelJob(ctx, s.URL, unknown)
	check("CancelJob", err, flinkclient.ErrJobNotFound)
	_, err = s.Client.GetSavepointStatus(ctx, s.URL, unknown, trigger)
	check("GetSavepointStatus", err, flinkclient.ErrTriggerNotFound)
	_, err = s.Client.GetDisposalStatus(ctx, s.URL, trigger)
	check("GetDisposalStatus", err, flinkclient.ErrTriggerNotFound)

	// Savepoint and stop on an unknown job: accepted (202 with the trigger
	// ID), then the operation fails; there is no 404 at trigger time.
	tr, err := s.Client.TriggerSavepoint(ctx, s.URL, unknown, flinkclient.SavepointRequest{TargetDirectory: s.Target.SavepointDir(), TriggerID: trigger})
	s.expectFailedOperation(t, ctx, "TriggerSavepoint on an unknown job", unknown, tr, err)
	tr, err = s.Client.StopWithSavepoint(ctx, s.URL, unknown, flinkclient.StopRequest{TargetDirectory: s.Target.SavepointDir(), TriggerID: newID()})
	s.expectFailedOperation(t, ctx, "StopWithSavepoint on an unknown job", unknown, tr, err)

	// A path the JobManager does not know.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/no-such-endpoint", nil)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.fact(t, "GET /no-such-endpoint: status %d", resp.StatusCode)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-endpoint: status %d, want 404", resp.StatusCode)
	}
}

func testTaskManagerLoss(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	out := s.Target.OutputPath("tmloss-" + id[:8])
	job := CounterJob{Name: "contract-tm-loss", Rate: 20, Keys: 2, Out: out, CheckpointMS: 1000}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	s.waitRunning(t, ctx, id)
	s.waitCounts(t, ctx, out, job.Keys, 1)
	if err := s.Target.KillTaskManager(ctx); err != nil {
		t.Fatalf("KillTaskManager: %v", err)
	}
	// The JobManager notices (heartbeat) and records the loss in the
	// exception history; the job is not lost: it restarts and waits for
	// resources instead of ending.
	var states []flinkclient.JobState
	for {
		d, err := s.Client.GetJob(ctx, s.URL, id)
		if err != nil {
			t.Fatalf("GetJob after TaskManager loss: %v", err)
		}
		states = appendDistinct(states, d.State)
		if d.State.IsGloballyTerminal() {
			t.Fatalf("job ended with %s after a TaskManager loss (states %v)", d.State, states)
		}
		ex, err := s.Client.GetJobExceptions(ctx, s.URL, id)
		if err != nil {
			t.Fatalf("GetJobExceptions: %v", err)
		}
		if len(ex.History) > 0 {
			s.fact(t, "TaskManager killed: job states %v, exception %q: %s", states, ex.History[0].ExceptionName,
				firstLines(ex.History[0].Stacktrace, 1))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no exception recorded after a TaskManager loss (states %v)", states)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// testCheckpointRetention: what the job's code sets as its externalized-checkpoint retention is
// what the operator reads back from GET /jobs/{id}/checkpoints/config before it relies on
// retained checkpoints (a LastState update, a restart from the latest state).
func testCheckpointRetention(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 2*time.Minute)
	for _, tt := range []struct {
		retention string
		want      v1beta1.CheckpointRetention
	}{
		{"RETAIN_ON_CANCELLATION", v1beta1.CheckpointRetentionRetainOnCancellation},
		{"DELETE_ON_CANCELLATION", v1beta1.CheckpointRetentionDeleteOnCancellation},
		{"", v1beta1.CheckpointRetentionNotRetained},
	} {
		id := newID()
		job := CounterJob{Name: "contract-retention", Rate: 10, Keys: 2, Out: s.Target.OutputPath("retention-" + id[:8]),
			CheckpointMS: 1000, CheckpointRetention: tt.retention}
		s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
		s.waitRunning(t, ctx, id)
		got := observer.ObserveRetention(ctx, s.Client, s.URL, id)
		if !got.Read || got.Retention != tt.want {
			t.Errorf("retention %q in the job's code: the operator reads %+v, want %s", tt.retention, got, tt.want)
		}
		conf, err := s.Client.GetCheckpointConfig(ctx, s.URL, id)
		if err != nil || conf.Interval != 1000 {
			t.Errorf("GetCheckpointConfig: %+v %v, want interval 1000", conf, err)
		}
		s.fact(t, "checkpoint config with retention %q in the job's code: %+v", tt.retention, conf)
		s.cancelIfRunning(id)
	}
	// A job without checkpointing: the operator reads that it has none.
	id := newID()
	job := CounterJob{Name: "contract-no-checkpoints", Rate: 10, Keys: 2, Out: s.Target.OutputPath("nocp-" + id[:8])}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	s.waitRunning(t, ctx, id)
	conf, err := s.Client.GetCheckpointConfig(ctx, s.URL, id)
	s.fact(t, "GetCheckpointConfig without checkpointing: %+v %s", conf, describeErr(err))
	if got := observer.ObserveRetention(ctx, s.Client, s.URL, id); got.Retention != v1beta1.CheckpointRetentionCheckpointingDisabled {
		t.Errorf("a job without checkpointing: the operator reads %+v, want CheckpointingDisabled", got)
	}
}

// testRestoreFromMissingPath: a job submitted to restore from a path that does not exist fails,
// and the operator recognises from its exceptions that the restore source is missing (it then
// falls back to older state instead of resubmitting the same path for ever).
func testRestoreFromMissingPath(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 2*time.Minute)
	id := newID()
	missing := strings.TrimSuffix(s.Target.SavepointDir(), "/") + "/gone/chk-99"
	job := CounterJob{Name: "contract-missing", Rate: 10, Keys: 2, Out: s.Target.OutputPath("missing-" + id[:8])}
	err := s.Target.Submit(ctx, SubmitArgs{JobID: id, Parallelism: 1, FromSavepoint: missing, Args: job.Args()})
	s.fact(t, "flink run -s with a missing path: %v", err)
	d, states := s.waitState(t, ctx, id, flinkclient.JobStateFailed)
	s.fact(t, "a job restored from a missing path: states %v, end %v", states, d.EndTime)
	ex, err := s.Client.GetJobExceptions(ctx, s.URL, id)
	if err != nil {
		t.Fatalf("GetJobExceptions: %v", err)
	}
	if !observer.RestoreSourceMissing(ex.RootException) {
		t.Errorf("the failure of a job restored from %s does not read as a missing restore source: %q", missing, firstLines(ex.RootException, 12))
	}
}

// testJobMetrics: numRestarts and numberOfCompletedCheckpoints, the job metrics the operator's
// health check reads in one call, are integers that count the job's restarts (here a job that
// fails every few hundred records and is restarted by Flink); a metric the job does not have is
// left out of the answer, and a job the JobManager does not know answers no metrics, not an error.
func testJobMetrics(t *testing.T, s *S) {
	ctx := s.ctxFor(t, 3*time.Minute)
	id := newID()
	job := CounterJob{Name: "contract-metrics", Rate: 50, Keys: 2, Out: s.Target.OutputPath("metrics-" + id[:8]),
		FailAfter: 20, Restarts: 1000, CheckpointMS: 500}
	s.submit(t, ctx, SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	defer s.cancelIfRunning(id)
	names := []string{"numRestarts", "numberOfCompletedCheckpoints", "noSuchMetric"}
	var m map[string]string
	for {
		var err error
		if m, err = s.Client.GetJobMetrics(ctx, s.URL, id, names...); err != nil {
			t.Fatalf("GetJobMetrics: %v", err)
		}
		if n, err := strconv.ParseInt(m["numRestarts"], 10, 64); err == nil && n >= 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("numRestarts of a job restarting every few hundred records did not reach 2: %v", m)
		case <-time.After(500 * time.Millisecond):
		}
	}
	s.fact(t, "GET /jobs/{id}/metrics?get=numRestarts,numberOfCompletedCheckpoints,noSuchMetric: %v", m)
	if _, ok := m["noSuchMetric"]; ok {
		t.Errorf("an unknown metric was answered: %v", m)
	}
	if _, err := strconv.ParseInt(m["numberOfCompletedCheckpoints"], 10, 64); err != nil {
		t.Errorf("numberOfCompletedCheckpoints %q is not an integer", m["numberOfCompletedCheckpoints"])
	}
	unknown, err := s.Client.GetJobMetrics(ctx, s.URL, newID(), "numRestarts")
	s.fact(t, "GetJobMetrics on an unknown job: %v, %s", unknown, describeErr(err))
	if err != nil || len(unknown) != 0 {
		t.Errorf("GetJobMetrics on an unknown job: %v, %v; want no metrics and no error", unknown, err)
	}
}

// jobType is the job-type GET /jobs/{id} reports for a job of kind: Flink sends the field from 1.20
// on (the 1.19 contract run saw none); the operator reads nothing from it.
func (s *S) jobType(kind string) string {
	var major, minor int
	if _, err := fmt.Sscanf(s.Target.FlinkVersion(), "%d.%d", &major, &minor); err == nil && major == 1 && minor < 20 {
		return ""
	}
	return kind
}
