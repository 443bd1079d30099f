// Package contract is the Flink REST contract suite: the same test functions
// run against a real Apache Flink (realflink_test.go, build tag "flink") and
// against the simulated JobManager (SimTarget, sim_test.go, no build tag). A
// Target is what the suite needs from either: a JobManager REST URL, a way to
// submit the counter job the way the operator's submitter does (`flink run`
// with an operator-chosen job ID), and a way to read the job's own output
// back.
package contract

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Target is a JobManager the suite runs against.
type Target interface {
	// Name identifies the target in test names, e.g. "flink-2.3.0".
	Name() string
	// BaseURL is the JobManager REST base URL.
	BaseURL() string
	// FlinkVersion is the version the JobManager must report.
	FlinkVersion() string
	// SavepointDir is a directory the JobManager can write savepoints to.
	SavepointDir() string
	// SavepointExists reports whether a savepoint location reported by
	// Flink (e.g. "file:/tmp/x/savepoint-0123ab-89cdef") exists with its
	// _metadata (for the simulator: is in its savepoint registry).
	SavepointExists(location string) bool
	// Submit runs the counter job (see CounterJob) like the operator's
	// submitter does. It returns ErrDuplicateJob when the JobManager
	// rejected the job ID as a duplicate, and any other error for other
	// failures.
	Submit(ctx context.Context, a SubmitArgs) error
	// OutputPath gives the --out argument for a job output called name.
	OutputPath(name string) string
	// ReadCounts reads the COUNT lines a job wrote to an OutputPath.
	ReadCounts(ctx context.Context, output string) (Counts, error)
	// KillTaskManager crashes one TaskManager (SIGKILL; for the simulator,
	// the JobManager's TaskManager-loss failover of every running job).
	KillTaskManager(ctx context.Context) error
}

// ErrDuplicateJob is returned by Target.Submit when Flink refused the job
// because a job with the same ID is known to the JobManager.
var ErrDuplicateJob = errors.New("duplicate job ID rejected by the JobManager")

// SubmitArgs is one submission of the counter job.
type SubmitArgs struct {
	// JobID is the operator-chosen job ID (32 hex characters).
	JobID            string
	Parallelism      int
	FromSavepoint    string
	AllowNonRestored bool
	// Args are the job's program arguments (CounterJob.Args()).
	Args []string
}

// CounterJob describes the arguments of test/flink-job's CounterJob: a keyed
// counter over generated keys k0..k(Keys-1), writing "COUNT key=kN count=C"
// for every record.
type CounterJob struct {
	Name         string
	Rate         float64 // records per second over all source subtasks
	Keys         int
	Out          string // Target.OutputPath(...)
	FailAfter    int64  // > 0: every attempt of a subtask throws after that many records
	Restarts     int64  // with FailAfter: restart attempts before FAILED (default none)
	Bounded      int64  // > 0: batch mode over that many records, then FINISHED
	CheckpointMS int64  // > 0: checkpoint interval
	// CheckpointRetention is set in the job's code (--checkpoint-retention): e.g.
	// RETAIN_ON_CANCELLATION; empty leaves the cluster's configuration.
	CheckpointRetention string
}

// Args renders the program arguments.
func (j CounterJob) Args() []string {
	a := []string{"--name", j.Name, "--keys", strconv.Itoa(j.Keys)}
	if j.Rate > 0 {
		a = append(a, "--rate", strconv.FormatFloat(j.Rate, 'f', -1, 64))
	}
	if j.Out != "" {
		a = append(a, "--out", j.Out)
	}
	if j.FailAfter > 0 {
		a = append(a, "--fail-after", strconv.FormatInt(j.FailAfter, 10), "--restarts", strconv.FormatInt(j.Restarts, 10))
	}
	if j.Bounded > 0 {
		a = append(a, "--bounded", strconv.FormatInt(j.Bounded, 10))
	}
	if j.CheckpointMS > 0 {
		a = append(a, "--checkpoint-ms", strconv.FormatInt(j.CheckpointMS, 10))
	}
	if j.CheckpointRetention != "" {
		a = append(a, "--checkpoint-retention", j.CheckpointRetention)
	}
	return a
}

// Count is one COUNT line.
type Count struct {
	Key   string
	Count int64
}

// Counts are the COUNT lines of one output, in the order written.
type Counts []Count

// Last is the highest count seen per key.
func (cs Counts) Last() map[string]int64 {
	m := map[string]int64{}
	for _, c := range cs {
		if c.Count > m[c.Key] {
			m[c.Key] = c.Count
		}
	}
	return m
}

// First is the lowest count seen per key.
func (cs Counts) First() map[string]int64 {
	m := map[string]int64{}
	for _, c := range cs {
		if v, ok := m[c.Key]; !ok || c.Count < v {
			m[c.Key] = c.Count
		}
	}
	return m
}

var countRE = regexp.MustCompile(`^COUNT key=(\S+) count=(\d+)$`)

// ParseCounts reads COUNT lines; other lines are ignored, and so is a
// trailing partial line (a write in progress).
func ParseCounts(r io.Reader) (Counts, error) {
	var cs Counts
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return cs, nil
		}
		if err != nil {
			return cs, err
		}
		m := countRE.FindStringSubmatch(line[:len(line)-1])
		if m == nil {
			continue
		}
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return cs, fmt.Errorf("bad count line %q: %w", line, err)
		}
		cs = append(cs, Count{Key: m[1], Count: n})
	}
}
