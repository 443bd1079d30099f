package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// The known values of the state-set gauges. By default only the current state's series is
// exported (value 1): 2 series per job cluster instead of 22, the larger part of the per-cluster
// series at scale (docs/metrics.md). SetAllStateSeries exports every state, the others with 0, for
// queries that need the zeros.
var (
	clusterStates = []v1beta1.ClusterState{
		v1beta1.ClusterStateCreating, v1beta1.ClusterStateRunning, v1beta1.ClusterStateReconciling,
		v1beta1.ClusterStateUpdating, v1beta1.ClusterStateStopping, v1beta1.ClusterStatePartiallyStopped,
		v1beta1.ClusterStateStopped,
	}
	jobStates = []v1beta1.JobState{
		v1beta1.JobStatePending, v1beta1.JobStateSubmitting, v1beta1.JobStateRunning, v1beta1.JobStateSavepointing,
		v1beta1.JobStateCancelling, v1beta1.JobStateFailing, v1beta1.JobStateUpdating, v1beta1.JobStateSuspending, v1beta1.JobStateSuspended,
		v1beta1.JobStateDeploying, v1beta1.JobStateDeleting, v1beta1.JobStateSucceeded, v1beta1.JobStateFailed, v1beta1.JobStateCancelled, v1beta1.JobStateLost,
	}
)

// The per-cluster gauges are built at scrape time from one small record per cluster: as
// GaugeVecs they were 21 labelled series per job cluster held in memory all the time, a fifth of
// the operator's live heap at a thousand clusters (docs/benchmarks.md).
var (
	clusterStateDesc = prometheus.NewDesc("flinkcluster_state",
		"Cluster state of each FlinkCluster: 1 for its current state (with --metrics-all-states also 0 for the others).",
		[]string{"namespace", "name", "state"}, nil)
	jobStateDesc = prometheus.NewDesc("flinkcluster_job_state",
		"Job state of each job cluster: 1 for its current state (with --metrics-all-states also 0 for the others).",
		[]string{"namespace", "name", "state"}, nil)
	jobRestartsDesc = prometheus.NewDesc("flinkcluster_job_restarts",
		"Times the operator restarted the job after a failure (status.components.job.restartCount).",
		[]string{"namespace", "name"}, nil)
	jobHealthyDesc = prometheus.NewDesc("flinkcluster_job_healthy",
		"1 while condition JobHealthy is True, 0 while it is False; absent while the job does not run.",
		[]string{"namespace", "name"}, nil)
	lastSavepointDesc = prometheus.NewDesc("flinkcluster_job_last_successful_savepoint_timestamp_seconds",
		"Unix time of the job's last successful savepoint; absent until there is one.",
		[]string{"namespace", "name"}, nil)
	savepoints = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flinkcluster_savepoints_total",
		Help: "Savepoint operations that ended, by reason (Scheduled, User, Update, Cancel, Delete) and outcome (Succeeded, Failed, Unconfirmed).",
	}, []string{"namespace", "name", "reason", "outcome"})

	disposals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flinkcluster_savepoint_disposals_total",
		Help: "Savepoint disposals under spec.job.savepointRetention that ended, by outcome (Disposed, Failed).",
	}, []string{"namespace", "name", "outcome"})

	clusters = &clusterCollector{records: map[clusterKey]clusterRecord{}}

	// allStateSeries: every state's series, not only the current one's (--metrics-all-states).
	allStateSeries atomic.Bool
)

// SetAllStateSeries chooses whether the state-set gauges flinkcluster_state and
// flinkcluster_job_state export every state (the others with 0) or only the current one.
func SetAllStateSeries(on bool) { allStateSeries.Store(on) }

func init() {
	Registry.MustRegister(clusters, savepoints, disposals)
}

type clusterKey struct{ namespace, name string }

// clusterRecord is what the per-cluster gauges show of one FlinkCluster.
type clusterRecord struct {
	state         v1beta1.ClusterState
	hasJob        bool
	jobState      v1beta1.JobState
	restarts      int32
	lastSavepoint float64
	// healthy is condition JobHealthy: 1 True, 0 False, -1 absent.
	healthy int8
}

type clusterCollector struct {
	mu      sync.Mutex
	records map[clusterKey]clusterRecord
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{clusterStateDesc, jobStateDesc, jobRestartsDesc, jobHealthyDesc, lastSavepointDesc} {
		ch <- d
	}
}

// Collect sends the series of a snapshot, so that syncs never wait for a slow scrape.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	snapshot := make(map[clusterKey]clusterRecord, len(c.records))
	for k, r := range c.records {
		snapshot[k] = r
	}
	c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	all := allStateSeries.Load()
	for k, r := range snapshot {
		stateSet(clusterStates, r.state, all, func(s v1beta1.ClusterState, v float64) {
			gauge(clusterStateDesc, v, k.namespace, k.name, string(s))
		})
		if !r.hasJob {
			continue
		}
		stateSet(jobStates, r.jobState, all, func(s v1beta1.JobState, v float64) {
			gauge(jobStateDesc, v, k.namespace, k.name, string(s))
		})
		gauge(jobRestartsDesc, float64(r.restarts), k.namespace, k.name)
		if r.healthy >= 0 {
			gauge(jobHealthyDesc, float64(r.healthy), k.namespace, k.name)
		}
		if r.lastSavepoint > 0 {
			gauge(lastSavepointDesc, r.lastSavepoint, k.namespace, k.name)
		}
	}
}

// stateSet emits the current state with 1 and, when all is set, every other known state with 0;
// no state yet (a cluster before its first status) emits nothing unless all is set.
func stateSet[S comparable](known []S, current S, all bool, emit func(S, float64)) {
	for _, s := range known {
		if s == current {
			emit(s, 1)
		} else if all {
			emit(s, 0)
		}
	}
}

// ObserveCluster sets the per-cluster series from the status the operator wrote.
func ObserveCluster(namespace, name string, st v1beta1.FlinkClusterStatus) {
	r := clusterRecord{state: st.State, healthy: conditionValue(st.Conditions, state.ConditionJobHealthy)}
	if job := st.Components.Job; job != nil {
		r.hasJob, r.jobState, r.restarts, r.lastSavepoint = true, job.State, job.RestartCount, lastSuccess(job)
	}
	key := clusterKey{namespace, name}
	clusters.mu.Lock()
	defer clusters.mu.Unlock()
	if r.lastSavepoint == 0 {
		// The history is bounded: a run of failures may push the last success out of it.
		r.lastSavepoint = clusters.records[key].lastSavepoint
	}
	clusters.records[key] = r
}

// conditionValue is 1 for a True condition, 0 for another status, -1 when it is absent.
func conditionValue(conds []metav1.Condition, condType string) int8 {
	c := meta.FindStatusCondition(conds, condType)
	switch {
	case c == nil:
		return -1
	case c.Status == metav1.ConditionTrue:
		return 1
	}
	return 0
}

// SavepointEnded counts a savepoint operation that ended.
func SavepointEnded(namespace, name string, sp v1beta1.SavepointOperation) {
	savepoints.WithLabelValues(namespace, name, string(sp.Reason), string(sp.State)).Inc()
}

// DisposalEnded counts a savepoint disposal that ended.
func DisposalEnded(namespace, name string, outcome v1beta1.DisposalState) {
	disposals.WithLabelValues(namespace, name, string(outcome)).Inc()
}

// ForgetCluster removes every series of a deleted FlinkCluster.
func ForgetCluster(namespace, name string) {
	clusters.mu.Lock()
	delete(clusters.records, clusterKey{namespace, name})
	clusters.mu.Unlock()
	savepoints.DeletePartialMatch(map[string]string{"namespace": namespace, "name": name})
	disposals.DeletePartialMatch(map[string]string{"namespace": namespace, "name": name})
}

// lastSuccess is the end time of the newest successful savepoint in the history.
func lastSuccess(job *v1beta1.JobStatus) float64 {
	for _, sp := range job.SavepointHistory {
		if sp.State == v1beta1.SavepointStateSucceeded && sp.EndTime != nil {
			return float64(sp.EndTime.Unix())
		}
	}
	return 0
}
