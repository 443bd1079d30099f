// Package snapshot is what one sync observed, as plain data: the FlinkCluster, its children and
// what its JobManager said. The observer fills one per sync; every decision reads it. It holds no
// client, so the packages that decide stay pure.
package snapshot

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/health"
	"github.com/flink-operator/flink-operator/pkg/controller/retention"
)

// Snapshot is one consistent-enough observation for a sync. Cluster is a deep copy the sync may
// change; the children are the caches' objects and must not be modified. A child is nil when it
// does not exist or is not controlled by this FlinkCluster (see Foreign). Cluster is nil when the
// FlinkCluster no longer exists.
type Snapshot struct {
	Cluster               *v1beta1.FlinkCluster
	ConfigMap             *corev1.ConfigMap
	JobManagerDeployment  *appsv1.Deployment
	JobManagerService     *corev1.Service
	JobManagerIngress     *networkingv1.Ingress
	TaskManagerDeployment *appsv1.Deployment
	Submitter             *batchv1.Job
	// SubmitterPodFailure is why the failed Submitter's pods failed: the container and its
	// termination message ("" when the Job has not failed or its pods do not say).
	SubmitterPodFailure   string
	NetworkPolicy         *networkingv1.NetworkPolicy
	PodDisruptionBudget   *policyv1.PodDisruptionBudget
	TaskManagerAutoscaler *autoscalingv2.HorizontalPodAutoscaler
	// Foreign names children whose names are taken by objects this FlinkCluster does not
	// control: the operator never touches them and reports the conflict.
	Foreign []string

	// OperatorNamespace is the namespace the operator runs in ("" outside the cluster), which
	// the cluster's NetworkPolicy admits to the REST port (desired.Env).
	OperatorNamespace string
	// JarFetcherImage is the operator's image, which fetches an http(s) jarFile (desired.Env).
	JarFetcherImage string

	// DashboardURL is the Flink dashboard's URL for status ("" when the operator reports none).
	DashboardURL string
	// JobManagerURL is the JobManager's REST URL ("" when it cannot be built); set for job
	// clusters.
	JobManagerURL string
	// ServiceRedirected says how the JobManager Service was changed to send traffic elsewhere
	// (desired.ServiceRedirected); the JobManager was then not asked anything.
	ServiceRedirected string
	// ForeignEndpoints names EndpointSlices that no Kubernetes controller manages and that add
	// endpoints to the JobManager Service (observer.ForeignEndpoints): traffic to the Service may
	// go to them, so the JobManager was not asked anything.
	ForeignEndpoints string
	// RESTTLSError says why the Secret of spec.jobManager.restTLS could not be used; the
	// JobManager was then not asked anything. (The TLS material itself stays in the observer,
	// which hands it to the calls: observer.RESTContext.)
	RESTTLSError string
	// Flink and Savepoint are what the JobManager said about the job and the savepoint in flight
	// (zero when it was not asked); Checkpoints is the job's checkpoint history, read only when
	// the decision needs it (fsm.NeedsCheckpoints).
	Flink       fsm.FlinkObservation
	Savepoint   fsm.SavepointObservation
	Checkpoints fsm.CheckpointObservation
	// Retention is the job's checkpoint retention, read once per attempt of a job whose policies
	// resume from the latest state.
	Retention fsm.RetentionObservation
	// CheckpointsReadAt is when this operator process last read the current job's checkpoint
	// history (zero when it has not): the latest checkpoint is recorded at most once per
	// desired.CheckpointRecordInterval.
	CheckpointsReadAt time.Time
	// SavepointSeenAt is when this operator process first saw the savepoint in flight, on its
	// own clock (zero when none is in flight).
	SavepointSeenAt time.Time
	// SubmitterCreated is the job ID of a submitter this process created moments ago that the Job
	// cache does not show yet ("" otherwise): it exists.
	SubmitterCreated string
	// HealthSamples are this process's reads of the current job's restart and checkpoint
	// counters, oldest first; HealthReadAt is when the last was read (zero: never).
	HealthSamples []health.Sample
	HealthReadAt  time.Time
	// Disposal is what the JobManager said about the savepoint disposal in flight (zero when
	// none is, or this process does not know its trigger).
	Disposal retention.Observation
	// HAAccess says whether the pods' ServiceAccount may do what Flink's HA services need; read
	// only for clusters with high availability.
	HAAccess HAAccess
	// HAConfigMaps are the ConfigMaps Flink's HA services made for this cluster (by their labels
	// and the cluster's HA cluster ID), listed only when Reads.HAConfigMaps asks.
	HAConfigMaps []HAConfigMap
}

// RESTTLSRetry is how soon a REST TLS Secret that could not be used is read again, and how soon
// a cluster waiting for one is synced again (Secrets are not watched).
const RESTTLSRetry = 20 * time.Second

// RESTBlocked says the JobManager must not be asked anything this sync: its Service was
// redirected, hand-made endpoints were added to it, or its TLS material cannot be used.
func (s *Snapshot) RESTBlocked() bool {
	return s.ServiceRedirected != "" || s.ForeignEndpoints != "" || s.RESTTLSError != ""
}

// JobManager is the object that runs the JobManagers: the Deployment, or for an application
// (job.mode Application) the Job of its current or last attempt; nil when there is none.
func (s *Snapshot) JobManager() metav1.Object {
	if s.Cluster != nil && s.Cluster.Spec.Job.ApplicationMode() {
		if s.Submitter == nil {
			return nil
		}
		return s.Submitter
	}
	if s.JobManagerDeployment == nil {
		return nil
	}
	return s.JobManagerDeployment
}

// HAConfigMap names one HA ConfigMap; its UID makes a deletion miss a namesake created since.
type HAConfigMap struct {
	Name string
	UID  string
}

// HAAccess is the API server's answer about a ServiceAccount's permissions on ConfigMaps in the
// cluster's namespace.
type HAAccess struct {
	// Checked is false when nothing was asked (HA off, or no access reviews configured).
	Checked        bool
	ServiceAccount string
	// Missing are the verbs the ServiceAccount lacks, sorted.
	Missing []string
	// Error is why the API server could not answer.
	Error string
}

// Reads are the optional calls a sync's decision needs, beyond the caches and the poll of the job
// and its savepoint: the observer makes them only when asked.
type Reads struct {
	// Checkpoints: the job's checkpoint history (GET /jobs/{id}/checkpoints).
	Checkpoints bool
	// Retention: the job's checkpoint configuration (GET /jobs/{id}/checkpoints/config).
	Retention bool
	// JobMetrics: the job's restart and checkpoint counters (GET /jobs/{id}/metrics), for the
	// health check.
	JobMetrics bool
	// HAConfigMaps: the cluster's HA ConfigMaps (a LIST with a label selector: they are Flink's
	// objects, outside the operator's caches).
	HAConfigMaps bool
}
