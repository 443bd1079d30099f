package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// stopStates are the states that run a stop with a savepoint, with the stop's reason.
var stopStates = []struct {
	state  State
	reason v1beta1.SavepointReason
}{
	{Updating, v1beta1.SavepointReasonUpdate},
	{Cancelling, v1beta1.SavepointReasonCancel},
	{Deleting, v1beta1.SavepointReasonDelete},
}

// stopping is a job in state whose stop (triggered after checkpoint 7) is in flight.
func stopping(state State, reason v1beta1.SavepointReason) Input {
	in := input(state)
	in.Deleting = state == Deleting
	in.Status.Revision, in.Revision = "rev-1", "rev-2"
	in.Status.TargetRevision = "rev-2"
	in.Status.SavepointLocation = "/sp/older"
	in.Status.Savepoint = inFlight(reason, -time.Minute)
	in.Status.Savepoint.AfterCheckpointID = 7
	in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	in.Checkpoints = CheckpointObservation{}
	return in
}

// stopped: Flink reports the job FINISHED, as a stop with a savepoint leaves it.
func stopped(in Input) Input {
	in.Flink.State = "FINISHED"
	return in
}

func forgotten(in Input) Input {
	in.Savepoint = SavepointObservation{Polled: true, NotFound: true}
	return in
}

func history(in Input, savepointID int64, path string) Input {
	in.Checkpoints = CheckpointObservation{Read: true, MaxID: savepointID, LatestSavepointID: savepointID, LatestSavepointPath: path}
	return in
}

func TestAStoppedJobWaitsForItsStopToBeConfirmed(t *testing.T) {
	for _, s := range stopStates {
		t.Run(string(s.state)+": savepoint status not read this sync", func(t *testing.T) {
			d := Step(stopped(stopping(s.state, s.reason)))
			assert.Nil(t, d.Transition, "the job stopped because of us: nothing moves until its savepoint is known")
			assert.Equal(t, s.state, d.Status.State)
			assert.True(t, SavepointInFlight(d.Status))
			assert.Empty(t, d.Actions)
		})
		t.Run(string(s.state)+": trigger forgotten, history not read yet", func(t *testing.T) {
			in := forgotten(stopped(stopping(s.state, s.reason)))
			assert.True(t, NeedsCheckpoints(in), "the observer is asked for the checkpoint history")
			d := Step(in)
			assert.Nil(t, d.Transition)
			assert.Empty(t, d.Actions, "a stopped job's stop is never triggered again")
		})
		t.Run(string(s.state)+": trigger forgotten, the stop's savepoint is in the history", func(t *testing.T) {
			d := Step(history(forgotten(stopped(stopping(s.state, s.reason))), 8, "/sp/savepoint-8"))
			assert.Equal(t, SavepointCompleted, d.Event)
			assert.Equal(t, s.state, d.Status.State)
			assert.Equal(t, "/sp/savepoint-8", d.Status.SavepointLocation)
			assert.Equal(t, v1beta1.SavepointStateSucceeded, d.Status.Savepoint.State)
			assert.Contains(t, d.Status.Savepoint.Message, "checkpoint history")
		})
		t.Run(string(s.state)+": trigger forgotten, only an older savepoint in the history", func(t *testing.T) {
			d := Step(history(forgotten(stopped(stopping(s.state, s.reason))), 7, "/sp/savepoint-7"))
			assert.Equal(t, StopUnconfirmed, d.Event)
			assert.Equal(t, v1beta1.SavepointStateUnconfirmed, d.Status.Savepoint.State)
			assert.Equal(t, "/sp/older", d.Status.SavepointLocation, "an older savepoint is never taken for the stop's")
			assert.Empty(t, d.Actions)
			assert.Equal(t, v1beta1.SavepointStateUnconfirmed, d.Status.SavepointHistory[0].State)
		})
		t.Run(string(s.state)+": past the timeout, savepoint status not read", func(t *testing.T) {
			in := stopping(s.state, s.reason)
			in.Status.Savepoint.StartTime = at(-11 * time.Minute)
			d := Step(in)
			assert.Equal(t, SavepointTimedOut, d.Event)
			assert.Equal(t, s.state, d.Status.State, "a stop's timeout never leads back to Running")
			assert.True(t, StopOverdue(d.Status))
			assert.True(t, SavepointInFlight(d.Status), "it is still polled")
			assert.NotEqual(t, d.Status.State, Running)

			in.Status = d.Status
			again := Step(in)
			assert.Nil(t, again.Transition, "marked overdue once")
			assert.Equal(t, d.Status, again.Status)

			in.Status = again.Status
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Location: "/sp/late"}
			late := Step(stopped(in))
			assert.Equal(t, SavepointCompleted, late.Event, "a stop that completes late is found")
			assert.Equal(t, "/sp/late", late.Status.SavepointLocation)
			assert.False(t, StopOverdue(late.Status))
		})
		t.Run(string(s.state)+": past the timeout while Flink says the stop is in progress", func(t *testing.T) {
			in := stopping(s.state, s.reason)
			in.Status.Savepoint.StartTime = at(-time.Hour)
			in.Savepoint = SavepointObservation{Polled: true}
			d := Step(in)
			assert.Nil(t, d.Transition, "not timed out while the job is still running the stop")
			assert.False(t, StopOverdue(d.Status))
		})
	}
}

func TestAnUpdateWhoseStopCompletesLateRollsOut(t *testing.T) {
	in := stopping(Updating, v1beta1.SavepointReasonUpdate)
	in.Status.Savepoint.StartTime = at(-11 * time.Minute)
	in.Status = Step(in).Status // overdue
	in.Savepoint = SavepointObservation{Polled: true, Done: true, Location: "/sp/update"}
	in = stopped(in)
	in.Status = Step(in).Status
	in.Savepoint = SavepointObservation{}
	d := Step(in)
	assert.Equal(t, Deploying, d.Status.State, "never Succeeded: the update goes on")
	in.Status = d.Status
	in.ClusterReady, in.ClusterUpToDate = true, true
	d = Step(in)
	assert.Equal(t, Submitting, d.Status.State)
	assert.Equal(t, "/sp/update", d.Status.FromSavepoint, "restored from the stop's savepoint")
}

func TestAnUnconfirmedUpdateIsNotRestartedFromAnOlderSavepoint(t *testing.T) {
	in := history(forgotten(stopped(stopping(Updating, v1beta1.SavepointReasonUpdate))), 3, "/sp/savepoint-3")
	d := Step(in)
	assert.Equal(t, Failed, d.Status.State)
	assert.Contains(t, d.Status.Message, "not resubmitted from the older savepoint /sp/older")
	assert.Empty(t, d.Status.TargetRevision)
	assert.True(t, UpdateStopUnconfirmed(d.Status))

	in = input(Failed)
	in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	in.Status = d.Status
	in.Now = t0.Add(time.Hour)
	in.Flink = FlinkObservation{}
	later := Step(in)
	assert.Nil(t, later.Transition, "FromSavepointOnFailure does not restart it from /sp/older")
	assert.Zero(t, later.RequeueAfter)
}

func TestAStopRecordsTheCheckpointBaselineFirst(t *testing.T) {
	for name, in := range map[string]Input{
		"update": func() Input { in := input(Running); in.Status.Revision, in.Revision = "rev-1", "rev-2"; return in }(),
		"cancel": func() Input { in := input(Running); in.Spec.CancelRequested = ptr.To(true); return in }(),
		"delete": func() Input { in := input(Running); in.Deleting = true; return in }(),
	} {
		t.Run(name+": history read", func(t *testing.T) {
			in.Checkpoints = CheckpointObservation{Read: true, MaxID: 41}
			d := Step(in)
			assert.Equal(t, []ActionKind{ActStopWithSavepoint}, kinds(d.Actions))
			assert.Equal(t, int64(41), d.Status.Savepoint.AfterCheckpointID)
		})
		t.Run(name+": history not read", func(t *testing.T) {
			in.Checkpoints = CheckpointObservation{}
			assert.True(t, NeedsCheckpoints(in))
			d := Step(in)
			assert.Equal(t, Running, d.Status.State)
			assert.Empty(t, d.Actions, "no stop without its baseline")
		})
	}
	t.Run("an idle running job needs no history", func(t *testing.T) {
		in := input(Running)
		in.Checkpoints = CheckpointObservation{}
		assert.False(t, NeedsCheckpoints(in))
	})
	t.Run("a scheduled savepoint needs no history", func(t *testing.T) {
		in := input(Running)
		in.Spec.AutoSavepointSeconds = ptr.To[int32](10)
		in.Checkpoints = CheckpointObservation{}
		assert.False(t, NeedsCheckpoints(in))
		assert.Equal(t, []ActionKind{ActTriggerSavepoint}, kinds(Step(in).Actions))
	})
}

func TestASavepointThatStoppedTheJobFromOutsideIsRecorded(t *testing.T) {
	for _, s := range []struct {
		from       State
		flink      string
		want       State
		inFlightSP bool
	}{
		{Running, "FINISHED", Succeeded, false},
		{Running, "CANCELED", Cancelled, false},
		{Submitting, "FINISHED", Succeeded, false},
		{Savepointing, "CANCELED", Cancelled, true},
	} {
		t.Run(string(s.from)+" "+s.flink, func(t *testing.T) {
			in := input(s.from)
			in.Flink.State = s.flink
			in.Status.SavepointLocation = "/sp/ours"
			if s.inFlightSP {
				in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, -time.Second)
				in.Savepoint = SavepointObservation{Polled: true}
			}
			in.Checkpoints = CheckpointObservation{}
			assert.True(t, NeedsCheckpoints(in))
			assert.Nil(t, Step(in).Transition, "the end waits until the history was read")

			in = history(in, 12, "/sp/from-the-ui")
			d := Step(in)
			assert.Equal(t, s.want, d.Status.State)
			assert.Equal(t, "/sp/from-the-ui", d.Status.SavepointLocation)
			assert.Equal(t, v1beta1.SavepointReasonExternal, d.Status.SavepointHistory[0].Reason)
			assert.Equal(t, "/sp/from-the-ui", d.Status.SavepointHistory[0].Location)
		})
	}
	t.Run("our own savepoint is not recorded twice", func(t *testing.T) {
		in := history(input(Running), 12, "/sp/ours")
		in.Flink.State = "FINISHED"
		in.Status.SavepointLocation = "/sp/ours"
		d := Step(in)
		assert.Equal(t, Succeeded, d.Status.State)
		assert.Empty(t, d.Status.SavepointHistory)
	})
	t.Run("a job without checkpointing or savepoints ends as before", func(t *testing.T) {
		in := history(input(Running), 0, "")
		in.Flink.State = "FINISHED"
		d := Step(in)
		assert.Equal(t, Succeeded, d.Status.State)
		assert.Empty(t, d.Status.SavepointLocation)
	})
}

func TestSavepointTimeoutCountsOnThisProcessClock(t *testing.T) {
	in := input(Savepointing)
	in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, -11*time.Minute)
	in.Savepoint = SavepointObservation{Polled: true}
	in.SavepointSeenAt = t0.Add(-time.Minute)
	assert.Nil(t, Step(in).Transition, "another replica's start (or a clock ahead) does not cut this one's wait short")
	in.SavepointSeenAt = t0.Add(-10 * time.Minute)
	assert.Equal(t, SavepointTimedOut, Step(in).Event, "exactly the timeout after this process saw it")
	in.SavepointSeenAt = t0.Add(-10*time.Minute + time.Millisecond)
	assert.Nil(t, Step(in).Transition, "not a millisecond early")
}

func TestAnUnbuildableSpecNeverStopsTheJob(t *testing.T) {
	in := input(Running)
	in.Status.Revision, in.Revision = "rev-1", "rev-2"
	in.SpecInvalid = true
	d := Step(in)
	assert.Equal(t, Running, d.Status.State)
	assert.Empty(t, d.Actions)
	assert.False(t, NeedsCheckpoints(in))
}

func TestStopHelpers(t *testing.T) {
	t.Run("an external savepoint already in the history is not recorded again", func(t *testing.T) {
		in := history(input(Running), 12, "/sp/ext")
		in.Flink.State = "CANCELED"
		in.Status.SavepointHistory = []v1beta1.SavepointOperation{{Reason: v1beta1.SavepointReasonExternal, Location: "/sp/ext"}}
		assert.Len(t, Step(in).Status.SavepointHistory, 1)
	})
	t.Run("an unconfirmed update without any savepoint says none is recorded", func(t *testing.T) {
		in := history(forgotten(stopped(stopping(Updating, v1beta1.SavepointReasonUpdate))), 0, "")
		in.Status.SavepointLocation = ""
		assert.Contains(t, Step(in).Status.Message, "older savepoint (none recorded)")
	})
	t.Run("an unreachable JobManager has not stopped the job", func(t *testing.T) {
		assert.False(t, jobStopped(FlinkObservation{Polled: true, State: "FINISHED"}))
	})
	t.Run("a savepoint without a start and not seen by this process has not expired", func(t *testing.T) {
		in := input(Savepointing)
		in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, 0)
		in.Status.Savepoint.StartTime = nil
		assert.False(t, savepointExpired(in))
		in.Status.Savepoint = nil
		assert.False(t, savepointExpired(in))
	})
}

// TestPriorityIsTheDetectorsOrder: when several events are raised, the first in Detectors that
// has a transition wins (a job seen again after missing is recorded before a cancel is started).
func TestPriorityIsTheDetectorsOrder(t *testing.T) {
	in := input(Running)
	in.Status.NotFoundSince = at(-time.Second)
	in.Spec.CancelRequested = ptr.To(true)
	assert.Equal(t, []Event{JobActive, CancelRequested}, detect(in))
	assert.Equal(t, JobActive, Step(in).Event)
	assert.Equal(t, Events[0], Detectors[0].Event)
}

// TestSavepointsCarryTheSpecsFormat: every savepoint the machine triggers (a requested one, a
// stop, a retrigger) has spec.job.savepointFormatType's format, CANONICAL when absent.
func TestSavepointsCarryTheSpecsFormat(t *testing.T) {
	native := ptr.To(v1beta1.SavepointFormatNative)
	requested := func(format *v1beta1.SavepointFormatType) Input {
		in := input(Running)
		in.Spec.SavepointFormatType = format
		in.Spec.SavepointGeneration = 1
		return in
	}
	cancel := func() Input {
		in := input(Running)
		in.Spec.SavepointFormatType = native
		in.Spec.CancelRequested = ptr.To(true)
		return in
	}
	retrigger := func() Input {
		in := input(Savepointing)
		in.Spec.SavepointFormatType = native
		in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUser, -time.Second)
		in.Savepoint = SavepointObservation{Polled: true, NotFound: true}
		return in
	}
	for name, tt := range map[string]struct {
		in   Input
		want v1beta1.SavepointFormatType
	}{
		"requested, absent": {requested(nil), v1beta1.SavepointFormatCanonical},
		"requested, NATIVE": {requested(native), v1beta1.SavepointFormatNative},
		"a stop":            {cancel(), v1beta1.SavepointFormatNative},
		"a retrigger":       {retrigger(), v1beta1.SavepointFormatNative},
	} {
		t.Run(name, func(t *testing.T) {
			d := Step(tt.in)
			if assert.Len(t, d.Actions, 1) {
				assert.Equal(t, tt.want, d.Actions[0].Format)
			}
		})
	}
}
