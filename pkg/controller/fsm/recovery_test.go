package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// recovering is a running HA job whose attempt Flink started at t0-1m (recorded) and, after a
// JobManager failover, again at t0-5s from checkpoint 12.
func recovering(state State) Input {
	in := input(state)
	in.HighAvailability = true
	in.Status.RestartCount = 2
	in.Status.FlinkStartTime = at(-time.Minute)
	in.Flink.StartTime = t0.Add(-5*time.Second + 250*time.Millisecond)
	in.Checkpoints.Restored = true
	in.Checkpoints.RestoredFrom = CompletedCheckpoint{ID: 12, Path: "file:/cp/chk-12"}
	return in
}

func TestFlinkSideRecovery(t *testing.T) {
	cases := []struct {
		name  string
		input func() Input
		check func(t *testing.T, d Decision)
	}{
		{"a later start time: recorded as a recovery by Flink, restartCount unchanged, nothing submitted", func() Input {
			return recovering(Running)
		}, func(t *testing.T, d Decision) {
			require.NotNil(t, d.Transition)
			assert.Equal(t, JobRecovered, d.Event)
			assert.Equal(t, Running, d.Status.State)
			assert.Empty(t, d.Actions)
			assert.Equal(t, int32(2), d.Status.RestartCount)
			assert.Equal(t, int32(1), d.Status.FlinkRecoveries)
			assert.Equal(t, &v1beta1.FlinkRecovery{Time: at(-5 * time.Second), CheckpointID: 12, Location: "file:/cp/chk-12"}, d.Status.LastFlinkRecovery)
			assert.Equal(t, at(-5*time.Second), d.Status.FlinkStartTime)
		}},
		{"the same start time, read with milliseconds the status does not keep: nothing", func() Input {
			in := recovering(Running)
			in.Flink.StartTime = t0.Add(-time.Minute + 900*time.Millisecond)
			return in
		}, func(t *testing.T, d Decision) { assert.Nil(t, d.Transition) }},
		{"a recovery after the job was missing clears the miss", func() Input {
			in := recovering(Running)
			in.Status.NotFoundSince = at(-20 * time.Second)
			in.Status.Message = "waiting"
			return in
		}, func(t *testing.T, d Decision) {
			assert.Equal(t, JobRecovered, d.Event)
			assert.Nil(t, d.Status.NotFoundSince)
			assert.Empty(t, d.Status.Message)
		}},
		{"an attempt whose start time was never recorded (an older operator started it) stays so: no write per poll", func() Input {
			// Recording it on any poll would write status on every poll wherever the API server
			// prunes the field (a CRD older than the operator): a recovery of such an attempt
			// goes unrecorded instead (docs/operations.md).
			in := recovering(Running)
			in.Status.FlinkStartTime = nil
			return in
		}, func(t *testing.T, d Decision) { assert.Nil(t, d.Transition) }},
		{"a new attempt records its own start time over the last attempt's", func() Input {
			in := recovering(Submitting)
			return in
		}, func(t *testing.T, d Decision) {
			assert.Equal(t, JobActive, d.Event)
			assert.Equal(t, Running, d.Status.State)
			assert.Equal(t, at(-5*time.Second), d.Status.FlinkStartTime)
			assert.Zero(t, d.Status.FlinkRecoveries)
		}},
		{"while savepointing the recovery waits (the lost trigger is retriggered first)", func() Input {
			in := recovering(Savepointing)
			in.Status.Savepoint = &v1beta1.SavepointOperation{TriggerID: "t", State: v1beta1.SavepointStateInProgress, Reason: v1beta1.SavepointReasonUser, StartTime: at(-time.Second)}
			in.Savepoint = SavepointObservation{Polled: true, NotFound: true}
			return in
		}, func(t *testing.T, d Decision) {
			assert.Equal(t, SavepointUnknown, d.Event)
			assert.Zero(t, d.Status.FlinkRecoveries)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, Step(tc.input())) })
	}
}

func TestFlinkSideRecoveryReadsWhatWasRestored(t *testing.T) {
	in := recovering(Running)
	in.Checkpoints = CheckpointObservation{}
	assert.True(t, NeedsCheckpoints(in), "which checkpoint Flink restored is in the history")
	d := Step(in)
	assert.Zero(t, d.Status.FlinkRecoveries, "not recorded before the history is read")
}

func TestRecoveredByFlinkNotice(t *testing.T) {
	before := recovering(Running).Status
	d := Step(recovering(Running))
	notices := Notices(before, d.Status)
	require.Len(t, notices, 1)
	assert.Equal(t, NoticeRecoveredByFlink, notices[0].Reason)
	assert.False(t, notices[0].Warning)
	assert.Contains(t, notices[0].Message, "recovered job "+before.ID+" by itself from checkpoint 12 (file:/cp/chk-12); recovery 1 of this attempt, restartCount stays 2")
}

// TestFinalSavepointRetry: a failed final savepoint of a job that still runs is triggered again
// after finalSavepointRetryDelay (right after a restart Flink refuses savepoints until every task
// runs); not sooner, not once the job stopped, not when the user skipped it.
func TestFinalSavepointRetry(t *testing.T) {
	deleting := func(failedAgo time.Duration) Input {
		in := input(Deleting)
		in.Deleting = true
		in.Status.Savepoint = &v1beta1.SavepointOperation{TriggerID: "t1", Reason: v1beta1.SavepointReasonDelete,
			State: v1beta1.SavepointStateFailed, StartTime: at(-failedAgo - time.Second), EndTime: at(-failedAgo)}
		return in
	}
	d := Step(deleting(finalSavepointRetryDelay))
	require.NotNil(t, d.Transition)
	assert.Equal(t, DeletionRequested, d.Event)
	require.Len(t, d.Actions, 1)
	assert.Equal(t, ActStopWithSavepoint, d.Actions[0].Kind)
	assert.Equal(t, v1beta1.SavepointReasonDelete, d.Status.Savepoint.Reason)
	assert.Equal(t, v1beta1.SavepointStateInProgress, d.Status.Savepoint.State)
	assert.NotEqual(t, "t1", d.Status.Savepoint.TriggerID, "a new trigger")

	assert.Nil(t, Step(deleting(finalSavepointRetryDelay-time.Second)).Transition, "not sooner")
	stopped := deleting(time.Minute)
	stopped.Flink.State = "FINISHED"
	assert.Nil(t, Step(stopped).Transition, "the job stopped: nothing to save")
	skipped := deleting(time.Minute)
	skipped.SkipFinalSavepoint = true
	assert.Nil(t, Step(skipped).Transition, "the user skipped it")
	unread := deleting(time.Minute)
	unread.Checkpoints = CheckpointObservation{}
	assert.Nil(t, Step(unread).Transition, "the stop records its baseline from the history first")
	assert.True(t, NeedsCheckpoints(unread))
}
