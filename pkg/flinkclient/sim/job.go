package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// JobInfo is what the Go API reports about a simulated job, including what
// the REST API does not show (how it was submitted).
type JobInfo struct {
	ID    string
	Name  string
	State flinkclient.JobState
	// Parallelism the job runs with (from -p, -Dparallelism.default, or 1).
	Parallelism int
	// FromSavepoint is the savepoint the job was started from (-s), empty
	// for a fresh start.
	FromSavepoint         string
	AllowNonRestoredState bool
	StartTime             time.Time
	// EndTime is zero until the job is globally terminal.
	EndTime time.Time
	// Savepoints lists the locations of the savepoints this job wrote, oldest
	// first; SavepointTimes[i] is when Savepoints[i] was written.
	Savepoints     []string
	SavepointTimes []time.Time
	// Timestamps holds, per state the job has been in, when it last entered
	// that state (the REST "timestamps" of GET /jobs/{id}).
	Timestamps map[flinkclient.JobState]time.Time
	// Restarts counts RestartJob calls that took effect.
	Restarts int
	// Submission is the accepted submission that started the job.
	Submission Submission
}

// Submission records one call of Submit.
type Submission struct {
	Cluster string
	// Args is the command line as given.
	Args    []string
	Command RunCommand
	// JobID is the ID of the started job (or of the rejected duplicate).
	JobID string
	At    time.Time
	// Err is the rejection (duplicate job), empty when the job started.
	Err string
	// Config is the cluster's Flink configuration the job was submitted with (nil when not
	// given); -D options in Args override it.
	Config map[string]string
}

// exceptionEntry is one entry of a job's exception history.
type exceptionEntry struct {
	name, stack, taskName string
	at                    time.Time
}

// checkpointRecord is a completed checkpoint or savepoint.
type checkpointRecord struct {
	id          int64
	savepoint   bool
	kind        string // CHECKPOINT, SAVEPOINT, SYNC_SAVEPOINT
	format      string // savepoints only
	triggeredAt time.Time
	ackAt       time.Time
	path        string
	// discarded: Flink deleted it (its job ended without retaining it).
	discarded bool
}

type failedCheckpoint struct {
	id          int64
	savepoint   bool
	triggeredAt time.Time
	failedAt    time.Time
	message     string
}

type restoredCheckpoint struct {
	id        int64
	savepoint bool
	at        time.Time
	path      string
}

// job is the simulated state of one job. Guarded by its Cluster's mutex.
type job struct {
	id, name    string
	state       flinkclient.JobState
	gen         uint64 // bumped on every state change; stale events are dropped
	stateTimes  map[flinkclient.JobState]time.Time
	start, end  time.Time
	lastMod     time.Time
	runningFrom time.Time // when the job last became RUNNING
	parallelism int
	maxPar      int
	batch       bool
	restoreFrom string
	allowNonRS  bool
	submission  Submission
	restarts    int
	savepoints  []string
	spTimes     []time.Time

	exceptions []exceptionEntry // newest last; capped

	// Checkpoint statistics. Periodic checkpoints are materialised lazily:
	// nextCkpt is when the next one completes while RUNNING.
	ckptInterval   time.Duration
	ckptDir        string
	nextCkpt       time.Time
	lastID         int64
	completed      int64
	failed         int64
	restored       int64
	latestCkpt     *checkpointRecord
	latestSP       *checkpointRecord
	latestFailed   *failedCheckpoint
	latestRestored *restoredCheckpoint
	inProgress     int64 // savepoints being taken

	// Retained checkpoints, as Flink keeps them on the checkpoint storage: the newest
	// numRetained are files (registered with files, so that a restore from them works and a
	// restore from a deleted one fails); older ones are deleted as new ones complete, and the
	// job's end deletes the rest unless retention keeps them.
	files       *Server
	numRetained int
	retention   string
	retained    []string
	// ha: submitted under a configuration with HA services, so a JobManager restart recovers it.
	ha bool
}

// Checkpoint retention values (execution.checkpointing.externalized-checkpoint-retention).
const (
	retainOnCancellation = "RETAIN_ON_CANCELLATION"
	deleteOnCancellation = "DELETE_ON_CANCELLATION"
)

func (j *job) info() JobInfo {
	return JobInfo{
		ID: j.id, Name: j.name, State: j.state, Parallelism: j.parallelism,
		FromSavepoint: j.restoreFrom, AllowNonRestoredState: j.allowNonRS,
		StartTime: j.start, EndTime: j.end,
		Savepoints: append([]string(nil), j.savepoints...), SavepointTimes: append([]time.Time(nil), j.spTimes...),
		Timestamps: maps.Clone(j.stateTimes), Restarts: j.restarts,
		Submission: cloneSubmission(j.submission),
	}
}

func cloneSubmission(s Submission) Submission {
	s.Args = append([]string(nil), s.Args...)
	s.Config = maps.Clone(s.Config)
	s.Command.ProgramArgs = append([]string(nil), s.Command.ProgramArgs...)
	s.Command.Classpaths = append([]string(nil), s.Command.Classpaths...)
	if s.Command.Properties != nil {
		p := make(map[string]string, len(s.Command.Properties))
		for k, v := range s.Command.Properties {
			p[k] = v
		}
		s.Command.Properties = p
	}
	return s
}

// setState moves the job to st at time at.
func (j *job) setState(st flinkclient.JobState, at time.Time) {
	if j.state == flinkclient.JobStateRunning {
		j.materialize(at)
	}
	j.state = st
	j.gen++
	j.stateTimes[st] = at
	j.lastMod = at
	switch {
	case st == flinkclient.JobStateRunning:
		j.runningFrom = at
		if j.ckptInterval > 0 {
			j.nextCkpt = at.Add(j.ckptInterval)
		}
	case st.IsGloballyTerminal():
		j.end = at
		j.endCheckpoints(st)
	}
}

// endCheckpoints deletes what the job's end does not retain: everything unless retention is
// externalized, and on cancellation unless it is RETAIN_ON_CANCELLATION.
func (j *job) endCheckpoints(st flinkclient.JobState) {
	keep := j.retention == retainOnCancellation || (j.retention == deleteOnCancellation && st == flinkclient.JobStateFailed)
	if keep || len(j.retained) == 0 {
		return
	}
	for _, p := range j.retained {
		j.files.removeSavepoint(p)
	}
	j.retained = nil
	if j.latestCkpt != nil {
		j.latestCkpt.discarded = true
	}
}

// retain records a newly completed checkpoint's files and deletes the ones it subsumes.
func (j *job) retain(path string) {
	if j.files == nil || j.ckptDir == "" {
		return
	}
	j.files.AddSavepoint(path)
	j.retained = append(j.retained, path)
	for len(j.retained) > max(j.numRetained, 1) {
		j.files.removeSavepoint(j.retained[0])
		j.retained = j.retained[1:]
	}
}

// materialize records the periodic checkpoints completed up to t. It is
// O(1) however long the job was idle.
func (j *job) materialize(t time.Time) {
	if j.state != flinkclient.JobStateRunning || j.ckptInterval <= 0 || j.nextCkpt.After(t) {
		return
	}
	n := int64(t.Sub(j.nextCkpt)/j.ckptInterval) + 1
	last := j.nextCkpt.Add(time.Duration(n-1) * j.ckptInterval)
	// Only the newest numRetained of the n completed can still exist; the loop stays short
	// however long the job ran unobserved.
	for id := j.lastID + 1 + max(0, n-int64(max(j.numRetained, 1))); id <= j.lastID+n; id++ {
		j.retain(j.checkpointPath(id))
	}
	j.lastID += n
	j.completed += n
	path := "<checkpoint-storage>"
	if j.ckptDir != "" {
		path = j.checkpointPath(j.lastID)
	}
	trig := last.Add(-j.ckptInterval / 10)
	j.latestCkpt = &checkpointRecord{id: j.lastID, kind: "CHECKPOINT", triggeredAt: trig, ackAt: last, path: path}
	j.nextCkpt = last.Add(j.ckptInterval)
}

// checkpointPath is where checkpoint id is written: DIR/JOBID/chk-ID, as Flink writes it.
func (j *job) checkpointPath(id int64) string {
	return fmt.Sprintf("%s/%s/chk-%d", normalizePath(trimSlash(j.ckptDir)), j.id, id)
}

// restoreFromLatest records a restore (after a restart) from the latest
// completed checkpoint, or else from the savepoint the job started from.
func (j *job) restoreFromLatest(at time.Time) {
	switch {
	case j.latestCkpt != nil:
		j.latestRestored = &restoredCheckpoint{id: j.latestCkpt.id, at: at, path: j.latestCkpt.path}
	case j.latestRestored != nil:
		r := *j.latestRestored
		r.at = at
		j.latestRestored = &r
	default:
		return
	}
	j.restored++
}

func (j *job) addException(e exceptionEntry) {
	j.exceptions = append(j.exceptions, e)
	if len(j.exceptions) > 2*exceptionHistorySize { // keep enough to report "truncated"
		j.exceptions = append(j.exceptions[:0], j.exceptions[len(j.exceptions)-exceptionHistorySize-1:]...)
	}
}

// vertexID returns a stable ID for vertex i of the job.
func (j *job) vertexID(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", j.id, i)))
	return hex.EncodeToString(sum[:16])
}

var vertexNames = [...]string{"Source: Simulated Source", "Simulated Map -> Sink: Simulated Sink"}

// vertexStatus is the ExecutionState shown for vertex i at now.
func (j *job) vertexStatus(i int, now time.Time, deploy time.Duration) string {
	switch j.state {
	case flinkclient.JobStateRunning:
		if now.Before(j.runningFrom.Add(deploy)) {
			return "DEPLOYING"
		}
		return "RUNNING"
	case flinkclient.JobStateFinished:
		return "FINISHED"
	case flinkclient.JobStateCancelling:
		return "CANCELING"
	case flinkclient.JobStateCanceled, flinkclient.JobStateRestarting, flinkclient.JobStateSuspended:
		return "CANCELED"
	case flinkclient.JobStateFailed, flinkclient.JobStateFailing:
		if i == 0 {
			return "FAILED"
		}
		return "CANCELED"
	}
	return "CREATED"
}

func trimSlash(s string) string {
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func (j *job) jobType() string {
	if j.batch {
		return "BATCH"
	}
	return "STREAMING"
}

// schedulerType is Flink's default scheduler for the job type.
func (j *job) schedulerType() string {
	if j.batch {
		return "AdaptiveBatch"
	}
	return "Default"
}
