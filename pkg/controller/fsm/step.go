package fsm

import (
	"fmt"
	"strings"
	"time"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// Step takes at most one transition: the first event, in priority order, that has a transition
// from the current state whose guard holds. Whatever happens, the raw Flink state is recorded.
func Step(in Input) Decision {
	st := *in.Status.DeepCopy()
	if st.State == "" {
		st.State = Pending
	}
	in.Status = st
	if in.Flink.Polled && in.Flink.Reachable && in.Flink.Found {
		st.FlinkJobState = in.Flink.State
	}
	recordCheckpointObservations(in, &st)
	in.Status = st
	d := Decision{}
	for _, ev := range detect(in) {
		t := find(st.State, ev, in)
		if t == nil {
			continue
		}
		from := st.State
		for _, e := range t.Do {
			d.Actions = append(d.Actions, e.Apply(in, &st)...)
		}
		st.State = t.To
		d.Transition, d.Event = t, ev
		d.Message = fmt.Sprintf("%s -> %s on %s", from, t.To, ev)
		break
	}
	if d.Transition != nil {
		explainNoRestart(in, &st)
	}
	d.Status = st
	d.RequeueAfter = requeueAfter(in, st)
	return d
}

// NeedsCheckpoints reports whether this step needs the job's checkpoint history, which costs one
// more REST call: to record the baseline of a stop it is about to trigger, to find the savepoint
// of a stop whose trigger Flink forgot, or to record the savepoint of a job stopped outside the
// operator. It asks the table: would a transition that reads the history be taken if it were read?
func NeedsCheckpoints(in Input) bool {
	if in.Checkpoints.Read {
		return false
	}
	probe := in
	probe.Checkpoints = CheckpointObservation{Read: true}
	t := Step(probe).Transition
	return t != nil && (t.Guard.needsHistory(probe) || t.On == StopUnconfirmed)
}

// explainNoRestart says why a failed or lost job that asked to be restarted stays down.
func explainNoRestart(in Input, st *v1beta1.JobStatus) {
	p := in.Spec.RestartPolicy
	if (st.State != Failed && st.State != Lost) || p == nil || *p == v1beta1.JobRestartPolicyNever || restartAllowed(in.Spec, *st) || UpdateStopUnconfirmed(*st) {
		return
	}
	why := "not restarted: restartPolicy FromSavepointOnFailure needs a savepoint and none is recorded"
	if *p == v1beta1.JobRestartPolicyFromLatestStateOnFailure {
		why = "not restarted: restartPolicy FromLatestStateOnFailure found no retained checkpoint or savepoint to restore"
	}
	if len(st.UnrestorableLocations) > 0 {
		why += " (Flink could not restore from " + strings.Join(st.UnrestorableLocations, ", ") + ")"
	}
	st.Message = strings.TrimPrefix(st.Message+"; ", "; ") + why
}

// find returns the transition for (state, event) whose guard holds.
func find(state State, ev Event, in Input) *Transition {
	for i := range Table {
		t := &Table[i]
		if t.From == state && t.On == ev && (t.Guard == nil || t.Guard.holds(in)) {
			return t
		}
	}
	return nil
}

// requeueAfter is when the job must be looked at again: Flink is polled at a fixed interval while
// a job lives, faster while a savepoint is in flight, and not at all once it ended (unless a
// restart is due).
func requeueAfter(in Input, st v1beta1.JobStatus) time.Duration {
	next := in
	next.Status = st
	switch st.State {
	case Submitting:
		return in.Settings.PollInterval
	case Savepointing, Cancelling, Failing, Updating, Suspending, Deleting:
		return in.Settings.SavepointPollInterval
	case Deploying:
		// Rebuilt children may already be ready (a change that touched only the submitter), in
		// which case no watch event would come: look again soon.
		return in.Settings.SavepointPollInterval
	case Running:
		return Sooner(in.Settings.PollInterval, untilScheduledSavepoint(next))
	case Failed, Lost:
		if revisionOnTrial(next) != "" {
			// A failed update is rolled back at once (the status write's watch event may be
			// the only other thing to bring the next sync).
			return time.Second
		}
		if restartAllowed(in.Spec, st) && st.EndTime != nil {
			return maxDuration(time.Second, st.EndTime.Add(restartBackoff(next)).Sub(in.Now))
		}
	}
	return 0
}

func untilScheduledSavepoint(in Input) time.Duration {
	next, ok := nextScheduledSavepoint(in)
	if !ok || savepointsDir(in.Spec) == "" {
		return 0
	}
	return maxDuration(time.Second, next.Sub(in.Now))
}

// Sooner is the sooner of two delays before another look, 0 meaning no need to look.
func Sooner(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
