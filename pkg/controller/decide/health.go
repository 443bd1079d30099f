package decide

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// The events of the job's health.
const (
	ReasonJobUnhealthy = "JobUnhealthy"
	ReasonJobHealthy   = "JobHealthy"
)

// jobRuns: the machine has the job running (a savepoint may be in flight).
func jobRuns(job v1beta1.JobStatus) bool {
	return job.State == fsm.Running || job.State == fsm.Savepointing
}

// liveJob: the job runs in Flink and for the machine.
func liveJob(snap *snapshot.Snapshot) bool {
	return snap.Flink.Found && fsm.FlinkStateMeaning[snap.Flink.State] == fsm.JobActive && jobRuns(jobStatus(snap.Cluster))
}

// healthReadDue: a running job's counters are read at most once per HealthCheckInterval.
func healthReadDue(snap *snapshot.Snapshot, settings fsm.Settings, now time.Time) bool {
	read := snap.HealthReadAt
	return liveJob(snap) && (read.IsZero() || now.Sub(read) >= settings.HealthCheckInterval)
}

// previousVerdict is what condition JobHealthy says of the current attempt; a condition from
// before the attempt started running is an older attempt's and says nothing.
func previousVerdict(fc *v1beta1.FlinkCluster, job v1beta1.JobStatus) health.Verdict {
	c := meta.FindStatusCondition(fc.Status.Conditions, state.ConditionJobHealthy)
	if c == nil || job.StartTime == nil || c.LastTransitionTime.Before(job.StartTime) {
		return health.Verdict{}
	}
	return health.Verdict{Known: true, Healthy: c.Status == metav1.ConditionTrue, Reason: c.Reason, Message: c.Message}
}

// judgeHealth judges the job the step left running (unknown otherwise).
func judgeHealth(snap *snapshot.Snapshot, job v1beta1.JobStatus, settings fsm.Settings) health.Verdict {
	if !jobRuns(job) {
		return health.Verdict{}
	}
	var interval time.Duration
	if job.CheckpointInterval != nil {
		interval = job.CheckpointInterval.Duration
	}
	return health.Judge(health.Input{Samples: snap.HealthSamples, CheckpointInterval: interval,
		Previous: previousVerdict(snap.Cluster, job), Thresholds: settings.Health})
}

// healthNotice is the event of a verdict that differs from the previous one: a Warning when the
// job turns unhealthy (or for another reason), a Normal event when it is healthy again.
func healthNotice(previous, now health.Verdict) (fsm.Notice, bool) {
	switch {
	case !now.Known:
		return fsm.Notice{}, false
	case !now.Healthy && (!previous.Known || previous.Healthy || previous.Reason != now.Reason):
		return fsm.Notice{Warning: true, Reason: ReasonJobUnhealthy, Message: now.Reason + ": " + now.Message}, true
	case now.Healthy && previous.Known && !previous.Healthy:
		return fsm.Notice{Reason: ReasonJobHealthy, Message: "healthy again after " + previous.Reason + ": " + now.Message}, true
	}
	return fsm.Notice{}, false
}
