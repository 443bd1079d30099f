package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// The known values of the state-set gauges: every series exists from the first observation, so
// "state changed" and "state absent" are both one expression.
var (
	clusterStates = []v1beta1.ClusterState{
		v1beta1.ClusterStateCreating, v1beta1.ClusterStateRunning, v1beta1.ClusterStateReconciling,
		v1beta1.ClusterStateUpdating, v1beta1.ClusterStateStopping, v1beta1.ClusterStatePartiallyStopped,
		v1beta1.ClusterStateStopped,
	}
	jobStates = []v1beta1.JobState{
		v1beta1.JobStatePending, v1beta1.JobStateSubmitting, v1beta1.JobStateRunning, v1beta1.JobStateSavepointing,
		v1beta1.JobStateCancelling, v1beta1.JobStateUpdating, v1beta1.JobStateDeploying, v1beta1.JobStateDeleting,
		v1beta1.JobStateSucceeded, v1beta1.JobStateFailed, v1beta1.JobStateCancelled, v1beta1.JobStateLost,
	}
)

var (
	clusterState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flinkcluster_state",
		Help: "Cluster state of each FlinkCluster: 1 for its current state, 0 for the others.",
	}, []string{"namespace", "name", "state"})
	jobState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flinkcluster_job_state",
		Help: "Job state of each job cluster: 1 for its current state, 0 for the others.",
	}, []string{"namespace", "name", "state"})
	jobRestarts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flinkcluster_job_restarts",
		Help: "Times the operator restarted the job after a failure (status.components.job.restartCount).",
	}, []string{"namespace", "name"})
	lastSavepoint = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flinkcluster_job_last_successful_savepoint_timestamp_seconds",
		Help: "Unix time of the job's last successful savepoint; absent until there is one.",
	}, []string{"namespace", "name"})
	savepoints = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flinkcluster_savepoints_total",
		Help: "Savepoint operations that ended, by reason (Scheduled, User, Update, Cancel, Delete) and outcome (Succeeded, Failed).",
	}, []string{"namespace", "name", "reason", "outcome"})
)

func init() {
	Registry.MustRegister(clusterState, jobState, jobRestarts, lastSavepoint, savepoints)
}

// ObserveCluster sets the per-cluster series from the status the operator wrote.
func ObserveCluster(namespace, name string, st v1beta1.FlinkClusterStatus) {
	for _, s := range clusterStates {
		clusterState.WithLabelValues(namespace, name, string(s)).Set(boolFloat(st.State == s))
	}
	job := st.Components.Job
	if job == nil {
		return
	}
	for _, s := range jobStates {
		jobState.WithLabelValues(namespace, name, string(s)).Set(boolFloat(job.State == s))
	}
	jobRestarts.WithLabelValues(namespace, name).Set(float64(job.RestartCount))
	if t := lastSuccess(job); t > 0 {
		lastSavepoint.WithLabelValues(namespace, name).Set(t)
	}
}

// SavepointEnded counts a savepoint operation that ended.
func SavepointEnded(namespace, name string, sp v1beta1.SavepointOperation) {
	savepoints.WithLabelValues(namespace, name, string(sp.Reason), string(sp.State)).Inc()
}

// ForgetCluster removes every series of a deleted FlinkCluster.
func ForgetCluster(namespace, name string) {
	labels := map[string]string{"namespace": namespace, "name": name}
	clusterState.DeletePartialMatch(labels)
	jobState.DeletePartialMatch(labels)
	jobRestarts.DeletePartialMatch(labels)
	lastSavepoint.DeletePartialMatch(labels)
	savepoints.DeletePartialMatch(labels)
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

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
