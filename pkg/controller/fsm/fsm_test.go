package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return stamp(t0.Add(d)) }

// input is a running job with savepoints configured, observed as RUNNING.
func input(state State) Input {
	return Input{
		Now:        t0,
		ClusterUID: "uid",
		Spec: v1beta1.JobSpec{
			SavepointsDir: ptr.To("/sp"),
			RestartPolicy: ptr.To(v1beta1.JobRestartPolicyNever),
		},
		Status: v1beta1.JobStatus{State: state, ID: JobID("uid", 1), Attempt: 1, StartTime: at(-time.Minute)},
		Flink:  FlinkObservation{Polled: true, Reachable: true, Found: true, State: "RUNNING"},
		// The observer read the checkpoint history (NeedsCheckpoints decides when it does):
		// checkpoint 7 was the latest.
		Checkpoints: CheckpointObservation{Read: true, MaxID: 7},
		Submitter:   SubmitterSucceeded,
		Settings:    DefaultSettings(),
	}
}

func inFlight(reason v1beta1.SavepointReason, started time.Duration) *v1beta1.SavepointOperation {
	return &v1beta1.SavepointOperation{TriggerID: "t1", Reason: reason, State: v1beta1.SavepointStateInProgress, StartTime: at(started)}
}

func kinds(actions []Action) []ActionKind {
	var out []ActionKind
	for _, a := range actions {
		out = append(out, a.Kind)
	}
	return out
}

func TestEveryPairIsHandledOrIgnored(t *testing.T) {
	handled := map[State]map[Event]bool{}
	for _, tr := range Table {
		if handled[tr.From] == nil {
			handled[tr.From] = map[Event]bool{}
		}
		handled[tr.From][tr.On] = true
	}
	for _, s := range States {
		ignored := map[Event]bool{}
		for _, e := range Ignored[s].Events {
			ignored[e] = true
		}
		for _, e := range Events {
			h, i := handled[s][e], ignored[e]
			assert.True(t, h || i, "(%s, %s) is neither handled nor ignored", s, e)
			assert.False(t, h && i, "(%s, %s) is both handled and ignored", s, e)
		}
	}
}

// stepCase is one row of a table test over Step: from the input, the state and actions wanted,
// and further checks.
type stepCase struct {
	name    string
	in      func() Input
	want    State
	actions []ActionKind
	check   func(t *testing.T, d Decision)
}

func runSteps(t *testing.T, tests []stepCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Step(tt.in())
			assert.Equal(t, tt.want, d.Status.State)
			assert.Equal(t, tt.actions, kinds(d.Actions))
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestTransitions(t *testing.T) {
	tests := []stepCase{
		{"pending waits for the cluster", func() Input {
			in := input(Pending)
			in.Status = v1beta1.JobStatus{}
			in.Flink = FlinkObservation{}
			return in
		}, Pending, nil, func(t *testing.T, d Decision) {
			assert.Nil(t, d.Transition)
			assert.Zero(t, d.RequeueAfter, "a pending job waits for watch events, not polls")
		}},
		{"ready cluster: ID recorded, submitter created, from spec.fromSavepoint", func() Input {
			in := input(Pending)
			in.Status = v1beta1.JobStatus{}
			in.Flink = FlinkObservation{}
			in.ClusterReady = true
			in.Spec.FromSavepoint = ptr.To("/sp/initial")
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, JobID("uid", 1), d.Status.ID)
			assert.Equal(t, "/sp/initial", d.Status.FromSavepoint)
			assert.Equal(t, d.Status.ID, d.Actions[0].JobID)
			assert.Equal(t, "/sp/initial", d.Actions[0].FromSavepoint)
			assert.Equal(t, int32(1), d.Status.Attempt)
		}},
		{"submitted job seen running", func() Input { return input(Submitting) }, Running, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, "RUNNING", d.Status.FlinkJobState)
		}},
		{"submitter still running and job unknown: wait", func() Input {
			in := input(Submitting)
			in.Flink.Found = false
			in.Submitter = SubmitterActive
			in.Status.NotFoundSince = at(-time.Hour)
			return in
		}, Submitting, nil, nil},
		{"submitter gone before the job appeared: created again with the same ID", func() Input {
			in := input(Submitting)
			in.Flink.Found = false
			in.Submitter = SubmitterNone
			in.Status.NotFoundSince = at(0)
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, JobID("uid", 1), d.Actions[0].JobID)
		}},
		{"submitter failed: job failed with the reason", func() Input {
			in := input(Submitting)
			in.Flink.Found = false
			in.Submitter = SubmitterFailedP
			in.SubmitterReason = "BackoffLimitExceeded: ClassNotFoundException"
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.Contains(t, d.Status.Message, "ClassNotFoundException")
		}},
		{"first miss is recorded", func() Input {
			in := input(Running)
			in.Flink.Found = false
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, t0, d.Status.NotFoundSince.Time)
		}},
		{"missing within the grace period: nothing", func() Input {
			in := input(Running)
			in.Flink.Found = false
			in.Status.NotFoundSince = at(-30 * time.Second)
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Nil(t, d.Transition) }},
		{"missing beyond the grace period: Lost", func() Input {
			in := input(Running)
			in.Flink.Found = false
			in.Status.NotFoundSince = at(-2 * time.Minute)
			return in
		}, Lost, nil, func(t *testing.T, d Decision) {
			assert.Contains(t, d.Status.Message, "without HA")
		}},
		{"with HA, a first miss says Flink is expected to recover the job", func() Input {
			in := input(Running)
			in.HighAvailability = true
			in.Flink.Found = false
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, t0, d.Status.NotFoundSince.Time)
			assert.Contains(t, d.Status.Message, "waiting up to 5m0s for Flink's high-availability services")
			assert.Empty(t, d.Actions)
		}},
		{"with HA, missing beyond the grace period but within the HA recovery grace: nothing", func() Input {
			in := input(Running)
			in.HighAvailability = true
			in.Flink.Found = false
			in.Status.NotFoundSince = at(-4 * time.Minute)
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Nil(t, d.Transition) }},
		{"with HA, missing beyond the HA recovery grace: Lost, saying Flink did not recover it", func() Input {
			in := input(Running)
			in.HighAvailability = true
			in.Flink.Found = false
			in.Status.NotFoundSince = at(-5 * time.Minute)
			return in
		}, Lost, nil, func(t *testing.T, d Decision) {
			assert.Contains(t, d.Status.Message, "although high availability is on")
			assert.Empty(t, d.Actions)
		}},
		{"found again after a miss", func() Input {
			in := input(Running)
			in.Status.NotFoundSince = at(-10 * time.Second)
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Nil(t, d.Status.NotFoundSince) }},
		{"unreachable JobManager is no failure", func() Input {
			in := input(Running)
			in.Flink = FlinkObservation{Polled: true, Reachable: false}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Nil(t, d.Transition)
			assert.Equal(t, DefaultSettings().PollInterval, d.RequeueAfter)
		}},
		{"job finished", func() Input {
			in := input(Running)
			in.Flink.State = "FINISHED"
			return in
		}, Succeeded, nil, func(t *testing.T, d Decision) { assert.NotNil(t, d.Status.EndTime) }},
		{"job failed, with Flink's reason", func() Input {
			in := input(Running)
			in.Flink.State, in.Flink.Failure = "FAILED", "java.lang.RuntimeException: boom"
			return in
		}, Failed, nil, func(t *testing.T, d Decision) { assert.Contains(t, d.Status.Message, "boom") }},
		{"job cancelled outside the operator", func() Input {
			in := input(Running)
			in.Flink.State = "CANCELED"
			return in
		}, Cancelled, nil, nil},
		{"Flink restarting the job itself stays Running", func() Input {
			in := input(Running)
			in.Flink.State = "RESTARTING"
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Equal(t, "RESTARTING", d.Status.FlinkJobState) }},
		{"user savepoint requested", func() Input {
			in := input(Running)
			in.Spec.SavepointGeneration = 1
			return in
		}, Savepointing, []ActionKind{ActTriggerSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.SavepointReasonUser, d.Status.Savepoint.Reason)
			assert.Equal(t, d.Status.Savepoint.TriggerID, d.Actions[0].TriggerID, "trigger ID recorded before the trigger")
			assert.Equal(t, "/sp", d.Actions[0].TargetDir)
		}},
		{"no savepoint while Flink is still initializing the job", func() Input {
			in := input(Running)
			in.Spec.SavepointGeneration = 1
			in.Flink.State = "INITIALIZING"
			return in
		}, Running, nil, nil},
		{"no cancel savepoint while Flink restarts the job", func() Input {
			in := input(Running)
			in.Spec.CancelRequested = ptr.To(true)
			in.Flink.State = "RESTARTING"
			return in
		}, Running, nil, nil},
		{"user savepoint without savepointsDir: nothing", func() Input {
			in := input(Running)
			in.Spec.SavepointGeneration = 1
			in.Spec.SavepointsDir = nil
			return in
		}, Running, nil, nil},
		{"scheduled savepoint due", func() Input {
			in := input(Running)
			in.Spec.AutoSavepointSeconds = ptr.To[int32](60)
			in.Status.StartTime = at(-61 * time.Second)
			return in
		}, Savepointing, []ActionKind{ActTriggerSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.SavepointReasonScheduled, d.Status.Savepoint.Reason)
		}},
		{"scheduled savepoint not due: requeue at its time", func() Input {
			in := input(Running)
			in.Spec.AutoSavepointSeconds = ptr.To[int32](60)
			in.Status.StartTime = at(-55 * time.Second)
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Equal(t, 5*time.Second, d.RequeueAfter) }},
		{"schedule counts from the last savepoint", func() Input {
			in := input(Running)
			in.Spec.AutoSavepointSeconds = ptr.To[int32](60)
			in.Status.StartTime = at(-10 * time.Minute)
			in.Status.LastSavepointTime = at(-30 * time.Second)
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Equal(t, 10*time.Second, d.RequeueAfter) }},
		{"savepoint completed", func() Input {
			in := input(Savepointing)
			in.Spec.SavepointGeneration = 1
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUser, -5*time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Location: "/sp/savepoint-1"}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			st := d.Status
			assert.Equal(t, int32(1), st.SavepointGeneration)
			assert.Equal(t, "/sp/savepoint-1", st.SavepointLocation)
			assert.Equal(t, "t1", st.LastSavepointTriggerID)
			assert.Equal(t, t0, st.LastSavepointTime.Time)
			assert.Equal(t, v1beta1.SavepointStateSucceeded, st.Savepoint.State)
			require.Len(t, st.SavepointHistory, 1)
			assert.Equal(t, "/sp/savepoint-1", st.SavepointHistory[0].Location)
		}},
		{"savepoint in progress: poll faster", func() Input {
			in := input(Savepointing)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, -5*time.Second)
			in.Savepoint = SavepointObservation{Polled: true}
			return in
		}, Savepointing, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, DefaultSettings().SavepointPollInterval, d.RequeueAfter)
		}},
		{"savepoint failed: user failure counted", func() Input {
			in := input(Savepointing)
			in.Spec.SavepointGeneration = 1
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUser, -5*time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "IOException: disk full"}
			return in
		}, Running, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, int32(1), d.Status.UserSavepointFailures)
			assert.Equal(t, int32(0), d.Status.SavepointGeneration)
			assert.Contains(t, d.Status.Savepoint.Message, "disk full")
			assert.Equal(t, t0, d.Status.LastSavepointTime.Time)
		}},
		{"savepoint timed out", func() Input {
			in := input(Savepointing)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, -11*time.Minute)
			in.Savepoint = SavepointObservation{Polled: true}
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Contains(t, d.Status.Savepoint.Message, "did not complete") }},
		{"savepoint unknown to Flink (crash before trigger): same trigger ID again", func() Input {
			in := input(Savepointing)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, -5*time.Second)
			in.Savepoint = SavepointObservation{Polled: true, NotFound: true}
			return in
		}, Savepointing, []ActionKind{ActTriggerSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, "t1", d.Actions[0].TriggerID)
		}},
		{"job failed during a savepoint", func() Input {
			in := input(Savepointing)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonScheduled, -5*time.Second)
			in.Savepoint = SavepointObservation{Polled: true}
			in.Flink.State = "FAILED"
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.SavepointStateFailed, d.Status.Savepoint.State)
		}},
		{"cancel with savepointsDir: stop with savepoint", func() Input {
			in := input(Running)
			in.Spec.CancelRequested = ptr.To(true)
			return in
		}, Cancelling, []ActionKind{ActStopWithSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.SavepointReasonCancel, d.Status.Savepoint.Reason)
		}},
		{"cancel without savepointsDir: plain cancel", func() Input {
			in := input(Running)
			in.Spec.CancelRequested = ptr.To(true)
			in.Spec.SavepointsDir = nil
			return in
		}, Cancelling, []ActionKind{ActCancelJob}, nil},
		{"cancel right after a failed cancel savepoint waits", func() Input {
			in := input(Running)
			in.Spec.CancelRequested = ptr.To(true)
			in.Status.Savepoint = &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonCancel, State: v1beta1.SavepointStateFailed, EndTime: at(-10 * time.Second)}
			return in
		}, Running, nil, nil},
		{"cancel savepoint completed, job finished: Cancelled", func() Input {
			in := input(Cancelling)
			in.Status.Savepoint = &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonCancel, State: v1beta1.SavepointStateSucceeded}
			in.Flink.State = "FINISHED"
			return in
		}, Cancelled, nil, nil},
		{"cancel savepoint failed: job keeps running", func() Input {
			in := input(Cancelling)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonCancel, -5*time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "x"}
			return in
		}, Running, nil, nil},
		{"cancel without savepoint re-issued while the job still runs", func() Input {
			in := input(Cancelling)
			return in
		}, Cancelling, []ActionKind{ActCancelJob}, nil},
		{"failed job with restart policy and a savepoint: restart after backoff", func() Input {
			in := input(Failed)
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			in.Status.SavepointLocation = "/sp/savepoint-7"
			in.Status.EndTime = at(-11 * time.Second)
			in.Flink.State = "FAILED"
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, int32(1), d.Status.RestartCount)
			assert.Equal(t, int32(2), d.Status.Attempt)
			assert.Equal(t, JobID("uid", 2), d.Status.ID)
			assert.NotEqual(t, JobID("uid", 1), d.Status.ID)
			assert.Equal(t, "/sp/savepoint-7", d.Actions[0].FromSavepoint)
			assert.Equal(t, "/sp/savepoint-7", d.Status.FromSavepoint)
		}},
		{"restart waits for the backoff", func() Input {
			in := input(Failed)
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			in.Status.SavepointLocation = "/sp/savepoint-7"
			in.Status.RestartCount = 2
			in.Status.EndTime = at(-11 * time.Second)
			return in
		}, Failed, nil, func(t *testing.T, d Decision) { assert.Equal(t, 29*time.Second, d.RequeueAfter) }},
		{"lost job restarts too", func() Input {
			in := input(Lost)
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			in.Status.SavepointLocation = "/sp/savepoint-7"
			in.Flink.Found = false
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, nil},
		{"failed without a savepoint stays failed", func() Input {
			in := input(Failed)
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			return in
		}, Failed, nil, func(t *testing.T, d Decision) { assert.Zero(t, d.RequeueAfter) }},
		{"Never keeps a failed job failed", func() Input {
			in := input(Failed)
			in.Status.SavepointLocation = "/sp/x"
			return in
		}, Failed, nil, nil},
		{"succeeded is terminal", func() Input { return input(Succeeded) }, Succeeded, nil, func(t *testing.T, d Decision) {
			assert.Zero(t, d.RequeueAfter, "an ended job costs no polls")
		}},
	}
	runSteps(t, tests)
}

func TestUserSavepointRetriesAreBounded(t *testing.T) {
	in := input(Running)
	in.Spec.SavepointGeneration = 1
	in.Status.LastSavepointTime = at(-20 * time.Second)

	in.Status.UserSavepointFailures = 1
	assert.Equal(t, Running, Step(in).Status.State, "the first retry waits 30 s")
	in.Status.LastSavepointTime = at(-31 * time.Second)
	assert.Equal(t, Savepointing, Step(in).Status.State)

	in.Status.UserSavepointFailures = 3
	in.Status.LastSavepointTime = at(-time.Hour)
	assert.Equal(t, Running, Step(in).Status.State, "after 3 failures it is reported, not retried")
}

func TestJobIDIsDeterministicPerAttempt(t *testing.T) {
	assert.Equal(t, JobID("a", 1), JobID("a", 1))
	assert.NotEqual(t, JobID("a", 1), JobID("a", 2))
	assert.NotEqual(t, JobID("a", 1), JobID("b", 1))
	assert.Len(t, JobID("a", 1), 32)
}

func TestHistoryIsBounded(t *testing.T) {
	st := &v1beta1.JobStatus{}
	for i := 0; i < 15; i++ {
		pushHistory(st, v1beta1.SavepointOperation{TriggerID: string(rune('a' + i))})
	}
	assert.Len(t, st.SavepointHistory, savepointHistoryLimit)
	assert.Equal(t, string(rune('a'+14)), st.SavepointHistory[0].TriggerID, "newest first")
}

func TestRestartBackoffIsCapped(t *testing.T) {
	in := input(Failed)
	in.Status.RestartCount = 20
	assert.Equal(t, in.Settings.MaxRestartBackoff, restartBackoff(in))
}

func TestRequeueIsNeverShorterThanASecond(t *testing.T) {
	in := input(Running)
	in.Spec.AutoSavepointSeconds = ptr.To[int32](60)
	in.Status.StartTime = at(-59 * time.Second)
	in.Now = t0.Add(500 * time.Millisecond)
	assert.Equal(t, time.Second, Step(in).RequeueAfter)
}

func TestUpdateAndDeleteTransitions(t *testing.T) {
	changed := func(state State) Input {
		in := input(state)
		in.Status.Revision = "rev-1"
		in.Revision = "rev-2"
		return in
	}
	tests := []stepCase{
		{"spec change: target recorded, stop with savepoint", func() Input { return changed(Running) }, Updating, []ActionKind{ActStopWithSavepoint},
			func(t *testing.T, d Decision) {
				assert.Equal(t, "rev-2", d.Status.TargetRevision)
				assert.Equal(t, v1beta1.SavepointReasonUpdate, d.Status.Savepoint.Reason)
			}},
		{"no spec change, no update", func() Input {
			in := changed(Running)
			in.Revision = "rev-1"
			return in
		}, Running, nil, nil},
		{"an attempt without a revision is never updated", func() Input {
			in := changed(Running)
			in.Status.Revision = ""
			return in
		}, Running, nil, nil},
		{"no savepointsDir: the update waits", func() Input {
			in := changed(Running)
			in.Spec.SavepointsDir = nil
			return in
		}, Running, nil, nil},
		{"takeSavepointOnUpdate false: cancel without savepoint", func() Input {
			in := changed(Running)
			in.Spec.SavepointsDir = nil
			in.Spec.TakeSavepointOnUpdate = ptr.To(false)
			return in
		}, Updating, []ActionKind{ActCancelJob}, nil},
		{"takeSavepointOnUpgrade (the original spelling) false works too", func() Input {
			in := changed(Running)
			in.Spec.SavepointsDir = nil
			in.Spec.TakeSavepointOnUpgrade = ptr.To(false)
			return in
		}, Updating, []ActionKind{ActCancelJob}, nil},
		{"update savepoint failed recently: wait", func() Input {
			in := changed(Running)
			in.Status.Savepoint = &v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonUpdate, State: v1beta1.SavepointStateFailed, EndTime: at(-5 * time.Second)}
			return in
		}, Running, nil, nil},
		{"update savepoint failed: job keeps running, update forgotten", func() Input {
			in := changed(Updating)
			in.Status.TargetRevision = "rev-2"
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUpdate, -time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Failure: "x"}
			return in
		}, Running, nil, func(t *testing.T, d Decision) { assert.Empty(t, d.Status.TargetRevision) }},
		{"stopped for the update: rebuild", func() Input {
			in := changed(Updating)
			in.Flink.State = "FINISHED"
			return in
		}, Deploying, nil, func(t *testing.T, d Decision) {
			assert.Equal(t, DefaultSettings().SavepointPollInterval, d.RequeueAfter, "no watch event may come: poll")
		}},
		{"stateless update re-issues the cancel", func() Input {
			in := changed(Updating)
			in.Spec.TakeSavepointOnUpdate = ptr.To(false)
			return in
		}, Updating, []ActionKind{ActCancelJob}, nil},
		{"rebuilt cluster not up to date yet: wait", func() Input {
			in := changed(Deploying)
			in.ClusterReady = true
			return in
		}, Deploying, nil, nil},
		{"rebuilt cluster ready: resubmit from the update savepoint", func() Input {
			in := changed(Deploying)
			in.ClusterReady, in.ClusterUpToDate = true, true
			in.Status.SavepointLocation = "/sp/update"
			in.Status.TargetRevision = "rev-2"
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, "/sp/update", d.Status.FromSavepoint)
			assert.Equal(t, "rev-2", d.Status.Revision)
			assert.Empty(t, d.Status.TargetRevision)
			assert.Equal(t, int32(2), d.Status.Attempt)
			assert.Equal(t, int32(0), d.Status.RestartCount, "an update is not a restart")
		}},
		{"deletion of a running job: final savepoint", func() Input {
			in := input(Running)
			in.Deleting = true
			return in
		}, Deleting, []ActionKind{ActStopWithSavepoint}, func(t *testing.T, d Decision) {
			assert.Equal(t, v1beta1.SavepointReasonDelete, d.Status.Savepoint.Reason)
		}},
		{"deletion with the skip annotation: nothing", func() Input {
			in := input(Running)
			in.Deleting, in.SkipFinalSavepoint = true, true
			return in
		}, Running, nil, nil},
		{"final savepoint completed", func() Input {
			in := input(Deleting)
			in.Deleting = true
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonDelete, -time.Second)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Location: "/sp/final"}
			return in
		}, Deleting, nil, func(t *testing.T, d Decision) { assert.Equal(t, "/sp/final", d.Status.SavepointLocation) }},
	}
	runSteps(t, tests)
}

func TestSmallerRules(t *testing.T) {
	t.Run("a job seen for the first time gets its start time", func(t *testing.T) {
		in := input(Submitting)
		in.Status.StartTime = nil
		assert.Equal(t, t0, Step(in).Status.StartTime.Time)
	})
	for _, reason := range []v1beta1.SavepointReason{v1beta1.SavepointReasonCancel, v1beta1.SavepointReasonUpdate, v1beta1.SavepointReasonDelete} {
		t.Run("an unknown "+string(reason)+" savepoint is stopped again", func(t *testing.T) {
			in := input(Cancelling)
			in.Status.Savepoint = inFlight(reason, -time.Second)
			in.Savepoint = SavepointObservation{Polled: true, NotFound: true}
			assert.Equal(t, []ActionKind{ActStopWithSavepoint}, kinds(Step(in).Actions))
		})
	}
	t.Run("SavepointInFlight", func(t *testing.T) {
		assert.True(t, SavepointInFlight(v1beta1.JobStatus{Savepoint: inFlight(v1beta1.SavepointReasonUser, 0)}))
		assert.False(t, SavepointInFlight(v1beta1.JobStatus{}))
	})
	t.Run("a failed job that cannot be restarted says why", func(t *testing.T) {
		in := input(Running)
		in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
		in.Flink.State, in.Flink.Failure = "FAILED", "boom"
		d := Step(in)
		assert.Equal(t, Failed, d.Status.State)
		assert.Contains(t, d.Status.Message, "boom; not restarted: restartPolicy FromSavepointOnFailure needs a savepoint")
	})
	t.Run("a retry request allows the given-up savepoint again", func(t *testing.T) {
		in := input(Running)
		in.Spec.SavepointGeneration = 1
		in.Status.UserSavepointFailures = 3
		in.Status.LastSavepointTime = at(-time.Hour)
		in.SavepointRetryToken = "1"
		d := Step(in)
		assert.Equal(t, Running, d.Status.State)
		assert.Equal(t, int32(0), d.Status.UserSavepointFailures)
		assert.Equal(t, "1", d.Status.SavepointRetryToken)
		in.Status = d.Status
		assert.Equal(t, Savepointing, Step(in).Status.State, "the next sync takes it")
		in.Status.UserSavepointFailures = 3
		assert.Equal(t, Running, Step(in).Status.State, "the same token does not ask twice")
	})
}
