package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
)

var restartLoop = health.Verdict{Known: true, Reason: health.ReasonRestartLoop, Message: "Flink restarted the job 5 times"}

// unhealthy is a job judged in a restart loop, with restartOnUnhealthy, restarted from its
// savepoint on failure.
func unhealthy(state State) Input {
	in := input(state)
	in.Health = restartLoop
	in.Spec.RestartOnUnhealthy = ptr.To(true)
	in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
	in.Status.SavepointLocation = "/sp/savepoint-1"
	return in
}

// fromLatestState makes in restart from its latest checkpoint, retained as retention says.
func fromLatestState(in Input, retention v1beta1.CheckpointRetention) Input {
	in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromLatestStateOnFailure)
	in.Status.SavepointLocation = ""
	in.Status.CheckpointRetention = retention
	in.Status.LatestCheckpoint = &v1beta1.CheckpointRecord{JobID: in.Status.ID, ID: 7, Location: "/chk/7", RecordTime: at(0)}
	return in
}

func TestUnhealthyJobs(t *testing.T) {
	tests := []stepCase{
		{"restartOnUnhealthy: the job is cancelled, to be restarted", func() Input { return unhealthy(Running) }, Failing, []ActionKind{ActCancelJob},
			func(t *testing.T, d Decision) {
				assert.Contains(t, d.Status.Message, "cancelled by the operator as unhealthy")
				assert.Contains(t, d.Status.Message, "RestartLoop: Flink restarted the job 5 times")
				assert.Zero(t, d.Status.RestartCount, "counted by the restart")
			}},
		{"without restartOnUnhealthy: only reported", func() Input {
			in := unhealthy(Running)
			in.Spec.RestartOnUnhealthy = nil
			return in
		}, Running, nil, nil},
		{"a healthy job runs on", func() Input {
			in := unhealthy(Running)
			in.Health = health.Verdict{Known: true, Healthy: true, Reason: health.ReasonHealthy}
			return in
		}, Running, nil, nil},
		{"not judged: runs on", func() Input {
			in := unhealthy(Running)
			in.Health = health.Verdict{}
			return in
		}, Running, nil, nil},
		{"nothing to restart from: not cancelled", func() Input {
			in := unhealthy(Running)
			in.Status.SavepointLocation = ""
			return in
		}, Running, nil, nil},
		{"latest state retained on cancellation: cancelled", func() Input {
			return fromLatestState(unhealthy(Running), v1beta1.CheckpointRetentionRetainOnCancellation)
		}, Failing, []ActionKind{ActCancelJob}, nil},
		{"latest state deleted on cancellation: not cancelled (it would lose them)", func() Input {
			return fromLatestState(unhealthy(Running), v1beta1.CheckpointRetentionDeleteOnCancellation)
		}, Running, nil, nil},
		{"a user's update comes first", func() Input {
			in := unhealthy(Running)
			in.Revision, in.Status.Revision = "new", "old"
			return in
		}, Updating, []ActionKind{ActStopWithSavepoint}, nil},
		{"not while a savepoint is in flight", func() Input {
			in := unhealthy(Savepointing)
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUser, -time.Second)
			return in
		}, Savepointing, nil, nil},

		{"Failing: cancelled again while Flink reports it active", func() Input { return unhealthy(Failing) }, Failing, []ActionKind{ActCancelJob}, nil},
		{"Failing: CANCELED is the failure", func() Input {
			in := unhealthy(Failing)
			in.Flink.State = "CANCELED"
			in.Status.Message = "cancelled by the operator as unhealthy (spec.job.restartOnUnhealthy), to be restarted by its restartPolicy: RestartLoop: x"
			return in
		}, Failed, nil, func(t *testing.T, d Decision) {
			assert.NotNil(t, d.Status.EndTime)
			assert.Contains(t, d.Status.Message, "RestartLoop: x", "the reason stays")
			assert.Positive(t, d.RequeueAfter, "the restart is due after the backoff")
		}},
		{"Failing: Flink failed it meanwhile", func() Input {
			in := unhealthy(Failing)
			in.Flink.State = "FAILED"
			return in
		}, Failed, nil, nil},
		{"Failing: it finished meanwhile", func() Input {
			in := unhealthy(Failing)
			in.Flink.State = "FINISHED"
			return in
		}, Succeeded, nil, nil},
		{"Failing: a deletion waits for the cancellation", func() Input {
			in := unhealthy(Failing)
			in.Deleting = true
			return in
		}, Failing, []ActionKind{ActCancelJob}, nil},
	}
	runSteps(t, tests)
}

// TestAnUnhealthyJobIsRestartedOnlyAfterItsCancellation: the restart (a new job ID) comes after
// Flink confirmed the old job CANCELED and the restart backoff passed, never beside it.
func TestAnUnhealthyJobIsRestartedOnlyAfterItsCancellation(t *testing.T) {
	in := unhealthy(Running)
	d := Step(in)
	assert.Equal(t, Failing, d.Status.State)
	in.Status = d.Status
	in.Health = health.Verdict{}
	in.Flink.State = "CANCELLING"
	d = Step(in)
	assert.Equal(t, Failing, d.Status.State, "not while Flink still cancels it")
	in.Status = d.Status
	in.Flink.State = "CANCELED"
	d = Step(in)
	assert.Equal(t, Failed, d.Status.State)
	in.Status = d.Status
	in.Now = in.Now.Add(time.Second)
	d = Step(in)
	assert.Equal(t, Failed, d.Status.State, "the restart backoff first")
	in.Now = in.Now.Add(in.Settings.RestartBackoff)
	d = Step(in)
	assert.Equal(t, Submitting, d.Status.State)
	assert.Equal(t, int32(1), d.Status.RestartCount)
	assert.Equal(t, "/sp/savepoint-1", d.Status.FromSavepoint)
	assert.NotEqual(t, JobID("uid", 1), d.Status.ID, "a new attempt")
}

// TestEveryActiveStateIsPolled: a state whose job may run in Flink is looked at again without a
// watch event (Flink's answers bring none); Failing was once neither polled nor requeued.
func TestEveryActiveStateIsPolled(t *testing.T) {
	for _, s := range States {
		st := v1beta1.JobStatus{State: s}
		if !Active(st) {
			continue
		}
		assert.Positive(t, requeueAfter(input(s), st), "%s is requeued", s)
	}
	assert.True(t, Active(v1beta1.JobStatus{State: Failing}), "Failing: the job still runs in Flink until it is cancelled")
}
