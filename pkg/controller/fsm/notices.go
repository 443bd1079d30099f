package fsm

import (
	"fmt"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// Notice is something a step did to a savepoint that deserves an event of its own: the
// transition's event does not say it, or (a self-transition) there is none.
type Notice struct {
	Warning bool
	Reason  string
	Message string
}

// The reasons of the notices' events.
const (
	NoticeStopOverdue        = "StopOverdue"
	NoticeStopUnconfirmed    = "StopUnconfirmed"
	NoticeSavepointConfirmed = "SavepointConfirmed"
	NoticeExternalSavepoint  = "ExternalSavepoint"
	NoticeRestoring          = "Restoring"
	NoticeRecoveredByFlink   = "RecoveredByFlink"
)

// Notices compares the job status before and after a step.
func Notices(before, after v1beta1.JobStatus) []Notice {
	var out []Notice
	if StopOverdue(after) && !StopOverdue(before) {
		out = append(out, Notice{Warning: true, Reason: NoticeStopOverdue, Message: after.Savepoint.Message})
	}
	if sp, ok := endedSavepoint(before, after); ok {
		switch {
		case sp.State == v1beta1.SavepointStateUnconfirmed:
			msg := sp.Message
			if after.Message != "" && sp.Reason == v1beta1.SavepointReasonUpdate {
				msg = after.Message
			}
			out = append(out, Notice{Warning: true, Reason: NoticeStopUnconfirmed, Message: msg})
		case sp.State == v1beta1.SavepointStateSucceeded && sp.Message != "":
			out = append(out, Notice{Reason: NoticeSavepointConfirmed, Message: "savepoint " + sp.Location + " " + sp.Message})
		}
	}
	if ext, ok := newExternalSavepoint(before, after); ok {
		out = append(out, Notice{Reason: NoticeExternalSavepoint, Message: "recorded savepoint " + ext.Location + ", " + ext.Message})
	}
	if r := after.LastFlinkRecovery; r != nil && after.FlinkRecoveries > before.FlinkRecoveries {
		from := "without restoring state (Flink reports no restored checkpoint)"
		if r.CheckpointID > 0 {
			from = fmt.Sprintf("from checkpoint %d", r.CheckpointID)
			if r.Location != "" {
				from += " (" + r.Location + ")"
			}
		}
		out = append(out, Notice{Reason: NoticeRecoveredByFlink, Message: fmt.Sprintf(
			"a new JobManager leader recovered job %s by itself %s; recovery %d of this attempt, restartCount stays %d",
			after.ID, from, after.FlinkRecoveries, after.RestartCount)})
	}
	if after.Attempt > before.Attempt && after.FromSavepoint != "" {
		// Which state a new attempt resumes from, and whether older state than the newest known
		// had to do, is what a user checks first after a restart or update.
		out = append(out, Notice{Warning: strings.HasPrefix(after.Message, fallbackNote), Reason: NoticeRestoring,
			Message: fmt.Sprintf("attempt %d %s", after.Attempt, after.Message)})
	}
	return out
}

// endedSavepoint is the savepoint operation that was in flight before and ended in the step.
func endedSavepoint(before, after v1beta1.JobStatus) (v1beta1.SavepointOperation, bool) {
	prev, sp := before.Savepoint, after.Savepoint
	if !savepointInFlight(before) || sp == nil || sp.TriggerID != prev.TriggerID || sp.State == v1beta1.SavepointStateInProgress {
		return v1beta1.SavepointOperation{}, false
	}
	return *sp, true
}

func newExternalSavepoint(before, after v1beta1.JobStatus) (v1beta1.SavepointOperation, bool) {
	if len(after.SavepointHistory) == 0 || after.SavepointHistory[0].Reason != v1beta1.SavepointReasonExternal {
		return v1beta1.SavepointOperation{}, false
	}
	top := after.SavepointHistory[0]
	if len(before.SavepointHistory) > 0 && before.SavepointHistory[0].Location == top.Location {
		return v1beta1.SavepointOperation{}, false
	}
	return top, true
}
