package fsm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
)

// savepointHistoryLimit is how many savepoint operations status keeps.
const savepointHistoryLimit = 10

// cancelRetryDelay spaces attempts at the savepoint a cancellation takes.
const cancelRetryDelay = 30 * time.Second

// finalSavepointRetryDelay spaces attempts at a deletion's final savepoint; they end at the
// deletion's deadline (decide).
const finalSavepointRetryDelay = 10 * time.Second

// Effect is a named change of status that may emit actions.
type Effect struct {
	Name  string
	Apply func(in Input, st *v1beta1.JobStatus) []Action
}

// JobID is the Flink job ID of a cluster's attempt: deterministic, so that the same attempt is
// always submitted under the same ID and Flink rejects a duplicate.
func JobID(clusterUID string, attempt int32) string {
	sum := sha256.Sum256([]byte(clusterUID + "/" + strconv.Itoa(int(attempt))))
	return hex.EncodeToString(sum[:16])
}

// triggerID is a savepoint's client-chosen trigger ID: recorded before the trigger, so a retry
// after a crash reuses it and Flink treats it as the same request.
func triggerID(jobID string, reason v1beta1.SavepointReason, now time.Time) string {
	sum := sha256.Sum256([]byte(jobID + "/" + string(reason) + "/" + strconv.FormatInt(now.UnixNano(), 10)))
	return hex.EncodeToString(sum[:16])
}

func stamp(t time.Time) *metav1.Time {
	m := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &m
}

var (
	submitFirst = Effect{"submit attempt 1 from spec.job.fromSavepoint", func(in Input, st *v1beta1.JobStatus) []Action {
		from := source{}
		if in.Spec.FromSavepoint != nil {
			from.Location = *in.Spec.FromSavepoint
		}
		st.RestoreGeneration = in.Spec.RestoreGeneration
		st.AppliedFromSavepoint = &from.Location
		return newAttempt(in, st, from)
	}}
	restart = Effect{"restartCount+1, submit a new attempt from the savepoint in status (FromSavepointOnFailure) or the newest kept checkpoint or savepoint (FromLatestStateOnFailure)", func(in Input, st *v1beta1.JobStatus) []Action {
		st.RestartCount++
		return newAttempt(in, st, restartSource(in.Spec, *st))
	}}
	resubmit = Effect{"create the submitter (in application mode the JobManager) again, same job ID", func(in Input, st *v1beta1.JobStatus) []Action {
		return []Action{{Kind: ActCreateSubmitter, JobID: st.ID, FromSavepoint: st.FromSavepoint}}
	}}
	markStarted = Effect{"record the start (and Flink's start time of the attempt)", func(in Input, st *v1beta1.JobStatus) []Action {
		if st.StartTime == nil {
			st.StartTime = stamp(in.Now)
		}
		if !in.Flink.StartTime.IsZero() && (st.FlinkStartTime == nil || in.Status.State != Running) {
			st.FlinkStartTime = stamp(in.Flink.StartTime)
		}
		st.NotFoundSince = nil
		st.Message = ""
		return nil
	}}
	recordFlinkRecovery = Effect{"record that a new JobManager recovered the job by itself: when, and from which checkpoint (restartCount unchanged)", func(in Input, st *v1beta1.JobStatus) []Action {
		st.FlinkStartTime = stamp(in.Flink.StartTime)
		st.FlinkRecoveries++
		from := in.Checkpoints.RestoredFrom
		st.LastFlinkRecovery = &v1beta1.FlinkRecovery{Time: stamp(in.Flink.StartTime), CheckpointID: from.ID, Location: from.Path, Savepoint: from.Savepoint}
		st.NotFoundSince = nil
		st.Message = ""
		return nil
	}}
	markMissing = Effect{"record when the JobManager stopped knowing the job (with high availability: say that Flink is expected to recover it)", func(in Input, st *v1beta1.JobStatus) []Action {
		st.NotFoundSince = stamp(in.Now)
		if in.HighAvailability {
			st.Message = fmt.Sprintf("the JobManager does not know job %s: waiting up to %s for Flink's high-availability services to recover it (the operator does not resubmit it meanwhile)", in.Status.ID, in.Settings.HARecoveryGrace)
		}
		return nil
	}}
	endJob = Effect{"record the end", func(in Input, st *v1beta1.JobStatus) []Action {
		st.EndTime = stamp(in.Now)
		st.NotFoundSince = nil
		st.Message = endMessage(in)
		return nil
	}}
	markUnhealthy = Effect{"say why the operator cancels the job (the health verdict) and that its restart policy restarts it", func(in Input, st *v1beta1.JobStatus) []Action {
		st.Message = unhealthyMessage(in.Health)
		return nil
	}}
	endUnhealthy = Effect{"record the end of the job cancelled as unhealthy (its restart policy restarts it)", func(in Input, st *v1beta1.JobStatus) []Action {
		st.EndTime = stamp(in.Now)
		st.NotFoundSince = nil
		if st.Message == "" {
			st.Message = unhealthyMessage(in.Health)
		}
		return nil
	}}
	failFromSubmitter = Effect{"record the submitter's failure", func(in Input, st *v1beta1.JobStatus) []Action {
		st.EndTime = stamp(in.Now)
		st.Message = "the job submitter failed: " + in.SubmitterReason
		return nil
	}}
	triggerSavepoint = Effect{"record and trigger a savepoint", func(in Input, st *v1beta1.JobStatus) []Action {
		return startSavepoint(in, st, savepointDue(in), ActTriggerSavepoint)
	}}
	stopWithSavepoint = Effect{"record and stop the job with a savepoint", func(in Input, st *v1beta1.JobStatus) []Action {
		return startSavepoint(in, st, v1beta1.SavepointReasonCancel, ActStopWithSavepoint)
	}}
	cancelJob = Effect{"cancel the job without a savepoint", func(in Input, st *v1beta1.JobStatus) []Action {
		return []Action{{Kind: ActCancelJob, JobID: st.ID}}
	}}
	stopForUpdate = Effect{"record and stop the job with a savepoint for the update", func(in Input, st *v1beta1.JobStatus) []Action {
		return startSavepoint(in, st, v1beta1.SavepointReasonUpdate, ActStopWithSavepoint)
	}}
	stopForSuspend = Effect{"record and stop the job with a savepoint for the suspension", func(in Input, st *v1beta1.JobStatus) []Action {
		return startSavepoint(in, st, v1beta1.SavepointReasonSuspend, ActStopWithSavepoint)
	}}
	markSuspended = Effect{"say the job is suspended, and what a resume restores", func(in Input, st *v1beta1.JobStatus) []Action {
		st.Message = "suspended (spec.job.state); set it to Running to resume"
		if d := updateSource(*st).describe(); st.Attempt > 0 && d != "" {
			st.Message += " (" + d + ")"
		}
		return nil
	}}
	markResumed = Effect{"clear the suspension's message", func(in Input, st *v1beta1.JobStatus) []Action {
		st.Message = ""
		return nil
	}}
	stopForDeletion = Effect{"record and stop the job with a final savepoint", func(in Input, st *v1beta1.JobStatus) []Action {
		return startSavepoint(in, st, v1beta1.SavepointReasonDelete, ActStopWithSavepoint)
	}}
	resetUserRetries = Effect{"record the retry request and allow the requested savepoint again", func(in Input, st *v1beta1.JobStatus) []Action {
		st.SavepointRetryToken = in.SavepointRetryToken
		st.UserSavepointFailures = 0
		return nil
	}}
	clearTarget = Effect{"forget the update or restore (it is tried again later)", func(in Input, st *v1beta1.JobStatus) []Action {
		st.TargetRevision, st.UpdateMode, st.RestoreTarget = "", "", ""
		return nil
	}}
	markStopped = Effect{"record that the job stopped for the update", func(in Input, st *v1beta1.JobStatus) []Action {
		st.EndTime = stamp(in.Now)
		st.NotFoundSince = nil
		return nil
	}}
	submitUpdate = Effect{"submit a new attempt of the new spec from the savepoint in status (LastState: from the checkpoint the cancellation kept; a restore request: from its target)", func(in Input, st *v1beta1.JobStatus) []Action {
		from := updateSource(*st)
		st.TargetRevision, st.UpdateMode = "", ""
		if rollingBack(*st) {
			st.Rollback.State = v1beta1.RollbackStateRolledBack
		}
		if target := st.RestoreTarget; target != "" {
			st.RestoreGeneration, st.AppliedFromSavepoint, st.RestoreTarget = in.Spec.RestoreGeneration, &target, ""
		}
		return newAttempt(in, st, from)
	}}
	retrigger = Effect{"trigger the recorded savepoint again (same trigger ID)", func(in Input, st *v1beta1.JobStatus) []Action {
		kind := ActTriggerSavepoint
		if isStop(st.Savepoint.Reason) {
			kind = ActStopWithSavepoint
		}
		return []Action{{Kind: kind, JobID: st.ID, TriggerID: st.Savepoint.TriggerID, TargetDir: savepointsDir(in.Spec), Format: in.Spec.SavepointFormat()}}
	}}
	savepointSucceeded = Effect{"record the savepoint (from its trigger, or from the checkpoint history when Flink forgot a stop's trigger)", func(in Input, st *v1beta1.JobStatus) []Action {
		location, msg := in.Savepoint.Location, ""
		if path, ok := stopSavepointInHistory(in); ok && !in.Savepoint.Done {
			location = path
			msg = fmt.Sprintf("confirmed from the job's checkpoint history (checkpoint %d): the JobManager no longer knew the trigger", in.Checkpoints.LatestSavepointID)
		}
		sp := finishSavepoint(in, st, v1beta1.SavepointStateSucceeded, msg)
		sp.Location = location
		st.SavepointLocation = location
		st.SavepointGeneration++
		st.UserSavepointFailures = 0
		pushHistory(st, *sp)
		return nil
	}}
	markStopOverdue = Effect{"mark the stop overdue and keep asking Flink (never read as the job's end)", func(in Input, st *v1beta1.JobStatus) []Action {
		sp := st.Savepoint.DeepCopy()
		sp.Message = fmt.Sprintf("Flink has not confirmed this stop within %s; the operator keeps asking and "+
			"rebuilds, resubmits or releases nothing until the stop's savepoint is found", in.Settings.SavepointTimeout)
		st.Savepoint = sp
		return nil
	}}
	stopUnconfirmed = Effect{"record that the stop's savepoint cannot be confirmed", func(in Input, st *v1beta1.JobStatus) []Action {
		msg := fmt.Sprintf("the job stopped, but the JobManager no longer knows the stop's trigger and its checkpoint history "+
			"shows no savepoint after checkpoint %d", st.Savepoint.AfterCheckpointID)
		sp := finishSavepoint(in, st, v1beta1.SavepointStateUnconfirmed, msg)
		pushHistory(st, *sp)
		if sp.Reason == v1beta1.SavepointReasonUpdate || sp.Reason == v1beta1.SavepointReasonSuspend {
			st.Message = msg + "; the job is not resubmitted from the older savepoint " + quoteOrNone(st.SavepointLocation) +
				": to resume, recreate the FlinkCluster with spec.job.fromSavepoint set to the savepoint to restore"
		}
		return nil
	}}
	recordExternalSavepoint = Effect{"record a savepoint that stopped the job from outside the operator (checkpoint history)", func(in Input, st *v1beta1.JobStatus) []Action {
		path := in.Checkpoints.LatestSavepointPath
		if path == "" || path == st.SavepointLocation || inHistory(st, path) {
			return nil
		}
		now := stamp(in.Now)
		st.SavepointLocation = path
		pushHistory(st, v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonExternal, State: v1beta1.SavepointStateSucceeded,
			EndTime: now, Location: path, Message: fmt.Sprintf("taken outside the operator; found in the job's checkpoint history (checkpoint %d)", in.Checkpoints.LatestSavepointID)})
		return nil
	}}
	savepointFailed = Effect{"record the savepoint failure", func(in Input, st *v1beta1.JobStatus) []Action {
		failSavepoint(in, st, "savepoint failed: "+in.Savepoint.Failure)
		return nil
	}}
	savepointTimedOut = Effect{"record the savepoint timeout", func(in Input, st *v1beta1.JobStatus) []Action {
		failSavepoint(in, st, fmt.Sprintf("savepoint did not complete within %s", in.Settings.SavepointTimeout))
		return nil
	}}
	abandonSavepoint = Effect{"record the savepoint as failed: the job ended", func(in Input, st *v1beta1.JobStatus) []Action {
		if savepointInFlight(*st) {
			failSavepoint(in, st, "the job ended before the savepoint completed")
		}
		return nil
	}}
)

// newAttempt records a new attempt (write-ahead: ID and source before the submitter exists) and
// asks for its submitter. The latest checkpoint record stays: until the new attempt completes a
// checkpoint, it is the newest state a restart can resume from.
func newAttempt(in Input, st *v1beta1.JobStatus, from source) []Action {
	st.Attempt++
	st.ID = JobID(in.ClusterUID, st.Attempt)
	st.FromSavepoint, st.FromCheckpoint = from.Location, from.Checkpoint
	st.SubmitTime = stamp(in.Now)
	st.Revision = in.Revision
	st.FlinkVersion = in.FlinkVersion
	st.StartTime, st.EndTime, st.NotFoundSince = nil, nil, nil
	st.FlinkJobState, st.CheckpointRetention, st.CheckpointInterval = "", "", nil
	st.Message = from.describe()
	return []Action{{Kind: ActCreateSubmitter, JobID: st.ID, FromSavepoint: from.Location}}
}

func startSavepoint(in Input, st *v1beta1.JobStatus, reason v1beta1.SavepointReason, kind ActionKind) []Action {
	id := triggerID(st.ID, reason, in.Now)
	st.Savepoint = &v1beta1.SavepointOperation{TriggerID: id, Reason: reason, State: v1beta1.SavepointStateInProgress, StartTime: stamp(in.Now)}
	if isStop(reason) {
		st.Savepoint.AfterCheckpointID = in.Checkpoints.MaxID
	}
	st.LastSavepointTriggerID = id
	return []Action{{Kind: kind, JobID: st.ID, TriggerID: id, TargetDir: savepointsDir(in.Spec), Format: in.Spec.SavepointFormat()}}
}

func finishSavepoint(in Input, st *v1beta1.JobStatus, state v1beta1.SavepointState, msg string) *v1beta1.SavepointOperation {
	sp := st.Savepoint.DeepCopy()
	sp.State, sp.EndTime, sp.Message = state, stamp(in.Now), msg
	st.Savepoint = sp
	st.LastSavepointTime = sp.EndTime
	st.LastSavepointTriggerID = sp.TriggerID
	return sp
}

func failSavepoint(in Input, st *v1beta1.JobStatus, msg string) {
	sp := finishSavepoint(in, st, v1beta1.SavepointStateFailed, msg)
	if sp.Reason == v1beta1.SavepointReasonUser {
		st.UserSavepointFailures++
	}
	pushHistory(st, *sp)
}

func inHistory(st *v1beta1.JobStatus, location string) bool {
	for _, sp := range st.SavepointHistory {
		if sp.Location == location {
			return true
		}
	}
	return false
}

func quoteOrNone(location string) string {
	if location == "" {
		return "(none recorded)"
	}
	return location
}

func pushHistory(st *v1beta1.JobStatus, sp v1beta1.SavepointOperation) {
	st.SavepointHistory = append([]v1beta1.SavepointOperation{sp}, st.SavepointHistory...)
	if len(st.SavepointHistory) > savepointHistoryLimit {
		st.SavepointHistory = st.SavepointHistory[:savepointHistoryLimit]
	}
}

// unhealthyMessage says why an unhealthy job was cancelled.
func unhealthyMessage(v health.Verdict) string {
	return "cancelled by the operator as unhealthy (spec.job.restartOnUnhealthy), to be restarted by its restartPolicy: " +
		v.Reason + ": " + v.Message
}

func endMessage(in Input) string {
	switch {
	case in.Flink.Found && in.Flink.Failure != "":
		return "Flink reports the job " + in.Flink.State + ": " + in.Flink.Failure
	case in.Flink.Found:
		return "Flink reports the job " + in.Flink.State
	case applicationJobManagerGone(in) && in.SubmitterReason != "":
		return "the JobManager running job " + in.Status.ID + " ended before the job did: " + in.SubmitterReason
	case applicationJobManagerGone(in):
		return "the JobManager running job " + in.Status.ID + " ended or was deleted before the job did"
	case in.HighAvailability:
		return fmt.Sprintf("the JobManager has not known job %s for %s although high availability is on: Flink did not recover it (were its HA ConfigMaps or storage directory removed?)", in.Status.ID, in.Settings.HARecoveryGrace)
	default:
		return fmt.Sprintf("the JobManager has not known job %s for %s (JobManager restarted without HA?)", in.Status.ID, in.Settings.LostGrace)
	}
}
