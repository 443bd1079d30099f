package contract

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/pkg/flinkclient/sim"
)

// TestSimulatedFlink runs the contract suite against the simulated
// JobManager, once per Flink version the real suite checks, so the
// simulator cannot drift from what real Flink was seen to do.
func TestSimulatedFlink(t *testing.T) {
	for _, v := range SimVersions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			tg := NewSimTarget(t, v)
			t.Run("CLIOptions", func(t *testing.T) { testSimCLIOptions(t, tg) })
			Run(t, tg)
		})
	}
}

// testSimCLIOptions makes the checks of realflink_test.go's testCLIOptions
// against the simulator's `flink run` parser: the long option forms, the
// JobManager address given only as -D rest.address/-D rest.port, and the
// removed -q/--sysoutLogging.
func testSimCLIOptions(t *testing.T, tg *SimTarget) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := url.Parse(tg.hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	id := newID()
	job := CounterJob{Name: "contract-cli", Rate: 10, Keys: 2, Out: tg.OutputPath("cli-" + id[:8])}
	args := append([]string{"flink", "run", "--detached",
		"-D", "rest.address=" + u.Hostname(), "-D", "rest.port=" + u.Port(),
		"--parallelism", "2", "--class", simClass,
		"-D", "$internal.pipeline.job-id=" + id, simJar}, job.Args()...)
	got, err := tg.RunCLI(args...)
	if err != nil {
		t.Fatalf("flink run with long options and -D rest.address/rest.port: %v", err)
	}
	if got != id {
		t.Fatalf("submitted as %q, want %s", got, id)
	}
	fc := flinkclient.New(flinkclient.Options{})
	d, err := fc.GetJob(ctx, tg.BaseURL(), id)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	for _, v := range d.Vertices {
		if v.Parallelism != 2 {
			t.Errorf("vertex %s parallelism %d, want 2", v.Name, v.Parallelism)
		}
	}
	if err := fc.CancelJob(ctx, tg.BaseURL(), id); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	for d.State != flinkclient.JobStateCanceled {
		time.Sleep(20 * time.Millisecond)
		if d, err = fc.GetJob(ctx, tg.BaseURL(), id); err != nil {
			t.Fatalf("GetJob: %v", err)
		}
	}

	for _, opt := range []string{"-q", "--sysoutLogging"} {
		_, err := tg.RunCLI("flink", "run", "-d", opt, simJar)
		if err == nil {
			t.Errorf("flink run %s: accepted, want rejected", opt)
			continue
		}
		if !errors.Is(err, sim.ErrBadCommand) {
			t.Errorf("flink run %s: %v, want a rejected command line", opt, err)
		}
		t.Logf("FACT %s: `flink run -d %s JAR`: %s", tg.Name(), opt, firstLines(err.Error(), 1))
	}
}

// TestSimCounterProgram checks SimTarget's CounterJob on hand-stepped
// simulated time: the COUNT lines follow the rate, a stop-with-savepoint's
// savepoint holds exactly the counts written and a restore continues from
// them, --fail-after fails each attempt and exhausts the restarts, and a
// TaskManager loss restores the latest checkpoint.
func TestSimCounterProgram(t *testing.T) {
	tg := NewSimTarget(t, SimVersions[0])
	ctx := context.Background()
	jm := tg.BaseURL()
	fc := flinkclient.New(flinkclient.Options{})
	tg.mu.Lock()
	now := tg.clock.Now()
	tg.simNow = func() time.Time { return now } // read under tg.mu
	tg.mu.Unlock()
	advance := func(d time.Duration) {
		tg.mu.Lock()
		now = now.Add(d)
		tg.mu.Unlock()
	}
	startup := simDelays.Initialize + simDelays.Deploy
	last := func(out string) (int, map[string]int64) {
		t.Helper()
		cs, err := tg.ReadCounts(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs), cs.Last()
	}
	submit := func(a SubmitArgs) {
		t.Helper()
		if err := tg.Submit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	state := func(id string) flinkclient.JobState {
		t.Helper()
		d, err := fc.GetJob(ctx, jm, id)
		if err != nil {
			t.Fatal(err)
		}
		return d.State
	}

	// 10 records/s over 3 keys: after 2 s, 20 lines, k0 and k1 at 7.
	id := newID()
	job := CounterJob{Name: "unit", Rate: 10, Keys: 3, Out: tg.OutputPath("unit")}
	submit(SubmitArgs{JobID: id, Parallelism: 1, Args: job.Args()})
	if info, _ := tg.Cluster().Job(id); info.Name != "unit" {
		t.Errorf("job name %q, want unit (from the program)", info.Name)
	}
	advance(startup + 2*time.Second)
	if n, m := last(job.Out); n != 20 || m["k0"] != 7 || m["k1"] != 7 || m["k2"] != 6 {
		t.Fatalf("after 2 s at 10/s: %d lines, counts %v; want 20, k0=7 k1=7 k2=6", n, m)
	}

	// Stop with savepoint: 5 more records until the savepoint, none after.
	trigger, err := fc.StopWithSavepoint(ctx, jm, id, flinkclient.StopRequest{TargetDirectory: tg.SavepointDir()})
	if err != nil {
		t.Fatal(err)
	}
	advance(simDelays.Savepoint + 10*time.Second)
	st, err := fc.GetSavepointStatus(ctx, jm, id, trigger)
	if err != nil || st.State != flinkclient.OperationCompleted || state(id) != flinkclient.JobStateFinished {
		t.Fatalf("stop: %+v %v, job %s", st, err, state(id))
	}
	n, before := last(job.Out)
	if n != 25 {
		t.Errorf("%d lines after the stop, want 25", n)
	}

	// Restore: each key continues at its count + 1.
	id2 := newID()
	job.Out = tg.OutputPath("unit-restored")
	submit(SubmitArgs{JobID: id2, Parallelism: 1, FromSavepoint: st.Location, Args: job.Args()})
	advance(startup + 300*time.Millisecond)
	cs, _ := tg.ReadCounts(ctx, job.Out)
	if first := cs.First(); len(cs) != 3 || first["k0"] != before["k0"]+1 || first["k1"] != before["k1"]+1 || first["k2"] != before["k2"]+1 {
		t.Errorf("restored counts %v, stopped at %v", cs, before)
	}
	if err := fc.CancelJob(ctx, jm, id2); err != nil {
		t.Fatal(err)
	}

	// --fail-after 5 --restarts 1 at 10/s: fails 0.6 s into each attempt.
	id3 := newID()
	failing := CounterJob{Name: "unit-fail", Rate: 10, Keys: 2, Out: tg.OutputPath("unit-fail"), FailAfter: 5, Restarts: 1}
	submit(SubmitArgs{JobID: id3, Parallelism: 1, Args: failing.Args()})
	t0 := now
	advance(startup + 600*time.Millisecond)
	if s := state(id3); s != flinkclient.JobStateRunning && s != flinkclient.JobStateRestarting {
		t.Fatalf("after the first failure the job is %s", s)
	}
	advance(simDelays.Deploy + 600*time.Millisecond)
	if s := state(id3); s != flinkclient.JobStateFailed {
		t.Fatalf("after the second failure the job is %s, want FAILED", s)
	}
	ex, err := fc.GetJobExceptions(ctx, jm, id3)
	if err != nil || len(ex.History) != 2 {
		t.Fatalf("exceptions %+v %v, want 2 entries", ex, err)
	}
	if got, want := ex.History[1].Timestamp.Time(), t0.Add(startup+600*time.Millisecond); !got.Equal(want.Truncate(time.Millisecond)) {
		t.Errorf("first failure at %v, want %v", got, want)
	}
	if n, _ := last(failing.Out); n != 10 {
		t.Errorf("%d lines from two attempts of 5 records, want 10", n)
	}

	// Checkpoints every second; a TaskManager loss 2.5 s after RUNNING
	// restores the checkpoint of 2 s: 15 records (the first 0.5 s deploy).
	id4 := newID()
	ck := CounterJob{Name: "unit-ckpt", Rate: 10, Keys: 1, Out: tg.OutputPath("unit-ckpt"), CheckpointMS: 1000}
	submit(SubmitArgs{JobID: id4, Parallelism: 1, Args: ck.Args()})
	advance(simDelays.Initialize + 2500*time.Millisecond)
	if err := tg.KillTaskManager(ctx); err != nil {
		t.Fatal(err)
	}
	advance(simDelays.Deploy + 100*time.Millisecond)
	cs, _ = tg.ReadCounts(ctx, ck.Out)
	if len(cs) != 21 || cs[19].Count != 20 || cs[20].Count != 16 {
		t.Errorf("COUNT lines %v: want 1..20, then 16 after restoring the checkpoint of 15", cs)
	}
	if s := state(id4); s != flinkclient.JobStateRunning {
		t.Errorf("after the TaskManager loss the job is %s, want RUNNING", s)
	}
}

// TestTaskManagerLossIsLast: a case after it would find no TaskManager on real Flink (JobMetrics
// once did, and its job never ran).
func TestTaskManagerLossIsLast(t *testing.T) {
	if got := Cases[len(Cases)-1].Name; got != "TaskManagerLoss" {
		t.Errorf("the last case is %s, want TaskManagerLoss", got)
	}
}
