// Package retention decides which of the operator's own savepoints spec.job.savepointRetention
// disposes of, one at a time, oldest first, and records each disposal on its entry of the
// savepoint history. It is pure: the observer polls the disposal in flight, the updater triggers
// the next one (Flink's REST disposal, so the JobManager's file systems and credentials are used).
package retention

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
)

// The reasons of the retention's events.
const (
	NoticeDisposed      = "SavepointDisposed"
	NoticeDisposeFailed = "SavepointDisposalFailed"
	// NoticeNotDisposed: a savepoint due for disposal left the history (ten newer savepoint
	// operations) before it could be disposed of; it is the user's to delete.
	NoticeNotDisposed = "SavepointNotDisposed"
)

// Backoff after failed disposals: FirstRetryDelay, doubling per failure, at most MaxRetryDelay.
const (
	FirstRetryDelay = time.Minute
	MaxRetryDelay   = time.Hour
)

// Observation is what the observer learnt about the disposal in flight.
type Observation struct {
	// Known: this operator process triggered it and holds its trigger ID (a restarted operator
	// does not: it triggers the disposal again).
	Known bool
	// Polled: the JobManager answered about it.
	Polled bool
	// NotFound: the JobManager does not know the trigger (it restarted).
	NotFound bool
	// Done: it ended; Failure says why it failed ("" when it succeeded).
	Done    bool
	Failure string
	// Gone: the failure says there is nothing at the savepoint's path.
	Gone bool
}

// Input is what one retention step looks at.
type Input struct {
	Now    time.Time
	Policy *v1beta1.SavepointRetention
	// Before is the job's status before the sync's step, Status after it (the step may have
	// added a savepoint to the history, and pushed the oldest out).
	Before, Status v1beta1.JobStatus
	// SpecFromSavepoint is spec.job.fromSavepoint ("" when unset): never disposed.
	SpecFromSavepoint string
	// LatestState: a policy of the job, or the update in flight, resumes from the latest
	// checkpoint record, whose locations are then never disposed of.
	LatestState bool
	// JobManagerUp: the JobManager runs and may be asked.
	JobManagerUp bool
	Disposal     Observation
	// PollInterval spaces the polls of a disposal in flight; Timeout fails one that has not
	// ended (the savepoint poll interval and timeout).
	PollInterval, Timeout time.Duration
}

// Outcome is the retention's part of a sync.
type Outcome struct {
	// History is the savepoint history with the disposals' progress.
	History []v1beta1.SavepointOperation
	// Dispose is the savepoint to trigger the disposal of now ("" none).
	Dispose string
	Notices []fsm.Notice
	// RequeueAfter is when the retention needs another look (0: no need).
	RequeueAfter time.Duration
}

// Step advances the disposal in flight, or starts the next one that is due.
func Step(in Input) Outcome {
	out := Outcome{History: copyHistory(in.Status.SavepointHistory)}
	out.Notices = forgotten(in)
	if i := inFlight(out.History); i >= 0 {
		advance(in, &out, i)
		return out
	}
	if in.Policy == nil {
		return out
	}
	start(in, &out)
	return out
}

// advance records what the JobManager said about the disposal of entry i.
func advance(in Input, out *Outcome, i int) {
	e := &out.History[i]
	d := e.Disposal
	obs := in.Disposal
	switch {
	case obs.Done && (obs.Failure == "" || obs.Gone):
		d.State, d.EndTime, d.Message = v1beta1.DisposalStateDisposed, stamp(in.Now), ""
		msg := "disposed of savepoint " + e.Location + " (spec.job.savepointRetention)"
		if obs.Failure != "" {
			d.Message = "the JobManager found nothing at this path: disposed of already, or deleted by hand"
			msg = "savepoint " + e.Location + " was gone already: " + d.Message
		}
		out.Notices = append(out.Notices, fsm.Notice{Reason: NoticeDisposed, Message: msg})
	case obs.Done:
		fail(in, out, i, "the JobManager could not dispose of it: "+obs.Failure)
	case d.StartTime != nil && in.Now.Sub(d.StartTime.Time) > in.Timeout:
		fail(in, out, i, fmt.Sprintf("the disposal did not end within %s", in.Timeout))
	case (!obs.Known || obs.NotFound) && in.keep(in.Status).has(e.Location):
		// Put to use since (a restore names it): never triggered again. The first trigger may
		// have deleted some of it, which the message says.
		d.State, d.EndTime = v1beta1.DisposalStateFailed, stamp(in.Now)
		d.Message = "not triggered again: the savepoint is in use now (a restore's source or spec.job.fromSavepoint); " +
			"the disposal triggered before may have deleted part of it"
		out.Notices = append(out.Notices, fsm.Notice{Warning: true, Reason: NoticeDisposeFailed, Message: "savepoint " + e.Location + ": " + d.Message})
	case (!obs.Known || obs.NotFound) && in.JobManagerUp:
		// Triggered again: if the first disposal ended meanwhile, this one finds nothing there
		// (Gone), which is the same outcome.
		out.Dispose, out.RequeueAfter = e.Location, in.PollInterval
	case in.JobManagerUp:
		out.RequeueAfter = in.PollInterval
	}
}

func fail(in Input, out *Outcome, i int, msg string) {
	e := &out.History[i]
	d := e.Disposal
	d.State, d.EndTime, d.Message = v1beta1.DisposalStateFailed, stamp(in.Now), msg
	d.Failures++
	retry := RetryDelay(d.Failures)
	out.Notices = append(out.Notices, fsm.Notice{Warning: true, Reason: NoticeDisposeFailed, Message: fmt.Sprintf(
		"disposal %d of savepoint %s failed: %s; trying again in %s", d.Failures, e.Location, msg, retry)})
	out.RequeueAfter = retry
}

// RetryDelay is the wait after the n-th failed disposal of a savepoint.
func RetryDelay(failures int32) time.Duration {
	d := FirstRetryDelay
	for n := int32(1); n < failures && d < MaxRetryDelay; n++ {
		d *= 2
	}
	return min(d, MaxRetryDelay)
}

// start triggers the disposal of the oldest due savepoint whose backoff has passed, and asks to
// look again when the next one falls due (by age or backoff).
func start(in Input, out *Outcome) {
	due, next := dueEntries(in.Policy, in.Status, in.keep(in.Status), in.Now)
	out.RequeueAfter = next
	for k := len(due) - 1; k >= 0; k-- {
		e := &out.History[due[k]]
		if wait := backoffLeft(e.Disposal, in.Now); wait > 0 {
			out.RequeueAfter = fsm.Sooner(out.RequeueAfter, wait)
			continue
		}
		if !in.JobManagerUp {
			// The JobManager's readiness is watched: it brings the sync that starts it.
			return
		}
		failures := int32(0)
		if e.Disposal != nil {
			failures = e.Disposal.Failures
		}
		e.Disposal = &v1beta1.SavepointDisposal{State: v1beta1.DisposalStateInProgress, StartTime: stamp(in.Now), Failures: failures}
		out.Dispose, out.RequeueAfter = e.Location, in.PollInterval
		return
	}
}

func backoffLeft(d *v1beta1.SavepointDisposal, now time.Time) time.Duration {
	if d == nil || d.State != v1beta1.DisposalStateFailed || d.EndTime == nil {
		return 0
	}
	return d.EndTime.Add(RetryDelay(d.Failures)).Sub(now)
}

// dueEntries are the indexes (newest first) of the history's savepoints the policy disposes of
// at now, and how long until the next one falls due by age (0: none will).
func dueEntries(p *v1beta1.SavepointRetention, st v1beta1.JobStatus, keep locations, now time.Time) ([]int, time.Duration) {
	if p == nil {
		return nil, 0
	}
	var due []int
	var next time.Duration
	kept := int32(0)
	for i, e := range st.SavepointHistory {
		if !owned(e) {
			continue
		}
		kept++
		if keep.has(e.Location) {
			continue
		}
		overCount := p.MaxCount != nil && kept > *p.MaxCount
		age := ageLeft(p, e, now)
		if overCount || age <= 0 {
			due = append(due, i)
		} else if p.MaxAgeSeconds != nil {
			next = fsm.Sooner(next, age)
		}
	}
	return due, next
}

// ageLeft is how long until e is older than the policy's maximum age (positive: not yet; a
// large value when the policy has none).
func ageLeft(p *v1beta1.SavepointRetention, e v1beta1.SavepointOperation, now time.Time) time.Duration {
	if p.MaxAgeSeconds == nil || e.EndTime == nil {
		return time.Duration(1<<63 - 1)
	}
	return e.EndTime.Add(time.Duration(*p.MaxAgeSeconds) * time.Second).Sub(now)
}

// owned: a successful savepoint the operator took that has not been disposed of. Savepoints
// taken outside the operator (External) are never its to dispose of.
func owned(e v1beta1.SavepointOperation) bool {
	return e.State == v1beta1.SavepointStateSucceeded && e.Location != "" && e.Reason != v1beta1.SavepointReasonExternal &&
		(e.Disposal == nil || e.Disposal.State != v1beta1.DisposalStateDisposed)
}

// locations is a set of savepoint paths compared the way Flink writes them ("file:/x",
// "file:///x" and "/x" are one path).
type locations map[string]bool

func (l locations) add(path string) {
	if path != "" {
		l[normalize(path)] = true
	}
}

func (l locations) has(path string) bool { return l[normalize(path)] }

func normalize(path string) string {
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		path = "/" + strings.TrimLeft(rest, "/")
	}
	return strings.TrimRight(path, "/")
}

// keep is what no retention disposes of in st: the newest successful savepoint, the one
// restarts and resumes use (savepointLocation), the current attempt's source (it restores from
// it again when Flink restarts it before its first checkpoint), a restore's target,
// spec.job.fromSavepoint (the user's, and what the next restore request reads), and, when a
// policy resumes from the latest state, the latest checkpoint record and its fallbacks, and what
// a rollback restores the stable revision from.
func (in Input) keep(st v1beta1.JobStatus) locations {
	keep := locations{}
	for _, e := range st.SavepointHistory {
		if e.State == v1beta1.SavepointStateSucceeded && e.Location != "" {
			keep.add(e.Location)
			break
		}
	}
	keep.add(st.SavepointLocation)
	keep.add(st.FromSavepoint)
	keep.add(st.RestoreTarget)
	keep.add(in.SpecFromSavepoint)
	if st.Rollback != nil {
		keep.add(st.Rollback.RestoreFrom)
	}
	if rec := st.LatestCheckpoint; rec != nil && in.LatestState {
		keep.add(rec.Location)
		for _, o := range rec.Older {
			keep.add(o.Location)
		}
	}
	return keep
}

// forgotten reports the savepoints that were due for disposal, or being disposed of, and that
// the step pushed out of the history: the operator no longer knows them.
func forgotten(in Input) []fsm.Notice {
	if len(in.Before.SavepointHistory) == 0 {
		return nil
	}
	now := locations{}
	for _, e := range in.Status.SavepointHistory {
		now.add(e.Location)
	}
	due, _ := dueEntries(in.Policy, in.Before, in.keep(in.Before), in.Now)
	pending := map[int]bool{}
	for _, i := range due {
		pending[i] = true
	}
	var out []fsm.Notice
	for i, e := range in.Before.SavepointHistory {
		awaiting := e.Disposal != nil && e.Disposal.State != v1beta1.DisposalStateDisposed
		if (pending[i] || awaiting) && !now.has(e.Location) {
			out = append(out, fsm.Notice{Warning: true, Reason: NoticeNotDisposed, Message: fmt.Sprintf(
				"savepoint %s left the status history (ten newer savepoint operations) before the operator could dispose of it; delete it by hand", e.Location)})
		}
	}
	return out
}

func inFlight(h []v1beta1.SavepointOperation) int {
	for i, e := range h {
		if e.Disposal != nil && e.Disposal.State == v1beta1.DisposalStateInProgress {
			return i
		}
	}
	return -1
}

func copyHistory(h []v1beta1.SavepointOperation) []v1beta1.SavepointOperation {
	if h == nil {
		return nil
	}
	out := make([]v1beta1.SavepointOperation, len(h))
	for i := range h {
		h[i].DeepCopyInto(&out[i])
	}
	return out
}

func stamp(t time.Time) *metav1.Time {
	m := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &m
}
