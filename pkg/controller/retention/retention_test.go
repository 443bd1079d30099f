package retention

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// sp is a successful scheduled savepoint /sp/savepoint-N that ended N minutes after t0.
func sp(n int) v1beta1.SavepointOperation {
	end := metav1.NewTime(t0.Add(time.Duration(n) * time.Minute))
	return v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonScheduled, State: v1beta1.SavepointStateSucceeded,
		EndTime: &end, Location: fmt.Sprintf("file:/sp/savepoint-%d", n)}
}

func with(e v1beta1.SavepointOperation, change func(*v1beta1.SavepointOperation)) v1beta1.SavepointOperation {
	change(&e)
	return e
}

func disposal(state v1beta1.DisposalState, at time.Time, failures int32) func(*v1beta1.SavepointOperation) {
	return func(e *v1beta1.SavepointOperation) {
		ts := metav1.NewTime(at)
		e.Disposal = &v1beta1.SavepointDisposal{State: state, StartTime: &ts, Failures: failures}
		if state != v1beta1.DisposalStateInProgress {
			e.Disposal.EndTime = &ts
		}
	}
}

// newestFirst is a job status whose history holds the given savepoints (newest first) and whose
// savepointLocation is the newest successful one.
func newestFirst(h ...v1beta1.SavepointOperation) v1beta1.JobStatus {
	st := v1beta1.JobStatus{SavepointHistory: h}
	for _, e := range h {
		if e.State == v1beta1.SavepointStateSucceeded {
			st.SavepointLocation = e.Location
			break
		}
	}
	return st
}

func count(n int32) *v1beta1.SavepointRetention { return &v1beta1.SavepointRetention{MaxCount: &n} }

func age(s int64) *v1beta1.SavepointRetention { return &v1beta1.SavepointRetention{MaxAgeSeconds: &s} }

func input(p *v1beta1.SavepointRetention, st v1beta1.JobStatus, now time.Time) Input {
	return Input{Now: now, Policy: p, Before: st, Status: st, JobManagerUp: true, PollInterval: 2 * time.Second, Timeout: 10 * time.Minute}
}

func TestWhichSavepointIsDisposedOfNext(t *testing.T) {
	now := t0.Add(time.Hour)
	failedOp := with(sp(4), func(e *v1beta1.SavepointOperation) { e.State, e.Location = v1beta1.SavepointStateFailed, "" })
	external := with(sp(2), func(e *v1beta1.SavepointOperation) { e.Reason = v1beta1.SavepointReasonExternal })
	tests := []struct {
		name     string
		in       Input
		dispose  string
		requeue  time.Duration
		unchange bool
	}{
		{name: "no policy: nothing", in: input(nil, newestFirst(sp(5), sp(4), sp(3)), now), unchange: true},
		{name: "count 2 of 3: the oldest", in: input(count(2), newestFirst(sp(5), sp(4), sp(3)), now),
			dispose: "file:/sp/savepoint-3", requeue: 2 * time.Second},
		{name: "count 2 of 4: the oldest of the two beyond it first", in: input(count(2), newestFirst(sp(6), sp(5), sp(4), sp(3)), now),
			dispose: "file:/sp/savepoint-3", requeue: 2 * time.Second},
		{name: "count 2 of 2: nothing", in: input(count(2), newestFirst(sp(5), sp(4)), now), unchange: true},
		{name: "failed operations do not count", in: input(count(2), newestFirst(sp(5), failedOp, sp(3)), now), unchange: true},
		{name: "external savepoints neither count nor go", in: input(count(1), newestFirst(sp(5), sp(3), external, sp(1)), now),
			dispose: "file:/sp/savepoint-1", requeue: 2 * time.Second},
		{name: "disposed ones do not count", in: input(count(2), newestFirst(sp(5), sp(4),
			with(sp(3), disposal(v1beta1.DisposalStateDisposed, t0, 0)), sp(2)), now), dispose: "file:/sp/savepoint-2", requeue: 2 * time.Second},
		{name: "the current attempt's source stays (and counts)", in: func() Input {
			st := newestFirst(sp(5), sp(4), sp(3))
			st.FromSavepoint = "file:/sp/savepoint-3"
			return input(count(1), st, now)
		}(), dispose: "file:/sp/savepoint-4", requeue: 2 * time.Second},
		{name: "spec.job.fromSavepoint stays, however written", in: func() Input {
			in := input(count(1), newestFirst(sp(5), sp(4)), now)
			in.SpecFromSavepoint = "file:///sp/savepoint-4/"
			return in
		}(), unchange: true},
		{name: "a restore's target stays", in: func() Input {
			st := newestFirst(sp(5), sp(4))
			st.RestoreTarget = "/sp/savepoint-4"
			return input(count(1), st, now)
		}(), unchange: true},
		{name: "the latest checkpoint record and its fallbacks stay when a policy resumes from them", in: func() Input {
			st := newestFirst(sp(5), sp(4), sp(3))
			st.LatestCheckpoint = &v1beta1.CheckpointRecord{Location: "file:/sp/savepoint-4", Older: []v1beta1.CheckpointRef{{ID: 1, Location: "file:/sp/savepoint-3"}}}
			in := input(count(1), st, now)
			in.LatestState = true
			return in
		}(), unchange: true},
		{name: "a latest checkpoint record no policy reads does not hold a savepoint", in: func() Input {
			st := newestFirst(sp(5), sp(4))
			st.LatestCheckpoint = &v1beta1.CheckpointRecord{Location: "file:/sp/savepoint-4"}
			return input(count(1), st, now)
		}(), dispose: "file:/sp/savepoint-4", requeue: 2 * time.Second},
		{name: "savepointLocation stays even when newer savepoints exist", in: func() Input {
			st := newestFirst(sp(5), sp(4))
			st.SavepointLocation = "file:/sp/savepoint-4"
			return input(count(1), st, now)
		}(), unchange: true},
		{name: "the newest successful one stays whatever its age", in: input(age(60), newestFirst(sp(5)), now), unchange: true},
		{name: "by age: the oldest past it", in: input(age(30*60), newestFirst(sp(50), sp(20), sp(10)), now),
			dispose: "file:/sp/savepoint-10", requeue: 2 * time.Second},
		{name: "by age: none past it yet, look again when one is", in: input(age(30*60), newestFirst(sp(50), sp(40)), now),
			requeue: 10 * time.Minute, unchange: true},
		{name: "count or age, whichever disposes", in: input(&v1beta1.SavepointRetention{MaxCount: ptr.To[int32](5), MaxAgeSeconds: ptr.To[int64](30 * 60)},
			newestFirst(sp(50), sp(20)), now), dispose: "file:/sp/savepoint-20", requeue: 2 * time.Second},
		{name: "JobManager down: nothing starts", in: func() Input {
			in := input(count(1), newestFirst(sp(5), sp(4)), now)
			in.JobManagerUp = false
			return in
		}(), unchange: true},
		{name: "a failed disposal waits for its backoff", in: input(count(1), newestFirst(sp(5),
			with(sp(4), disposal(v1beta1.DisposalStateFailed, now.Add(-90*time.Second), 2))), now), requeue: 30 * time.Second, unchange: true},
		{name: "a failed disposal is tried again after its backoff", in: input(count(1), newestFirst(sp(5),
			with(sp(4), disposal(v1beta1.DisposalStateFailed, now.Add(-2*time.Minute), 2))), now), dispose: "file:/sp/savepoint-4", requeue: 2 * time.Second},
		{name: "one in backoff does not hold back the next", in: input(count(1), newestFirst(sp(5), sp(4),
			with(sp(3), disposal(v1beta1.DisposalStateFailed, now, 1))), now), dispose: "file:/sp/savepoint-4", requeue: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Step(tt.in)
			assert.Equal(t, tt.dispose, out.Dispose)
			assert.Equal(t, tt.requeue, out.RequeueAfter)
			assert.Empty(t, out.Notices)
			if tt.unchange {
				assert.Equal(t, tt.in.Status.SavepointHistory, out.History)
				return
			}
			var started []string
			for i, e := range out.History {
				if e.Disposal != nil && e.Disposal.State == v1beta1.DisposalStateInProgress {
					started = append(started, e.Location)
					assert.Equal(t, now, e.Disposal.StartTime.Time)
					if old := tt.in.Status.SavepointHistory[i].Disposal; old != nil {
						assert.Equal(t, old.Failures, e.Disposal.Failures, "failures are kept for the backoff")
					}
				}
			}
			assert.Equal(t, []string{tt.dispose}, started, "recorded InProgress before the trigger")
		})
	}
}

func TestTheDisposalInFlight(t *testing.T) {
	started := t0.Add(time.Hour)
	now := started.Add(5 * time.Second)
	flying := newestFirst(sp(5), with(sp(4), disposal(v1beta1.DisposalStateInProgress, started, 1)))
	tests := []struct {
		name     string
		obs      Observation
		up       bool
		now      time.Time
		state    v1beta1.DisposalState
		failures int32
		message  string
		dispose  string
		requeue  time.Duration
		notice   string
	}{
		{name: "still running", obs: Observation{Known: true, Polled: true}, up: true,
			state: v1beta1.DisposalStateInProgress, failures: 1, requeue: 2 * time.Second},
		{name: "a poll that fails once waits", obs: Observation{Known: true}, up: true,
			state: v1beta1.DisposalStateInProgress, failures: 1, requeue: 2 * time.Second},
		{name: "disposed", obs: Observation{Known: true, Polled: true, Done: true}, up: true,
			state: v1beta1.DisposalStateDisposed, failures: 1, notice: "SavepointDisposed disposed of savepoint file:/sp/savepoint-4"},
		{name: "nothing there any more: disposed", obs: Observation{Known: true, Polled: true, Done: true, Failure: "FileNotFoundException", Gone: true}, up: true,
			state: v1beta1.DisposalStateDisposed, failures: 1, message: "found nothing at this path",
			notice: "SavepointDisposed savepoint file:/sp/savepoint-4 was gone already"},
		{name: "failed: backoff doubles", obs: Observation{Known: true, Polled: true, Done: true, Failure: "AccessDeniedException: s3"}, up: true,
			state: v1beta1.DisposalStateFailed, failures: 2, message: "could not dispose of it: AccessDeniedException: s3", requeue: 2 * time.Minute,
			notice: "SavepointDisposalFailed disposal 2 of savepoint file:/sp/savepoint-4 failed: the JobManager could not dispose of it: AccessDeniedException: s3; trying again in 2m0s"},
		{name: "a disposal that outlives its timeout fails", obs: Observation{Known: true, Polled: true}, up: true, now: started.Add(10*time.Minute + time.Second),
			state: v1beta1.DisposalStateFailed, failures: 2, message: "did not end within 10m0s", requeue: 2 * time.Minute,
			notice: "SavepointDisposalFailed disposal 2 of savepoint file:/sp/savepoint-4 failed"},
		{name: "unknown trigger (operator restarted): triggered again", obs: Observation{}, up: true,
			state: v1beta1.DisposalStateInProgress, failures: 1, dispose: "file:/sp/savepoint-4", requeue: 2 * time.Second},
		{name: "JobManager forgot it (restarted): triggered again", obs: Observation{Known: true, Polled: true, NotFound: true}, up: true,
			state: v1beta1.DisposalStateInProgress, failures: 1, dispose: "file:/sp/savepoint-4", requeue: 2 * time.Second},
		{name: "unknown trigger, JobManager down: waits", obs: Observation{}, up: false,
			state: v1beta1.DisposalStateInProgress, failures: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(count(1), flying, now)
			if !tt.now.IsZero() {
				in.Now = tt.now
			}
			in.Disposal, in.JobManagerUp = tt.obs, tt.up
			out := Step(in)
			d := out.History[1].Disposal
			assert.Equal(t, tt.state, d.State)
			assert.Equal(t, tt.failures, d.Failures)
			assert.Contains(t, d.Message, tt.message)
			assert.Equal(t, started, d.StartTime.Time, "a repeated trigger keeps the attempt's start (its timeout)")
			assert.Equal(t, tt.dispose, out.Dispose)
			assert.Equal(t, tt.requeue, out.RequeueAfter)
			if tt.notice == "" {
				assert.Empty(t, out.Notices)
			} else if assert.Len(t, out.Notices, 1) {
				n := out.Notices[0]
				assert.Contains(t, n.Reason+" "+n.Message, tt.notice)
				assert.Equal(t, tt.state == v1beta1.DisposalStateFailed, n.Warning)
			}
			assert.Nil(t, flying.SavepointHistory[1].Disposal.EndTime, "the input is not changed")
		})
	}
}

// TestADisposalPutToUseIsNotTriggeredAgain: a restore that names a savepoint whose disposal is in
// flight cannot stop Flink's disposal, but a restarted operator does not trigger it again, and
// the entry is never due again while it is in use.
func TestADisposalPutToUseIsNotTriggeredAgain(t *testing.T) {
	now := t0.Add(time.Hour)
	st := newestFirst(sp(5), with(sp(4), disposal(v1beta1.DisposalStateInProgress, now, 0)))
	in := input(count(1), st, now)
	in.SpecFromSavepoint = "file:/sp/savepoint-4"
	out := Step(in)
	assert.Empty(t, out.Dispose)
	d := out.History[1].Disposal
	assert.Equal(t, v1beta1.DisposalStateFailed, d.State)
	assert.Contains(t, d.Message, "in use now")
	if assert.Len(t, out.Notices, 1) {
		assert.True(t, out.Notices[0].Warning)
	}
	in.Status.SavepointHistory, in.Now = out.History, now.Add(time.Hour)
	assert.Empty(t, Step(in).Dispose, "not due while in use, backoff or not")
}

func TestOnlyOneDisposalAtATime(t *testing.T) {
	now := t0.Add(time.Hour)
	st := newestFirst(sp(5), sp(4), with(sp(3), disposal(v1beta1.DisposalStateInProgress, now, 0)), sp(2))
	out := Step(Input{Now: now, Policy: count(1), Before: st, Status: st, JobManagerUp: true, Disposal: Observation{Known: true, Polled: true},
		PollInterval: time.Second, Timeout: time.Minute})
	assert.Empty(t, out.Dispose)
	assert.Equal(t, time.Second, out.RequeueAfter)
}

func TestARemovedPolicyFinishesTheDisposalInFlightAndStartsNoOther(t *testing.T) {
	now := t0.Add(time.Hour)
	st := newestFirst(sp(5), with(sp(4), disposal(v1beta1.DisposalStateInProgress, now, 0)), sp(3))
	out := Step(Input{Now: now, Before: st, Status: st, JobManagerUp: true, Disposal: Observation{Known: true, Polled: true, Done: true}})
	assert.Equal(t, v1beta1.DisposalStateDisposed, out.History[1].Disposal.State)
	out = Step(Input{Now: now, Before: st, Status: v1beta1.JobStatus{SavepointHistory: out.History}, JobManagerUp: true})
	assert.Empty(t, out.Dispose)
}

func TestASavepointDueForDisposalThatLeavesTheHistoryIsReported(t *testing.T) {
	now := t0.Add(time.Hour)
	before := newestFirst(sp(12), sp(11), sp(10), sp(9), sp(8), sp(7), sp(6), sp(5), sp(4),
		with(sp(3), disposal(v1beta1.DisposalStateFailed, now, 3)))
	after := newestFirst(append([]v1beta1.SavepointOperation{sp(13)}, before.SavepointHistory[:9]...)...)
	in := input(count(5), after, now)
	in.Before = before
	in.JobManagerUp = false
	out := Step(in)
	if assert.Len(t, out.Notices, 1) {
		assert.Equal(t, fsm.Notice{Warning: true, Reason: NoticeNotDisposed, Message: "savepoint file:/sp/savepoint-3 left the status history " +
			"(ten newer savepoint operations) before the operator could dispose of it; delete it by hand"}, out.Notices[0])
	}
	in.Before = after
	assert.Empty(t, Step(in).Notices, "once")
}

func TestRetryDelay(t *testing.T) {
	for failures, want := range map[int32]time.Duration{0: time.Minute, 1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		7: 64 * time.Minute, 8: time.Hour, 100: time.Hour} {
		assert.Equal(t, min(want, time.Hour), RetryDelay(failures), "failures %d", failures)
	}
}
