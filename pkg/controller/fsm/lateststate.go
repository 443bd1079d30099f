package fsm

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// unrestorableLimit bounds status.components.job.unrestorableLocations.
const unrestorableLimit = 10

// fallbackNote starts the message of an attempt that restores from older state than the newest
// the operator knows of; Notices turns it into a Warning event.
const fallbackNote = "restoring from older state: "

// source is where a new attempt restores from.
type source struct {
	Location   string
	Checkpoint bool
	// CheckpointID is the checkpoint's ID when it is a recorded checkpoint (0 otherwise).
	CheckpointID int64
	// Fallback says why a newer candidate was passed over ("" when none was).
	Fallback string
}

// describe is the status message of an attempt restoring from s.
func (s source) describe() string {
	if s.Location == "" {
		return ""
	}
	what := "savepoint " + s.Location
	if s.Checkpoint {
		what = fmt.Sprintf("checkpoint %d at %s", s.CheckpointID, s.Location)
	}
	if s.Fallback != "" {
		return fallbackNote + what + ": " + s.Fallback
	}
	return "restoring from " + what
}

// recordCheckpointObservations keeps what the JobManager said about the job's checkpoints: the
// latest completed one (when it changed, so an unchanged history writes nothing) and the
// retention its configuration gives them.
func recordCheckpointObservations(in Input, st *v1beta1.JobStatus) {
	if in.Retention.Read && st.ID != "" {
		st.CheckpointRetention, st.CheckpointInterval = in.Retention.Retention, nil
		if in.Retention.Interval > 0 {
			st.CheckpointInterval = &metav1.Duration{Duration: in.Retention.Interval}
		}
	}
	latest := in.Checkpoints.Latest
	if !in.Checkpoints.Read || latest.ID == 0 || st.ID == "" {
		return
	}
	if rec := st.LatestCheckpoint; rec != nil && rec.JobID == st.ID && rec.ID == latest.ID && rec.Discarded == latest.Discarded {
		return
	}
	rec := &v1beta1.CheckpointRecord{JobID: st.ID, ID: latest.ID, Location: latest.Path, Savepoint: latest.Savepoint,
		Discarded: latest.Discarded, RecordTime: stamp(in.Now), Older: olderThanSavepoint(in, *st)}
	if !latest.CompletedAt.IsZero() {
		rec.CompletionTime = stamp(latest.CompletedAt)
	}
	st.LatestCheckpoint = rec
}

// olderThanSavepoint are the older retained checkpoints that are still newer than the savepoint
// in status: all of them without a savepoint, those above its checkpoint ID when the history
// names it, none when the savepoint's ID is not known (the savepoint is then the next candidate).
func olderThanSavepoint(in Input, st v1beta1.JobStatus) []v1beta1.CheckpointRef {
	cp := in.Checkpoints
	known := st.SavepointLocation == "" || cp.LatestSavepointPath == st.SavepointLocation
	var out []v1beta1.CheckpointRef
	for _, c := range cp.Older {
		if known && c.ID > cp.LatestSavepointID {
			out = append(out, v1beta1.CheckpointRef{ID: c.ID, Location: c.Path})
		}
	}
	return out
}

// newestState is the newest state a new attempt can restore from: the recorded checkpoint, when
// it was read after the savepoint in status ended and the job's end kept it (unkept says why
// not, "" when it did), else that savepoint. Locations Flink failed to restore from are passed
// over. Whatever is passed over is said in Fallback: never silently older.
func newestState(st v1beta1.JobStatus, unkept string) source {
	var passed []string
	sp := source{Location: st.SavepointLocation}
	if sp.Location != "" && unrestorable(st, sp.Location) {
		passed = append(passed, "savepoint "+sp.Location+" could not be restored")
		sp = source{}
	}
	if rec := st.LatestCheckpoint; rec != nil && rec.Location != "" && newerThanSavepoint(st, rec) {
		candidates := append([]v1beta1.CheckpointRef{{ID: rec.ID, Location: rec.Location}}, rec.Older...)
		for i, c := range candidates {
			what := fmt.Sprintf("checkpoint %d at %s", c.ID, c.Location)
			isSavepoint := i == 0 && rec.Savepoint
			switch {
			case unrestorable(st, c.Location):
				passed = append(passed, what+" could not be restored")
			case i == 0 && rec.Discarded:
				passed = append(passed, what+" was deleted by Flink")
			case unkept != "" && !isSavepoint:
				passed = append(passed, what+" "+unkept)
			default:
				return source{Location: c.Location, Checkpoint: !isSavepoint, CheckpointID: c.ID, Fallback: strings.Join(passed, "; ")}
			}
		}
	}
	if sp.Location != "" {
		sp.Fallback = strings.Join(passed, "; ")
	}
	return sp
}

// newerThanSavepoint: the record was read after the savepoint in status ended, so it is that
// savepoint or newer (the record is the newer of Flink's latest checkpoint and latest savepoint).
// A tie on the second-truncated stamps goes to the savepoint. A savepoint no longer in the history ended
// before ten later savepoint operations, long before any record.
func newerThanSavepoint(st v1beta1.JobStatus, rec *v1beta1.CheckpointRecord) bool {
	if st.SavepointLocation == "" {
		return true
	}
	for _, sp := range st.SavepointHistory {
		if sp.Location == st.SavepointLocation && sp.EndTime != nil {
			return rec.RecordTime != nil && rec.RecordTime.After(sp.EndTime.Time)
		}
	}
	return true
}

// unrestorable: Flink failed to restore from location before.
func unrestorable(st v1beta1.JobStatus, location string) bool {
	for _, l := range st.UnrestorableLocations {
		if l == location {
			return true
		}
	}
	return false
}

// keptAfterEnd says why the job's end did not keep its latest checkpoint ("" when it did, or
// when the operator cannot tell and lets Flink try): a failed job keeps it unless its checkpoints
// are not retained; a cancelled one only with RetainOnCancellation. A lost job's JobManager
// died without deleting anything.
func keptAfterEnd(st v1beta1.JobStatus) string {
	r := st.CheckpointRetention
	switch {
	case st.State == Lost || r == "":
		return ""
	case r == v1beta1.CheckpointRetentionNotRetained:
		return "was deleted when the job ended (the job's checkpoint configuration does not retain checkpoints)"
	case st.State == Cancelled && r != v1beta1.CheckpointRetentionRetainOnCancellation:
		return "was deleted when the job was cancelled (the job's checkpoint configuration deletes checkpoints on cancellation)"
	}
	return ""
}

// restartSource is where a restart resumes from: the savepoint in status for
// FromSavepointOnFailure, the newest kept state for FromLatestStateOnFailure.
func restartSource(spec v1beta1.JobSpec, st v1beta1.JobStatus) source {
	p := spec.RestartPolicy
	switch {
	case p == nil:
		return source{}
	case *p == v1beta1.JobRestartPolicyFromLatestStateOnFailure:
		return newestState(st, keptAfterEnd(st))
	case *p == v1beta1.JobRestartPolicyFromSavepointOnFailure && !unrestorable(st, st.SavepointLocation):
		return source{Location: st.SavepointLocation}
	}
	return source{}
}

// updateSource is where an update resumes from: a LastState update from the checkpoint its
// cancellation left (recorded from the history read after the job stopped), any other from the
// savepoint in status.
func updateSource(st v1beta1.JobStatus) source {
	if rollingBack(st) {
		return source{Location: st.Rollback.RestoreFrom, Checkpoint: st.Rollback.RestoreFromCheckpoint}
	}
	if st.RestoreTarget != "" {
		return source{Location: st.RestoreTarget}
	}
	if st.UpdateMode != v1beta1.UpgradeModeLastState {
		return source{Location: st.SavepointLocation}
	}
	s := newestState(st, "")
	if rec := st.LatestCheckpoint; rec == nil || rec.JobID != st.ID {
		s.Fallback = strings.TrimPrefix(s.Fallback+"; ", "; ") + "the job's checkpoint history showed no completed checkpoint after it was cancelled"
	}
	return s
}

// updateMode is how the update in progress stops the job: as recorded when it started; for an
// update started by an operator that did not record it, as its savepoint and the spec say.
func updateMode(in Input) v1beta1.UpgradeMode {
	switch {
	case in.Status.UpdateMode != "":
		return in.Status.UpdateMode
	case savepointInFlight(in.Status) && (in.Status.Savepoint.Reason == v1beta1.SavepointReasonUpdate || in.Status.Savepoint.Reason == v1beta1.SavepointReasonSuspend):
		return v1beta1.UpgradeModeSavepoint
	}
	return in.Spec.EffectiveUpgradeMode()
}

// flinkVersionChanged: the new spec runs another Flink version than the running attempt (or
// either does not say which), whose checkpoints it might not restore.
func flinkVersionChanged(in Input) bool {
	return in.FlinkVersion == "" || in.FlinkVersion != in.Status.FlinkVersion
}

// VersionChangeBlocker starts LastStateBlocker's answer for an update to another Flink version.
const VersionChangeBlocker = "the update changes the Flink version"

// LastStateBlocker says why the running job cannot be updated by cancelling it and resuming from
// its latest checkpoint ("" when it can).
func LastStateBlocker(in Input) string {
	st := in.Status
	rec := st.LatestCheckpoint
	switch {
	case flinkVersionChanged(in):
		return VersionChangeBlocker + " (or the image does not say which it runs): checkpoints are not guaranteed to restore across versions, so it is updated by savepoint"
	case st.CheckpointRetention == "":
		return "the job's checkpoint configuration has not been read yet"
	case st.CheckpointRetention == v1beta1.CheckpointRetentionCheckpointingDisabled:
		return "the job takes no checkpoints (enable checkpointing in its code or with execution.checkpointing.interval in spec.flinkProperties)"
	case st.CheckpointRetention != v1beta1.CheckpointRetentionRetainOnCancellation:
		return fmt.Sprintf("the job's checkpoint configuration (checkpointRetention %s) would delete its checkpoints when it is cancelled; "+
			"the job's code overrides execution.checkpointing.externalized-checkpoint-retention", st.CheckpointRetention)
	case rec == nil || rec.JobID != st.ID || rec.Location == "" || rec.Discarded:
		return "the job has not completed a checkpoint yet"
	case !in.Flink.Found:
		return "Flink does not report the job"
	}
	return ""
}

func lastStatePossible(in Input) bool { return LastStateBlocker(in) == "" }

// restoreFailed: the attempt was to restore from a location and Flink failed the job because it
// is not there.
func restoreFailed(in Input) bool {
	return in.Status.FromSavepoint != "" && in.Flink.RestoreMissing
}

var (
	markUnrestorable = Effect{"record a restore source Flink could not find (it is never tried again)", func(in Input, st *v1beta1.JobStatus) []Action {
		if restoreFailed(in) && !unrestorable(*st, st.FromSavepoint) {
			st.UnrestorableLocations = append([]string{st.FromSavepoint}, st.UnrestorableLocations...)
			if len(st.UnrestorableLocations) > unrestorableLimit {
				st.UnrestorableLocations = st.UnrestorableLocations[:unrestorableLimit]
			}
		}
		return nil
	}}
	switchToLastState = Effect{"switch the update to LastState (upgradeFallback)", func(in Input, st *v1beta1.JobStatus) []Action {
		st.UpdateMode = v1beta1.UpgradeModeLastState
		return nil
	}}
)

// recordRestore records a restore request of a running job: the savepoint to resubmit from, the
// revision, and how the job is stopped first.
func recordRestore(mode v1beta1.UpgradeMode) Effect {
	return Effect{"record the restore from spec.job.fromSavepoint, stopping the job by " + string(mode), func(in Input, st *v1beta1.JobStatus) []Action {
		st.RestoreTarget = *in.Spec.FromSavepoint
		st.TargetRevision, st.UpdateMode = in.Revision, mode
		return nil
	}}
}

// recordRestoreTarget records a restore request of a job that does not run: the savepoint the
// next attempt starts from.
var recordRestoreTarget = Effect{"record the restore from spec.job.fromSavepoint", func(in Input, st *v1beta1.JobStatus) []Action {
	st.RestoreTarget = *in.Spec.FromSavepoint
	return nil
}}

// recordStopMode records how a suspension stops the job (status.updateMode), which the resume reads
// to pick what it restores.
func recordStopMode(mode v1beta1.UpgradeMode) Effect {
	return Effect{"record that the job is suspended by " + string(mode), func(in Input, st *v1beta1.JobStatus) []Action {
		st.UpdateMode = mode
		return nil
	}}
}

func recordTarget(mode v1beta1.UpgradeMode) Effect {
	return Effect{"record the revision to roll out, by " + string(mode), func(in Input, st *v1beta1.JobStatus) []Action {
		st.TargetRevision = in.Revision
		st.UpdateMode = mode
		return nil
	}}
}
