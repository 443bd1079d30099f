package observer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// What the observer takes from a JobManager's answers into status is bounded, so that no answer
// (a JobManager runs the job's own code) can make status too large to write.
const (
	// MaxLocation is the longest savepoint location recorded; a longer one is a failed savepoint.
	MaxLocation = 4096
	// maxStateLength bounds a job state (Flink's are at most 12 characters).
	maxStateLength = 32
)

func boundedState(s string) string {
	if len(s) > maxStateLength {
		return s[:maxStateLength]
	}
	return s
}

// FlinkReader is the part of the Flink REST client the observer uses: reads only.
type FlinkReader interface {
	GetJob(ctx context.Context, jm, jobID string) (flinkclient.JobDetails, error)
	GetJobExceptions(ctx context.Context, jm, jobID string) (flinkclient.JobExceptions, error)
	GetSavepointStatus(ctx context.Context, jm, jobID, triggerID string) (flinkclient.SavepointStatus, error)
	GetCheckpoints(ctx context.Context, jm, jobID string) (flinkclient.CheckpointStats, error)
	GetCheckpointConfig(ctx context.Context, jm, jobID string) (flinkclient.CheckpointConfig, error)
	GetDisposalStatus(ctx context.Context, jm, triggerID string) (flinkclient.SavepointStatus, error)
	GetJobMetrics(ctx context.Context, jm, jobID string, names ...string) (map[string]string, error)
}

// ObserveCheckpoints reads the job's checkpoint history (only when fsm.NeedsCheckpoints asks for
// it: one more REST call). A job without checkpointing has an empty history; any other error
// leaves it unread, and the step that needed it waits for the next poll.
func ObserveCheckpoints(ctx context.Context, flink FlinkReader, jm, jobID string) fsm.CheckpointObservation {
	stats, err := flink.GetCheckpoints(ctx, jm, jobID)
	switch {
	case errors.Is(err, flinkclient.ErrCheckpointingDisabled):
		return fsm.CheckpointObservation{Read: true}
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Cannot read the checkpoint history", "url", jm, "jobID", jobID, "err", err)
		return fsm.CheckpointObservation{}
	}
	obs := fsm.CheckpointObservation{Read: true}
	if sp := stats.LatestSavepoint; sp != nil && !sp.Discarded && len(sp.ExternalPath) <= MaxLocation {
		obs.LatestSavepointID, obs.LatestSavepointPath = sp.ID, sp.ExternalPath
	}
	for _, id := range checkpointIDs(stats) {
		obs.MaxID = max(obs.MaxID, id)
	}
	if c := latestCompleted(stats); c != nil && len(c.ExternalPath) <= MaxLocation {
		obs.Latest = fsm.CompletedCheckpoint{ID: c.ID, Path: c.ExternalPath, Savepoint: c.IsSavepoint, Discarded: c.Discarded}
		if c.LatestAckTimestamp > 0 {
			obs.Latest.CompletedAt = time.UnixMilli(int64(c.LatestAckTimestamp))
		}
	}
	if r := stats.LatestRestored; r != nil {
		obs.Restored = true
		obs.RestoredFrom = fsm.CompletedCheckpoint{ID: r.ID, Savepoint: r.IsSavepoint}
		if len(r.ExternalPath) <= MaxLocation {
			obs.RestoredFrom.Path = r.ExternalPath
		}
	}
	for _, c := range stats.RecentCompleted {
		if len(obs.Older) < fsm.MaxOlderCheckpoints && c.ID < obs.Latest.ID && !c.IsSavepoint && !c.Discarded &&
			c.ExternalPath != "" && len(c.ExternalPath) <= MaxLocation {
			obs.Older = append(obs.Older, fsm.CompletedCheckpoint{ID: c.ID, Path: c.ExternalPath})
		}
	}
	return obs
}

// ObserveRetention reads what the job's checkpoint configuration does with its checkpoints when
// it stops: the job's code may have overridden the cluster's configuration. Any error but
// "checkpointing disabled" leaves it unread, and it is asked again at the next poll.
func ObserveRetention(ctx context.Context, flink FlinkReader, jm, jobID string) fsm.RetentionObservation {
	conf, err := flink.GetCheckpointConfig(ctx, jm, jobID)
	switch {
	case errors.Is(err, flinkclient.ErrCheckpointingDisabled):
		return fsm.RetentionObservation{Read: true, Retention: v1beta1.CheckpointRetentionCheckpointingDisabled}
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Cannot read the checkpoint configuration", "url", jm, "jobID", jobID, "err", err)
		return fsm.RetentionObservation{}
	}
	ext := conf.Externalization
	r := v1beta1.CheckpointRetentionRetainOnCancellation
	switch {
	case conf.Interval <= 0 || conf.Interval == math.MaxInt64:
		// Flink 1.20 and 2.3 answer for a job without checkpointing too, with this interval.
		r = v1beta1.CheckpointRetentionCheckpointingDisabled
	case !ext.Enabled:
		r = v1beta1.CheckpointRetentionNotRetained
	case ext.DeleteOnCancellation:
		r = v1beta1.CheckpointRetentionDeleteOnCancellation
	}
	obs := fsm.RetentionObservation{Read: true, Retention: r}
	if r != v1beta1.CheckpointRetentionCheckpointingDisabled {
		obs.Interval = time.Duration(conf.Interval) * time.Millisecond
	}
	return obs
}

// latestCompleted is the newer of the latest completed checkpoint and the latest savepoint:
// Flink reports them apart (latest.completed leaves savepoints out), and the newest state of
// either kind is what a job resumes from.
func latestCompleted(stats flinkclient.CheckpointStats) *flinkclient.CompletedCheckpoint {
	c, sp := stats.LatestCompleted, stats.LatestSavepoint
	if sp != nil && !sp.Discarded && (c == nil || sp.ID > c.ID) {
		return sp
	}
	return c
}

// checkpointIDs are the IDs the history's latest entries carry.
func checkpointIDs(stats flinkclient.CheckpointStats) []int64 {
	var ids []int64
	if c := stats.LatestCompleted; c != nil {
		ids = append(ids, c.ID)
	}
	if c := stats.LatestSavepoint; c != nil {
		ids = append(ids, c.ID)
	}
	if c := stats.LatestFailed; c != nil {
		ids = append(ids, c.ID)
	}
	if c := stats.LatestRestored; c != nil {
		ids = append(ids, c.ID)
	}
	return ids
}

// ObserveFlink asks the JobManager about the job, and about the savepoint in flight, when the
// job's state says there is something to ask. Every call has its own timeout in the client; an
// unreachable JobManager is an observation, never an error of the sync.
func ObserveFlink(ctx context.Context, flink FlinkReader, jm string, st *v1beta1.JobStatus) (fsm.FlinkObservation, fsm.SavepointObservation) {
	if st == nil || st.ID == "" || !fsm.Active(*st) || jm == "" {
		return fsm.FlinkObservation{}, fsm.SavepointObservation{}
	}
	logger := klog.FromContext(ctx)
	obs := fsm.FlinkObservation{Polled: true, Reachable: true, Found: true}
	job, err := flink.GetJob(ctx, jm, st.ID)
	switch {
	case errors.Is(err, flinkclient.ErrJobNotFound):
		obs.Found = false
	case err != nil:
		logger.V(2).Info("JobManager did not answer", "url", jm, "err", err)
		return fsm.FlinkObservation{Polled: true, Reachable: false}, fsm.SavepointObservation{}
	default:
		obs.State = boundedState(string(job.State))
		if job.StartTime > 0 {
			obs.StartTime = job.StartTime.Time()
		}
	}
	if obs.State == string(flinkclient.JobStateFailed) {
		obs.Failure, obs.RestoreMissing = rootException(ctx, flink, jm, st.ID)
	}
	return obs, observeSavepoint(ctx, flink, jm, st)
}

func observeSavepoint(ctx context.Context, flink FlinkReader, jm string, st *v1beta1.JobStatus) fsm.SavepointObservation {
	sp := st.Savepoint
	if sp == nil || sp.State != v1beta1.SavepointStateInProgress {
		return fsm.SavepointObservation{}
	}
	res, err := flink.GetSavepointStatus(ctx, jm, st.ID, sp.TriggerID)
	switch {
	case errors.Is(err, flinkclient.ErrTriggerNotFound), errors.Is(err, flinkclient.ErrJobNotFound):
		return fsm.SavepointObservation{Polled: true, NotFound: true}
	case err != nil:
		return fsm.SavepointObservation{}
	}
	switch res.State {
	case flinkclient.OperationCompleted:
		if len(res.Location) > MaxLocation {
			return fsm.SavepointObservation{Polled: true, Done: true, Failure: fmt.Sprintf(
				"Flink reported a savepoint location of %d bytes; the operator records locations of at most %d", len(res.Location), MaxLocation)}
		}
		return fsm.SavepointObservation{Polled: true, Done: true, Location: res.Location}
	case flinkclient.OperationFailed:
		return fsm.SavepointObservation{Polled: true, Done: true, Failure: failureText(res)}
	}
	return fsm.SavepointObservation{Polled: true}
}

func failureText(res flinkclient.SavepointStatus) string {
	text := ""
	if res.Failure != nil {
		text = firstLine(res.Failure.StackTrace)
		if text == "" {
			text = res.Failure.Class
		}
	}
	if text == "" {
		text = "unknown cause"
	}
	return text
}

// rootException summarises the job's root exception ("" when it cannot be read), and says
// whether its causes say that the checkpoint or savepoint to restore from is not there.
func rootException(ctx context.Context, flink FlinkReader, jm, jobID string) (string, bool) {
	ex, err := flink.GetJobExceptions(ctx, jm, jobID)
	if err != nil {
		return "", false
	}
	return FailureSummary(ex.RootException), RestoreSourceMissing(ex.RootException)
}

// FailureSummary is a failure's first line and, when it has causes, its innermost one: Flink's
// first line is often only its own wrapper ("Recovery is suppressed by
// NoRestartBackoffTimeStrategy"), the job's exception is the last "Caused by".
func FailureSummary(stackTrace string) string {
	first := firstLine(stackTrace)
	const causedBy = "Caused by: "
	i := strings.LastIndex(stackTrace, "\n"+causedBy)
	if i < 0 {
		return first
	}
	cause, _, _ := strings.Cut(stackTrace[i+1+len(causedBy):], "\n")
	return first + "; caused by " + flinkclient.Quote(strings.TrimSpace(cause))
}

// restoreMissingCauses are what Flink (1.x and 2.x) says, in a cause of the failure of a job that
// was to restore from a checkpoint or savepoint, when the location is gone: no such directory or
// file, or a directory without its metadata file.
var restoreMissingCauses = []string{
	"Cannot find checkpoint or savepoint file/directory",
	"Cannot find meta data file '_metadata' in directory",
}

// RestoreSourceMissing reports whether a failure's stack trace says that the location the job was
// to restore from does not exist.
func RestoreSourceMissing(stackTrace string) bool {
	for _, c := range restoreMissingCauses {
		if strings.Contains(stackTrace, c) {
			return true
		}
	}
	return false
}

// firstLine is the first line of a Flink exception, bounded and redacted for status and events.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return flinkclient.Quote(s)
}
