package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// application is input(state) in application mode: the submitter phase is that of the attempt's
// JobManager Job.
func application(state State) Input {
	in := input(state)
	in.Spec.Mode = ptr.To(v1beta1.JobModeApplication)
	in.Submitter = SubmitterActive
	return in
}

// unreachable: no JobManager answers (its pod is gone or not up yet).
func unreachable(in Input) Input {
	in.Flink = FlinkObservation{Polled: true}
	return in
}

func TestApplicationMode(t *testing.T) {
	runSteps(t, []stepCase{
		{"submitting: the JobManager's Job does not exist yet, Flink cannot be asked: created", func() Input {
			in := unreachable(application(Submitting))
			in.Submitter = SubmitterNone
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, JobID("uid", 1), d.Actions[0].JobID, "the same attempt, the same job ID")
		}},
		{"submitting: the JobManager is starting", func() Input {
			return unreachable(application(Submitting))
		}, Submitting, nil, nil},
		{"submitting: the JobManager's pod failed before the job ran: Lost at once, never run again", func() Input {
			in := unreachable(application(Submitting))
			in.Submitter, in.SubmitterReason = SubmitterFailedP, "BackoffLimitExceeded: Job has reached the specified backoff limit"
			return in
		}, Lost, nil, func(t *testing.T, d Decision) {
			assert.Contains(t, d.Status.Message, "JobManager running job")
			assert.Contains(t, d.Status.Message, "BackoffLimitExceeded")
		}},
		{"running: the JobManager's pod failed: Lost at once (no grace: nothing recovers it)", func() Input {
			in := unreachable(application(Running))
			in.Submitter = SubmitterFailedP
			return in
		}, Lost, nil, nil},
		{"running: the JobManager's Job was deleted: Lost, not created again", func() Input {
			in := unreachable(application(Running))
			in.Submitter = SubmitterNone
			return in
		}, Lost, nil, func(t *testing.T, d Decision) {
			assert.Contains(t, d.Status.Message, "ended or was deleted")
		}},
		{"running: an unreachable JobManager whose pod runs is waited for, as in a session cluster", func() Input {
			return unreachable(application(Running))
		}, Running, nil, nil},
		{"a detached job whose submitter is gone while Flink is unreachable is not resubmitted", func() Input {
			in := unreachable(input(Submitting))
			in.Submitter = SubmitterNone
			return in
		}, Submitting, nil, nil},
		{"updating: the JobManager ends during the stop: Lost, the stop abandoned", func() Input {
			in := unreachable(application(Updating))
			in.Status.Savepoint = inFlight(v1beta1.SavepointReasonUpdate, -time.Second)
			in.Submitter = SubmitterFailedP
			return in
		}, Lost, nil, nil},
		{"finished: the JobManager stays up and Flink reports the end", func() Input {
			in := application(Running)
			in.Flink.State = "FINISHED"
			return in
		}, Succeeded, nil, nil},
		{"lost with a savepoint and FromSavepointOnFailure: a new attempt, a new JobManager", func() Input {
			in := unreachable(application(Lost))
			in.Submitter = SubmitterFailedP
			in.Spec.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
			in.Status.SavepointLocation = "/sp/savepoint-1"
			in.Status.EndTime = at(-time.Hour)
			return in
		}, Submitting, []ActionKind{ActCreateSubmitter}, func(t *testing.T, d Decision) {
			assert.Equal(t, JobID("uid", 2), d.Actions[0].JobID)
			assert.Equal(t, "/sp/savepoint-1", d.Actions[0].FromSavepoint)
		}},
	})
}
