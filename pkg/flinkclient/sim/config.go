package sim

import (
	"strconv"
	"strings"
	"time"
)

// DefaultFlinkVersion is the version a cluster reports unless configured.
// It also selects the response shapes that differ between versions (see
// ClusterConfig.FlinkVersion).
const DefaultFlinkVersion = "1.20.1"

// Defaults of Options fields that mirror Flink settings.
const (
	// DefaultOperationStoreDuration is Flink's rest.async.store-duration:
	// how long a completed savepoint/stop/disposal result stays queryable.
	DefaultOperationStoreDuration = 5 * time.Minute
	// DefaultJobStoreExpiration is Flink's jobstore.expiration-time: how
	// long a globally terminated job stays visible in the REST API.
	DefaultJobStoreExpiration = time.Hour
	// exceptionHistorySize is Flink's web.exception-history-size.
	exceptionHistorySize = 16
)

// Delays are the durations of simulated transitions, on the Server's Clock.
// A zero delay makes the transition happen at the instant it is due, so the
// next request already sees its outcome.
type Delays struct {
	// Initialize: a submitted job is INITIALIZING this long, then RUNNING.
	Initialize time.Duration
	// Deploy: after the job turned RUNNING, its vertices report DEPLOYING
	// for this long, then RUNNING.
	Deploy time.Duration
	// Savepoint: from a savepoint (or stop-with-savepoint) trigger until the
	// savepoint is written.
	Savepoint time.Duration
	// Stop: in stop-with-savepoint, from the written savepoint until the job
	// is FINISHED and the operation completes.
	Stop time.Duration
	// Cancel: a cancelled job (or one whose savepoint had cancel-job) is
	// CANCELLING this long, then CANCELED.
	Cancel time.Duration
	// Restart: a restarted job is RESTARTING this long, then RUNNING.
	Restart time.Duration
	// Disposal: from a savepoint-disposal trigger until it completes.
	Disposal time.Duration
}

// ClusterConfig describes one simulated Flink cluster.
type ClusterConfig struct {
	// FlinkVersion is reported by /overview and /config and selects the
	// version-dependent shapes: a version starting with "1." sends the
	// deprecated top-level fields of /jobs/{id}/exceptions and "location"
	// next to "endpoint"; "job-type" is sent from 1.20 on. Default
	// DefaultFlinkVersion.
	FlinkVersion string
	// TaskManagers and SlotsPerTaskManager shape /overview. Defaults 1 and 4.
	TaskManagers        int
	SlotsPerTaskManager int
	// DefaultSavepointDir is the cluster's configured savepoint directory,
	// used when a savepoint request has no target directory. Empty means
	// not configured: such a request is answered 400, like Flink does.
	DefaultSavepointDir string
	// CheckRestorePaths is Options.CheckRestorePaths for this cluster only.
	CheckRestorePaths bool
	Delays            Delays
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	if c.FlinkVersion == "" {
		c.FlinkVersion = DefaultFlinkVersion
	}
	if c.TaskManagers <= 0 {
		c.TaskManagers = 1
	}
	if c.SlotsPerTaskManager <= 0 {
		c.SlotsPerTaskManager = 4
	}
	return c
}

// major and minor of the configured version; unknown parts are 0.
func (c ClusterConfig) version() (major, minor int) {
	parts := strings.SplitN(c.FlinkVersion, ".", 3)
	major, _ = strconv.Atoi(parts[0])
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	}
	return major, minor
}

// atLeast reports whether the configured version is major.minor or newer.
func (c ClusterConfig) atLeast(major, minor int) bool {
	ma, mi := c.version()
	return ma > major || ma == major && mi >= minor
}

// duplicateMessage is the cause `flink run` reports for a duplicate job ID:
// Flink 2.3 wraps every job in an application (seen on 2.3.0; 2.0-2.2 not
// checked and assumed to behave like 1.20).
func (c ClusterConfig) duplicateMessage() string {
	if c.atLeast(2, 3) {
		return "org.apache.flink.runtime.client.DuplicateApplicationSubmissionException: Application has already been submitted."
	}
	return "org.apache.flink.runtime.client.DuplicateJobSubmissionException: Job has already been submitted."
}

// v1 reports whether the cluster speaks the Flink 1.x shapes.
func (c ClusterConfig) v1() bool {
	major, _ := c.version()
	return major < 2
}

// hasJobType reports whether job details carry "job-type" (1.20+).
func (c ClusterConfig) hasJobType() bool {
	major, minor := c.version()
	return major >= 2 || (major == 1 && minor >= 20)
}

// savepointDirKey is the configuration key Flink names when a savepoint has
// no target directory and none is configured.
func (c ClusterConfig) savepointDirKey() string {
	if c.hasJobType() { // 1.20 renamed it in the configuration overhaul
		return "execution.checkpointing.savepoint-dir"
	}
	return "state.savepoints.dir"
}

// Faults are the transport-level faults of one cluster; they apply to every
// Flink REST request of that cluster (never to the /sim control API) until
// changed. The zero value is a healthy JobManager.
type Faults struct {
	// Unreachable: the connection is closed without any response, so the
	// REST client returns flinkclient.ErrUnreachable.
	Unreachable bool
	// Slow delays every response by this much real (wall-clock) time, e.g.
	// beyond the client timeout to provoke flinkclient.ErrTimeout. The wait
	// ends early when the client gives up.
	Slow time.Duration
	// InternalError answers every request with HTTP 500 and a Flink
	// {"errors":[...]} body.
	InternalError bool
}

// Options configures a Server.
type Options struct {
	// Clock defaults to RealClock.
	Clock Clock
	// Defaults is the configuration of clusters created on first use (and
	// the base that CreateCluster's zero fields fall back to).
	Defaults ClusterConfig
	// RequireExplicitClusters: a request for a cluster that was never
	// created with CreateCluster (or was removed) is treated as unreachable
	// instead of creating the cluster, like a JobManager that does not exist.
	RequireExplicitClusters bool
	// OperationStoreDuration: see DefaultOperationStoreDuration (0 means the
	// default, negative means forever).
	OperationStoreDuration time.Duration
	// JobStoreExpiration: see DefaultJobStoreExpiration (0 means the
	// default, negative means forever).
	JobStoreExpiration time.Duration
	// CheckRestorePaths makes a job submitted with a savepoint path the
	// simulator does not know (never written by it, nor registered with
	// AddSavepoint, or disposed of) fail during initialization, as Flink does
	// for a missing savepoint. Off by default so tests can use any path.
	CheckRestorePaths bool
	// Seed seeds the generator of random IDs and savepoint names; 0 picks a
	// random seed.
	Seed uint64
}
