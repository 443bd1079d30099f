package v1beta1

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// FlinkCluster is an Apache Flink cluster: a JobManager, TaskManagers and, when spec.job is set, one
// job that the operator submits and manages (a job cluster). Without spec.job it is a session
// cluster.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=flinkclusters,singular=flinkcluster,shortName=fc,scope=Namespaced,categories=all;flink
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.taskManager.replicas,statuspath=.status.components.taskManagerDeployment.replicas,selectorpath=.status.components.taskManagerDeployment.selector
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, experimental-only"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.job) || !has(oldSelf.spec.job) || self.spec.job.savepointGeneration == oldSelf.spec.job.savepointGeneration || self.spec.job.savepointGeneration == oldSelf.spec.job.savepointGeneration + 1 || (has(self.status) && has(self.status.components) && has(self.status.components.job) && has(self.status.components.job.savepointGeneration) && self.spec.job.savepointGeneration == self.status.components.job.savepointGeneration + 1)",message="spec.job.savepointGeneration can only grow by exactly 1, or be set to status.components.job.savepointGeneration + 1 to take a savepoint now"
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 45",message="metadata.name must be at most 45 characters so that child names such as NAME-job-submitter stay within 63"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must start with a letter and hold only lowercase letters, digits and '-', because it names the JobManager Service"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,description="Overall cluster state"
// +kubebuilder:printcolumn:name="Job",type=string,JSONPath=`.status.components.job.state`,description="Job state (job clusters only)"
// +kubebuilder:printcolumn:name="Savepoints",type=integer,JSONPath=`.status.components.job.savepointGeneration`,description="Savepoints taken by the operator"
// +kubebuilder:printcolumn:name="Restarts",type=integer,JSONPath=`.status.components.job.restartCount`,description="Times the operator restarted the job"
// +kubebuilder:printcolumn:name="Rollback",type=string,JSONPath=`.status.components.job.rollback.state`,description="RollingBack or RolledBack while a failed update is rolled back (spec.job.rollback)"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="TaskManagers",type=integer,JSONPath=`.spec.taskManager.replicas`,priority=1,description="Desired TaskManager replicas"
// +kubebuilder:printcolumn:name="Flink-Job",type=string,JSONPath=`.status.components.job.flinkJobState`,priority=1,description="Job state as Flink reports it"
// +kubebuilder:printcolumn:name="Job-ID",type=string,JSONPath=`.status.components.job.id`,priority=1,description="Flink job ID"
// +kubebuilder:printcolumn:name="Last-Savepoint",type=date,JSONPath=`.status.components.job.lastSavepointTime`,priority=1,description="Time of the last savepoint operation"
// +kubebuilder:printcolumn:name="Checkpoint",type=date,JSONPath=`.status.components.job.latestCheckpoint.completionTime`,priority=1,description="Age of the latest completed checkpoint the operator recorded"
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image.name`,priority=1
// +kubebuilder:printcolumn:name="Dashboard",type=string,JSONPath=`.status.components.jobManagerService.dashboardURL`,priority=1,description="The Flink dashboard's URL, when the operator reports one (--dashboard-url-template)"
type FlinkCluster struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired Flink cluster.
	Spec FlinkClusterSpec `json:"spec"`

	// Status is what the operator last observed. Every field is optional so that an operator never
	// fails to write status against an older CRD.
	// +optional
	Status FlinkClusterStatus `json:"status,omitempty"`
}

// FlinkClusterList is a list of FlinkClusters.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type FlinkClusterList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FlinkCluster `json:"items"`
}

// Where the CEL rules sit is chosen for the API server's cost (docs/benchmarks.md, "Admission
// cost"): every read of a field copies the schema of each property of the object it is read from
// (20 for spec, 52 for spec.job), so a rule about one field sits on that field (it then runs only
// when the field is set), a rule that starts with has() tests the rarely set field first, and a
// spec rule that reads several fields of spec.job reads spec.job once, through
// [self.job].all(j, ...). BenchmarkCELValidationOfACreate measures it.

// FlinkClusterSpec is the desired state of a Flink cluster.
//
// +kubebuilder:validation:XValidation:rule="has(self.job) == has(oldSelf.job)",message="spec.job cannot be added or removed after creation: a session cluster cannot become a job cluster or back; create a new FlinkCluster instead"
// +kubebuilder:validation:XValidation:rule="!has(self.job) || [self.job].all(j, (has(j.savepointsDir) && size(j.savepointsDir) > 0) || !((has(j.restartPolicy) && j.restartPolicy == 'FromLatestStateOnFailure') || (has(j.upgradeMode) && j.upgradeMode == 'LastState') || has(j.upgradeFallback))) || (has(self.flinkProperties) && ('execution.checkpointing.dir' in self.flinkProperties || 'state.checkpoints.dir' in self.flinkProperties))",fieldPath=".job",message="spec.job: restartPolicy FromLatestStateOnFailure, upgradeMode LastState and upgradeFallback resume from retained checkpoints, which need a checkpoint directory: set spec.job.savepointsDir (checkpoints then go next to it) or execution.checkpointing.dir in spec.flinkProperties"
// +kubebuilder:validation:XValidation:rule="!(has(self.logConfig) && 'log4j-cli.properties' in self.logConfig && has(self.job) && has(self.job.noLoggingToStdout) && self.job.noLoggingToStdout)",fieldPath=".logConfig",message="spec.logConfig['log4j-cli.properties'] cannot be combined with spec.job.noLoggingToStdout: true, because that file then is the submitter's logging; set rootLogger.level = OFF in it instead"
// +kubebuilder:validation:XValidation:rule="!(has(self.networkPolicy) && has(self.networkPolicy.enabled) && self.networkPolicy.enabled && has(self.jobManager.ingress)) || (has(self.networkPolicy.restFrom) && size(self.networkPolicy.restFrom) > 0)",fieldPath=".networkPolicy.restFrom",message="spec.networkPolicy.restFrom must name the ingress controller's pods when spec.jobManager.ingress is set, or the NetworkPolicy would keep the Ingress from reaching the JobManager"
// +kubebuilder:validation:XValidation:rule="!has(self.jobManager.replicas) || self.jobManager.replicas == 1 || (has(self.highAvailability) && self.highAvailability.type == 'Kubernetes') || (has(self.flinkProperties) && ['high-availability.type', 'high-availability'].exists(k, k in self.flinkProperties && self.flinkProperties[k].lowerAscii() in ['kubernetes', 'org.apache.flink.kubernetes.highavailability.kuberneteshaservicesfactory']))",fieldPath=".jobManager.replicas",message="spec.jobManager.replicas above 1 needs high availability (spec.highAvailability.type: Kubernetes): without it every JobManager would run the jobs on its own"
// +kubebuilder:validation:XValidation:rule="!has(self.flinkProperties) || !((has(self.highAvailability) && self.highAvailability.type == 'Kubernetes') || (has(self.flinkProperties) && ['high-availability.type', 'high-availability'].exists(k, k in self.flinkProperties && self.flinkProperties[k].lowerAscii() in ['kubernetes', 'org.apache.flink.kubernetes.highavailability.kuberneteshaservicesfactory']))) || ['high-availability.cluster-id', 'kubernetes.cluster-id', 'kubernetes.namespace'].all(k, !(k in self.flinkProperties))",fieldPath=".flinkProperties",message="spec.flinkProperties must not set high-availability.cluster-id, kubernetes.cluster-id or kubernetes.namespace when high availability is on: the operator derives the cluster ID from the FlinkCluster's UID, so that a FlinkCluster created again never recovers the jobs of the one deleted before, and uses the FlinkCluster's namespace"
// +kubebuilder:validation:XValidation:rule="!has(self.highAvailability) || !has(self.flinkProperties) || ['high-availability.type', 'high-availability', 'high-availability.storageDir'].all(k, !(k in self.flinkProperties))",fieldPath=".flinkProperties",message="spec.flinkProperties must not set high-availability.type, high-availability or high-availability.storageDir together with spec.highAvailability: set high availability in one place"
// +kubebuilder:validation:XValidation:rule="!((has(self.highAvailability) && self.highAvailability.type == 'Kubernetes') || (has(self.flinkProperties) && ['high-availability.type', 'high-availability'].exists(k, k in self.flinkProperties && self.flinkProperties[k].lowerAscii() in ['kubernetes', 'org.apache.flink.kubernetes.highavailability.kuberneteshaservicesfactory']))) || (has(self.highAvailability) && has(self.highAvailability.storageDir)) || (has(self.flinkProperties) && 'high-availability.storageDir' in self.flinkProperties) || (has(self.job) && has(self.job.savepointsDir) && size(self.job.savepointsDir) > 0)",fieldPath=".highAvailability",message="high availability needs a storage directory every JobManager reaches: set spec.highAvailability.storageDir, or spec.job.savepointsDir (the directory ha next to it is then used)"
// +kubebuilder:validation:XValidation:rule="!has(self.podDisruptionBudget) || !has(self.job) || !has(self.job.mode) || self.job.mode != 'Application' || (!has(self.podDisruptionBudget.maxUnavailable) && (!has(self.podDisruptionBudget.minAvailable) || type(self.podDisruptionBudget.minAvailable) == int)) || (has(self.podDisruptionBudget.selector) && has(self.podDisruptionBudget.selector.matchLabels) && 'app.kubernetes.io/component' in self.podDisruptionBudget.selector.matchLabels && self.podDisruptionBudget.selector.matchLabels['app.kubernetes.io/component'] == 'taskmanager')",fieldPath=".podDisruptionBudget",message="spec.podDisruptionBudget: in application mode the JobManager runs in a batch Job, which has no scale subresource, so with maxUnavailable or a percentage minAvailable the disruption controller cannot count the pods and blocks every eviction; use an integer minAvailable, or select only the TaskManagers (selector.matchLabels app.kubernetes.io/component: taskmanager)"
type FlinkClusterSpec struct {
	// FlinkVersion is the Flink version of the image, for example 1.20 or 2.1. It chooses the
	// memory configuration keys; without it the version is read from the image tag (an unknown
	// tag is treated as current Flink). It must match the image.
	// +kubebuilder:validation:Pattern=`^v?[12]\.[0-9]+(\.[0-9]+)?$`
	// +optional
	FlinkVersion string `json:"flinkVersion,omitempty"`

	// Image is the Flink image used by the JobManager, TaskManager and job submitter containers.
	Image ImageSpec `json:"image"`

	// ServiceAccountName is the service account of every pod of the cluster (JobManager,
	// TaskManagers and job submitter). Without it the namespace's default service account is used.
	// +kubebuilder:validation:MinLength=1
	// +optional
	ServiceAccountName *string `json:"serviceAccountName,omitempty"`

	// BatchSchedulerName is not supported and rejected (the original operator's Volcano gang
	// scheduling); see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.batchSchedulerName is not supported: this operator creates no scheduler PodGroups (gang scheduling); remove it, the pods use the cluster's default scheduler"
	BatchSchedulerName *string `json:"batchSchedulerName,omitempty"`

	// BatchScheduler is not supported and rejected (the original operator's Volcano gang
	// scheduling); see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.batchScheduler is not supported: this operator creates no scheduler PodGroups (gang scheduling); remove it, the pods use the cluster's default scheduler"
	BatchScheduler *runtime.RawExtension `json:"batchScheduler,omitempty"`

	// JobManager configures the JobManager Deployment, its Service and optional Ingress. Absent
	// means {} (every default), as in the original operator's later versions.
	// +kubebuilder:default={}
	// +optional
	JobManager JobManagerSpec `json:"jobManager"`

	// TaskManager configures the TaskManager Deployment.
	TaskManager TaskManagerSpec `json:"taskManager"`

	// Job, when present, makes this a job cluster: the operator submits this job, takes its
	// savepoints, restarts and updates it. Without it the cluster is a session cluster.
	// +optional
	Job *JobSpec `json:"job,omitempty"`

	// EnvVars are environment variables set in the JobManager, TaskManager and job containers.
	// +optional
	EnvVars []corev1.EnvVar `json:"envVars,omitempty"`

	// EnvFrom injects environment variables from ConfigMaps or Secrets into the JobManager,
	// TaskManager and job containers. Variables from envVars win over these.
	// +optional
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// FlinkProperties are appended to the Flink configuration file and override the operator's
	// values, except for the few keys the operator must own (see docs/api.md). Keys are plain
	// Flink keys; values are single lines, written so that Flink reads back exactly this map.
	// +kubebuilder:validation:MaxProperties=512
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-zA-Z0-9][-._a-zA-Z0-9]*$'))",message="spec.flinkProperties keys must be plain Flink configuration keys: letters, digits, '.', '-' and '_', starting with a letter or digit"
	// +kubebuilder:validation:XValidation:rule="['jobmanager.rpc.address', 'jobmanager.rpc.port', 'blob.server.port', 'rest.port', 'rest.address', 'taskmanager.rpc.port', 'taskmanager.data.port', '$internal.pipeline.job-id', 'rest.async.store-duration', 'jobmanager.bind-host', 'taskmanager.bind-host', 'rest.bind-address', 'rest.bind-port', 'jobmanager.rpc.bind-port', 'taskmanager.rpc.bind-port', 'taskmanager.data.bind-port'].all(k, !(k in self))",message="spec.flinkProperties must not set jobmanager.rpc.address, jobmanager.rpc.port, blob.server.port, rest.port, rest.address, taskmanager.rpc.port, taskmanager.data.port, $internal.pipeline.job-id, rest.async.store-duration, or the bind hosts and ports (jobmanager.bind-host, taskmanager.bind-host, rest.bind-address, rest.bind-port, jobmanager.rpc.bind-port, taskmanager.rpc.bind-port, taskmanager.data.bind-port): the operator sets them from spec.jobManager.ports and spec.taskManager.ports so that it can reach the cluster, and keeps savepoint results long enough to confirm every stop"
	// +optional
	FlinkProperties map[string]FlinkPropertyValue `json:"flinkProperties,omitempty"`

	// HadoopConfig mounts a ConfigMap of Hadoop configuration files and points HADOOP_CONF_DIR at it.
	// +optional
	HadoopConfig *HadoopConfig `json:"hadoopConfig,omitempty"`

	// GCPConfig mounts a Google Cloud service account key and points
	// GOOGLE_APPLICATION_CREDENTIALS at it.
	// +optional
	GCPConfig *GCPConfig `json:"gcpConfig,omitempty"`

	// LogConfig maps a file name to its content, written into the cluster's ConfigMap next to the
	// Flink configuration (FLINK_CONF_DIR). An entry replaces the operator's default file of that
	// name: log4j-console.properties is the JobManager's and TaskManagers' logging,
	// log4j-cli.properties the job submitter's (the flink CLI); other names, such as
	// logback-console.xml, are added as they are.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[-._a-zA-Z0-9]+$'))",message="spec.logConfig keys must be file names made of letters, digits, '-', '_' and '.'"
	// +kubebuilder:validation:XValidation:rule="!('flink-conf.yaml' in self) && !('config.yaml' in self)",message="spec.logConfig must not hold flink-conf.yaml or config.yaml: the operator writes the Flink configuration; use spec.flinkProperties"
	// +optional
	LogConfig map[string]string `json:"logConfig,omitempty"`

	// RevisionHistoryLimit is how many old revisions (ReplicaSets) the JobManager and TaskManager
	// Deployments keep for rollback. Without it Kubernetes keeps 10.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// RecreateOnUpdate is accepted only as true, which is what this operator always does: a spec
	// change to a running job cluster is rolled out by savepoint, stop, rebuild and resume.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self",message="spec.recreateOnUpdate: false is not supported: a spec change to a job cluster always rolls out by savepoint, stop, rebuild and resume (the meaning of true); remove the field or set it to true"
	RecreateOnUpdate *bool `json:"recreateOnUpdate,omitempty"`

	// PodSecurityDefaults says whether the operator gives the pods it builds a security context
	// that passes the restricted Pod Security level. Restricted (the default when absent): every
	// pod runs as the Flink image's user (runAsUser, runAsGroup and fsGroup 9999, runAsNonRoot)
	// with the RuntimeDefault seccomp profile, and every container without privilege escalation
	// and with all capabilities dropped; a field of the component's securityContext wins over the
	// default, and user init containers and sidecars get the container fields only where they
	// leave them unset. None: pods and containers carry exactly the securityContext of the spec
	// (what operators before this field did; their Flink processes run as root).
	// +kubebuilder:validation:Enum=Restricted;None
	// +optional
	PodSecurityDefaults *PodSecurityDefaults `json:"podSecurityDefaults,omitempty"`

	// NetworkPolicy, when enabled, makes the operator create a NetworkPolicy that admits
	// connections to the cluster's pods only from the cluster's own pods (every port), the
	// operator's namespace (the JobManager's REST port) and the peers listed here; with
	// accessScope VPC, External or NodePort the REST port stays open to every source, as the
	// load balancer or node port needs. Off when absent. It changes no pod and is applied while
	// the job runs.
	// +optional
	NetworkPolicy *NetworkPolicySpec `json:"networkPolicy,omitempty"`

	// PodDisruptionBudget makes the operator create a policy/v1 PodDisruptionBudget (NAME) over
	// the cluster's JobManager and TaskManager pods, as the original operator's later versions
	// did: its selector is the one given here (if any) narrowed to those pods. It is updated and
	// deleted with this field and changes no pod. See docs/api.md "Disruption budgets".
	// +optional
	PodDisruptionBudget *policyv1.PodDisruptionBudgetSpec `json:"podDisruptionBudget,omitempty"`

	// HighAvailability turns on Flink's Kubernetes high-availability services: the JobManagers
	// elect a leader and keep the running jobs' metadata in ConfigMaps and their state in
	// storageDir, so that a restarted or standby JobManager recovers the jobs by itself from
	// their latest checkpoint, without the operator resubmitting them. It allows
	// jobManager.replicas above 1 (standby JobManagers). The pods' ServiceAccount needs the Role
	// in deploy/samples/ha/flink-ha-role.yaml. Off when absent; high-availability.type: kubernetes
	// in flinkProperties means the same.
	// +optional
	HighAvailability *HighAvailabilitySpec `json:"highAvailability,omitempty"`
}

// HighAvailabilityEnabled reports whether Flink's Kubernetes HA services run: spec.highAvailability
// with type Kubernetes, or high-availability.type (or its Flink 1.x name high-availability) set
// to kubernetes in flinkProperties.
func (s *FlinkClusterSpec) HighAvailabilityEnabled() bool {
	if s.HighAvailability != nil {
		return s.HighAvailability.Type == HighAvailabilityKubernetes
	}
	for _, k := range []string{"high-availability.type", "high-availability"} {
		switch strings.ToLower(string(s.FlinkProperties[k])) {
		case "kubernetes", "org.apache.flink.kubernetes.highavailability.kuberneteshaservicesfactory":
			return true
		}
	}
	return false
}

// HighAvailabilitySpec configures Flink's high-availability services.
type HighAvailabilitySpec struct {
	// Type is Kubernetes (Flink's Kubernetes HA services, high-availability.type: kubernetes) or
	// None (off, as when the block is absent).
	Type HighAvailabilityType `json:"type"`

	// StorageDir is where Flink keeps what a new JobManager leader needs to recover the jobs (job
	// graphs, checkpoint metadata pointers, uploaded JARs): high-availability.storageDir, on a
	// file system every JobManager reaches (s3://, gs://, hdfs:// or a shared volume). Without
	// it: the directory "ha" next to spec.job.savepointsDir (s3://b/flink/savepoints gives
	// s3://b/flink/ha); a session cluster must set it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	StorageDir *string `json:"storageDir,omitempty"`
}

// HighAvailabilityType is the kind of HA services of spec.highAvailability.type.
// +kubebuilder:validation:Enum=Kubernetes;None
type HighAvailabilityType string

// The values of spec.highAvailability.type.
const (
	HighAvailabilityKubernetes HighAvailabilityType = "Kubernetes"
	HighAvailabilityNone       HighAvailabilityType = "None"
)

// NetworkPolicySpec configures the FlinkCluster's NetworkPolicy.
type NetworkPolicySpec struct {
	// Enabled creates the NetworkPolicy; false or absent removes it.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// RESTFrom are further peers that may reach the JobManager's REST port (the web UI and the
	// REST API): an ingress controller's pods, a dashboard proxy, Prometheus. The API server's
	// service proxy connects from the control plane's addresses (an ipBlock); kubectl
	// port-forward is not subject to NetworkPolicy.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	RESTFrom []networkingv1.NetworkPolicyPeer `json:"restFrom,omitempty"`

	// ExtraPortsFrom are the peers that may reach the JobManager's and TaskManagers'
	// extraPorts (for example a metrics port); without them those ports admit only the
	// cluster's own pods.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ExtraPortsFrom []networkingv1.NetworkPolicyPeer `json:"extraPortsFrom,omitempty"`
}

// NetworkPolicyEnabled reports whether the spec asks for the NetworkPolicy.
func (s *FlinkClusterSpec) NetworkPolicyEnabled() bool {
	return s.NetworkPolicy != nil && s.NetworkPolicy.Enabled != nil && *s.NetworkPolicy.Enabled
}

// PodSecurityDefaults is the choice of spec.podSecurityDefaults.
type PodSecurityDefaults string

// The values of spec.podSecurityDefaults.
const (
	PodSecurityRestricted PodSecurityDefaults = "Restricted"
	PodSecurityNone       PodSecurityDefaults = "None"
)

// FlinkUID is the user and group of the official Flink image (its entrypoint switches to it, and
// /opt/flink belongs to it); the restricted defaults run every Flink process as this user.
const FlinkUID int64 = 9999

// ImageSpec names the Flink image.
type ImageSpec struct {
	// Name is the image reference, for example flink:2.1 or registry.example.com/flink:1.20-job.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="size(self.trim()) > 0",message="spec.image.name must not be blank"
	Name string `json:"name"`

	// PullPolicy is the image pull policy of every container: Always, IfNotPresent or Never.
	// When empty, Kubernetes' own default applies.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	PullPolicy corev1.PullPolicy `json:"pullPolicy,omitempty"`

	// PullSecrets are Secrets used to pull the image.
	// +optional
	PullSecrets []corev1.LocalObjectReference `json:"pullSecrets,omitempty"`
}

// AccessScope says from where the JobManager Service is reachable.
// +kubebuilder:validation:Enum=Cluster;VPC;External;NodePort;Headless
type AccessScope string

const (
	// AccessScopeCluster exposes the JobManager inside the Kubernetes cluster (ClusterIP).
	AccessScopeCluster AccessScope = "Cluster"
	// AccessScopeVPC exposes it inside the same VPC through an internal load balancer.
	AccessScopeVPC AccessScope = "VPC"
	// AccessScopeExternal exposes it to the internet through a load balancer.
	AccessScopeExternal AccessScope = "External"
	// AccessScopeNodePort exposes it on a port of every node (a NodePort Service); the node port
	// of the UI/REST port is reported in status.components.jobManagerService.nodePort.
	AccessScopeNodePort AccessScope = "NodePort"
	// AccessScopeHeadless makes the Service headless (clusterIP: None): its name resolves to the
	// JobManager pod's IP, for networks where pod IPs are routable.
	AccessScopeHeadless AccessScope = "Headless"
)

// NamedPort is an extra container port, for example of a metrics reporter.
type NamedPort struct {
	// Name of the port: an IANA service name (at most 15 lowercase letters, digits and '-'),
	// unique in the pod. Without it the JobManager Service names the port port-NUMBER.
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Name string `json:"name,omitempty"`

	// ContainerPort is the port number, 1-65535.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ContainerPort int32 `json:"containerPort"`

	// Protocol is TCP, UDP or SCTP.
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	// +kubebuilder:default=TCP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// JobManagerSpec configures the JobManager.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.accessScope) || !has(self.accessScope) || ((self.accessScope == 'Headless') == (oldSelf.accessScope == 'Headless'))",fieldPath=".accessScope",message="spec.jobManager.accessScope cannot change to or from Headless: a Service cannot gain or lose its cluster IP; create a new FlinkCluster (a job can move through a savepoint)"
// +kubebuilder:validation:XValidation:rule="!has(self.extraPorts) || self.extraPorts.all(p, !(p.containerPort in [(has(self.ports.rpc) ? self.ports.rpc : 6123), (has(self.ports.blob) ? self.ports.blob : 6124), (has(self.ports.query) ? self.ports.query : 6125), (has(self.ports.ui) ? self.ports.ui : 8081)]))",fieldPath=".extraPorts",message="spec.jobManager.extraPorts must not repeat a port number of spec.jobManager.ports"
type JobManagerSpec struct {
	// Replicas is the number of JobManagers (the original operator's field). Above 1 only with
	// high availability (spec.highAvailability or Kubernetes HA in flinkProperties): one leader
	// and standbys that take over within seconds. Absent: 1.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// AccessScope says from where the JobManager Service can be reached: Cluster (ClusterIP,
	// inside the Kubernetes cluster), VPC (an internal load balancer), External (a public load
	// balancer), NodePort (a port on every node, reported in
	// status.components.jobManagerService.nodePort) or Headless (clusterIP: None, the name
	// resolves to the pod IP). A change to or from Headless is rejected.
	// +kubebuilder:default=Cluster
	// +optional
	AccessScope AccessScope `json:"accessScope,omitempty"`

	// ServiceAnnotations are added to the JobManager Service (for example load balancer settings).
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('flinkoperator.k8s.io/'))",message="spec.jobManager.ServiceAnnotations must not use the flinkoperator.k8s.io/ prefix: the operator's own annotations live there"
	// +optional
	ServiceAnnotations map[string]string `json:"ServiceAnnotations,omitempty"`

	// ServiceLabels are added to the JobManager Service; they never replace the operator's own
	// labels.
	// +kubebuilder:validation:XValidation:rule="!['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'flinkoperator.k8s.io/cluster'].exists(k, k in self)",message="spec.jobManager.ServiceLabels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/component, app.kubernetes.io/managed-by or flinkoperator.k8s.io/cluster: those are the operator's own labels, which select the Service; use other keys"
	// +optional
	ServiceLabels map[string]string `json:"ServiceLabels,omitempty"`

	// Ports are the JobManager's ports.
	// +kubebuilder:default={}
	// +optional
	Ports JobManagerPorts `json:"ports,omitempty"`

	// Ingress, when set, creates an Ingress to the JobManager's web UI and REST API.
	// +optional
	Ingress *JobManagerIngressSpec `json:"ingress,omitempty"`

	// RESTTLS is how the operator reaches a JobManager whose REST API serves HTTPS (Flink's
	// security.ssl.rest.enabled: true in flinkProperties, with its keystore and truststore mounted
	// from volumes): it calls https:// instead of http://, verifies the server's certificate
	// against the Secret's CA and, for mutual TLS, presents the Secret's client certificate. The
	// scheme follows the configuration the running JobManager was started with, so to turn TLS
	// off keep restTLS until that change has rolled out. Required with
	// security.ssl.rest.enabled.
	// +optional
	RESTTLS *RESTTLSSpec `json:"restTLS,omitempty"`

	// ExtraPorts are more ports of the JobManager container (for example a Prometheus reporter's),
	// also exposed on the JobManager Service.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(p, !has(p.name) || self.exists_one(q, has(q.name) && q.name == p.name))",message="spec.jobManager.extraPorts names must be unique"
	// +listType=map
	// +listMapKey=containerPort
	// +listMapKey=protocol
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(p, !has(p.name) || !(p.name in ['rpc', 'blob', 'query', 'ui']))",message="spec.jobManager.extraPorts must not use the names rpc, blob, query, ui: the operator's ports have them"
	ExtraPorts []NamedPort `json:"extraPorts,omitempty"`

	// Resources of the JobManager container. The memory limit (or request) sets Flink's memory
	// after the off-heap margin is taken away.
	// +kubebuilder:default={requests:{cpu:"200m",memory:"2Gi"},limits:{cpu:"2",memory:"2Gi"}}
	// +optional
	// +kubebuilder:validation:XValidation:rule="(has(self.limits) && 'memory' in self.limits) || (has(self.requests) && 'memory' in self.requests)",message="spec.jobManager.resources must set limits.memory (or requests.memory): the operator derives Flink's memory from it"
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// MemoryOffHeapRatio is the percentage of container memory kept off the Flink process as a
	// safety margin (0-100).
	// +kubebuilder:default=25
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MemoryOffHeapRatio *int32 `json:"memoryOffHeapRatio,omitempty"`

	// MemoryOffHeapMin is the minimum off-heap margin, a quantity such as 600M, 572Mi or 600e6.
	// +kubebuilder:default="600M"
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : (isQuantity(self) && !quantity(self).isLessThan(quantity('0')))",message="spec.jobManager.memoryOffHeapMin must be a non-negative memory quantity such as 600M, 572Mi or 600e6"
	// +optional
	MemoryOffHeapMin *resource.Quantity `json:"memoryOffHeapMin,omitempty"`

	// MemoryProcessRatio, when set, makes Flink's memory this percentage of the container memory
	// (1-100), instead of what memoryOffHeapRatio and memoryOffHeapMin leave.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MemoryProcessRatio *int32 `json:"memoryProcessRatio,omitempty"`

	// Volumes are added to the JobManager pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts are added to the JobManager container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// InitContainers run in the JobManager pod before the Flink container starts.
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`

	// NodeSelector must match a node's labels for the pod to be scheduled on that node.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations let the pod be scheduled on nodes with matching taints.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// Sidecars are extra containers in the JobManager pod, for example a log shipper.
	// +optional
	Sidecars []corev1.Container `json:"sidecars,omitempty"`

	// PodAnnotations are added to the pod template.
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('flinkoperator.k8s.io/'))",message="spec.jobManager.podAnnotations must not use the flinkoperator.k8s.io/ prefix: the operator's own annotations live there"
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// PodLabels are added to the pod template; they never replace the operator's own labels.
	// +kubebuilder:validation:XValidation:rule="!['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'flinkoperator.k8s.io/cluster'].exists(k, k in self)",message="spec.jobManager.podLabels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/component, app.kubernetes.io/managed-by or flinkoperator.k8s.io/cluster: those are the operator's own labels, which select the pods; use other keys"
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// SecurityContext is the pod-level security context.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// LivenessProbe adjusts the Flink container's liveness probe: the fields set here replace
	// those of the operator's probe (a TCP check of the RPC port), the others are kept.
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`

	// ReadinessProbe adjusts the Flink container's readiness probe in the same way (the
	// operator's is a TCP check of the UI/REST port).
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`

	// PodTemplate holds pod settings without a field of their own here, merged under the
	// operator's (see PodTemplate and docs/api.md "Pod templates").
	// +optional
	PodTemplate *PodTemplate `json:"podTemplate,omitempty"`

	// PodScheduling: affinity, hostAliases, priorityClassName, topologySpreadConstraints,
	// terminationGracePeriodSeconds, dnsPolicy, dnsConfig, runtimeClassName, schedulerName.
	PodScheduling `json:",inline"`

	// VolumeClaimTemplates is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.jobManager.volumeClaimTemplates is not supported: the pods run in a Deployment, which cannot own per-pod claims; use a generic ephemeral volume (volumes[].ephemeral.volumeClaimTemplate) for per-pod storage, or a PersistentVolumeClaim in volumes[].persistentVolumeClaim"
	VolumeClaimTemplates []runtime.RawExtension `json:"volumeClaimTemplates,omitempty"`
}

// RESTTLSSpec names the Secret with what the operator needs to call a REST API behind TLS.
type RESTTLSSpec struct {
	// SecretName is a Secret in the FlinkCluster's namespace (the shape cert-manager writes) with
	// ca.crt: the PEM CA certificates that signed the REST server's certificate; and, for mutual
	// TLS (security.ssl.rest.authentication-enabled), tls.crt and tls.key: the PEM client
	// certificate and key the operator presents. The operator reads it with a GET (it watches no
	// Secrets): it needs a Role granting get on it in this namespace (docs/api.md, "REST API over
	// TLS").
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	SecretName string `json:"secretName"`

	// ServerName is the name the server certificate is verified against. Absent: the host of the
	// URL the operator calls (NAME-jobmanager.NAMESPACE.svc with the default
	// --jobmanager-url-template).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServerName *string `json:"serverName,omitempty"`
}

// JobManagerPorts are the JobManager's ports.
type JobManagerPorts struct {
	// RPC is the JobManager RPC port (jobmanager.rpc.port).
	// +kubebuilder:default=6123
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	RPC *int32 `json:"rpc,omitempty"`

	// Blob is the blob server port (blob.server.port).
	// +kubebuilder:default=6124
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Blob *int32 `json:"blob,omitempty"`

	// Query is the queryable state port (query.server.port).
	// +kubebuilder:default=6125
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Query *int32 `json:"query,omitempty"`

	// UI is the web UI and REST API port (rest.port).
	// +kubebuilder:default=8081
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	UI *int32 `json:"ui,omitempty"`
}

// JobManagerIngressSpec configures the Ingress to the JobManager UI and REST API.
//
// +kubebuilder:validation:XValidation:rule="!has(self.useTLS) || !has(self.useTls) || self.useTLS == self.useTls",message="spec.jobManager.ingress.useTLS and useTls are two spellings of one field and must not differ; set only one of them"
type JobManagerIngressSpec struct {
	// HostFormat is the Ingress host; {{$clusterName}} is replaced by the FlinkCluster's name, for
	// example {{$clusterName}}.flink.example.com. Without it the rule matches every host.
	// +optional
	HostFormat *string `json:"hostFormat,omitempty"`

	// Annotations are added to the Ingress (for example the ingress class or cert-manager issuer).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// IngressClassName is the IngressClass of the Ingress (its spec.ingressClassName). Absent:
	// the cluster's default class, or what an annotation in annotations says.
	// +optional
	IngressClassName *string `json:"ingressClassName,omitempty"`

	// UseTLS serves the Ingress over TLS, with the certificate in tlsSecretName or, without it,
	// the ingress controller's default certificate. Absent means false. Read it through
	// TLSEnabled, which also honours useTls.
	// +optional
	UseTLS *bool `json:"useTLS,omitempty"`

	// UseTls is the original operator's JSON spelling of useTLS, accepted as an alias: set either
	// (both only with the same value).
	// +optional
	UseTls *bool `json:"useTls,omitempty"`

	// TLSSecretName is the Secret holding the TLS certificate and key for useTLS; absent, the
	// ingress controller's default certificate serves.
	// +optional
	TLSSecretName *string `json:"tlsSecretName,omitempty"`
}

// TLSEnabled reports whether the Ingress serves TLS: useTLS or its alias useTls is true.
func (s *JobManagerIngressSpec) TLSEnabled() bool {
	if s == nil {
		return false
	}
	return (s.UseTLS != nil && *s.UseTLS) || (s.UseTls != nil && *s.UseTls)
}

// TaskManagerSpec configures the TaskManagers.
//
// +kubebuilder:validation:XValidation:rule="!has(self.extraPorts) || self.extraPorts.all(p, !(p.containerPort in [(has(self.ports.data) ? self.ports.data : 6121), (has(self.ports.rpc) ? self.ports.rpc : 6122), (has(self.ports.query) ? self.ports.query : 6125)]))",fieldPath=".extraPorts",message="spec.taskManager.extraPorts must not repeat a port number of spec.taskManager.ports"
type TaskManagerSpec struct {
	// Replicas is the number of TaskManagers. Absent means 3, the original operator's later
	// versions' default.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas int32 `json:"replicas"`

	// DeploymentType is the kind of workload of the TaskManagers; only Deployment, what this
	// operator creates, is accepted.
	// +kubebuilder:validation:Enum=StatefulSet;Deployment
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == 'Deployment'",message="spec.taskManager.deploymentType: StatefulSet is not supported: the TaskManagers run in a Deployment; remove the field or set it to Deployment"
	DeploymentType string `json:"deploymentType,omitempty"`

	// Ports are the TaskManager's ports.
	// +kubebuilder:default={}
	// +optional
	Ports TaskManagerPorts `json:"ports,omitempty"`

	// ExtraPorts are more ports of the TaskManager container (for example a Prometheus
	// reporter's).
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(p, !has(p.name) || self.exists_one(q, has(q.name) && q.name == p.name))",message="spec.taskManager.extraPorts names must be unique"
	// +listType=map
	// +listMapKey=containerPort
	// +listMapKey=protocol
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(p, !has(p.name) || !(p.name in ['data', 'rpc', 'query']))",message="spec.taskManager.extraPorts must not use the names data, rpc, query: the operator's ports have them"
	ExtraPorts []NamedPort `json:"extraPorts,omitempty"`

	// Resources of the TaskManager container. The memory limit (or request) sets Flink's memory
	// after the off-heap margin is taken away.
	// +kubebuilder:default={requests:{cpu:"200m",memory:"2Gi"},limits:{cpu:"2",memory:"2Gi"}}
	// +optional
	// +kubebuilder:validation:XValidation:rule="(has(self.limits) && 'memory' in self.limits) || (has(self.requests) && 'memory' in self.requests)",message="spec.taskManager.resources must set limits.memory (or requests.memory): the operator derives Flink's memory from it"
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// MemoryOffHeapRatio is the percentage of container memory kept off the Flink process as a
	// safety margin (0-100).
	// +kubebuilder:default=25
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MemoryOffHeapRatio *int32 `json:"memoryOffHeapRatio,omitempty"`

	// MemoryOffHeapMin is the minimum off-heap margin, a quantity such as 600M, 572Mi or 600e6.
	// +kubebuilder:default="600M"
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : (isQuantity(self) && !quantity(self).isLessThan(quantity('0')))",message="spec.taskManager.memoryOffHeapMin must be a non-negative memory quantity such as 600M, 572Mi or 600e6"
	// +optional
	MemoryOffHeapMin *resource.Quantity `json:"memoryOffHeapMin,omitempty"`

	// MemoryProcessRatio, when set, makes Flink's memory this percentage of the container memory
	// (1-100), instead of what memoryOffHeapRatio and memoryOffHeapMin leave.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MemoryProcessRatio *int32 `json:"memoryProcessRatio,omitempty"`

	// Volumes are added to the TaskManager pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts are added to the TaskManager container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// Sidecars are extra containers in the TaskManager pod.
	// +optional
	Sidecars []corev1.Container `json:"sidecars,omitempty"`

	// InitContainers run in the TaskManager pod before the Flink container starts.
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`

	// NodeSelector must match a node's labels for the pod to be scheduled on that node.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations let the pod be scheduled on nodes with matching taints.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// PodAnnotations are added to the pod template.
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('flinkoperator.k8s.io/'))",message="spec.taskManager.podAnnotations must not use the flinkoperator.k8s.io/ prefix: the operator's own annotations live there"
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// PodLabels are added to the pod template; they never replace the operator's own labels.
	// +kubebuilder:validation:XValidation:rule="!['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'flinkoperator.k8s.io/cluster'].exists(k, k in self)",message="spec.taskManager.podLabels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/component, app.kubernetes.io/managed-by or flinkoperator.k8s.io/cluster: those are the operator's own labels, which select the pods; use other keys"
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// SecurityContext is the pod-level security context.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// LivenessProbe adjusts the Flink container's liveness probe: the fields set here replace
	// those of the operator's probe (a TCP check of the RPC port), the others are kept.
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`

	// ReadinessProbe gives the Flink container a readiness probe (the operator sets none on
	// TaskManagers): a TCP check of the RPC port, with the fields set here replacing its own.
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`

	// PodTemplate holds pod settings without a field of their own here, merged under the
	// operator's (see PodTemplate and docs/api.md "Pod templates").
	// +optional
	PodTemplate *PodTemplate `json:"podTemplate,omitempty"`

	// PodScheduling: affinity, hostAliases, priorityClassName, topologySpreadConstraints,
	// terminationGracePeriodSeconds, dnsPolicy, dnsConfig, runtimeClassName, schedulerName.
	// HorizontalPodAutoscaler makes the operator create an autoscaling/v2
	// HorizontalPodAutoscaler (NAME-taskmanager) that scales replicas through the FlinkCluster's
	// scale subresource; it is updated and deleted with this field. A job cluster's job keeps
	// its parallelism: added TaskManagers give it free slots, not more parallel tasks (see
	// docs/api.md "Autoscaling").
	// +optional
	HorizontalPodAutoscaler *HorizontalPodAutoscalerSpec `json:"horizontalPodAutoscaler,omitempty"`

	PodScheduling `json:",inline"`

	// VolumeClaimTemplates is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.taskManager.volumeClaimTemplates is not supported: the pods run in a Deployment, which cannot own per-pod claims; use a generic ephemeral volume (volumes[].ephemeral.volumeClaimTemplate) for per-pod storage, or a PersistentVolumeClaim in volumes[].persistentVolumeClaim"
	VolumeClaimTemplates []runtime.RawExtension `json:"volumeClaimTemplates,omitempty"`
}

// TaskManagerPorts are the TaskManager's ports.
type TaskManagerPorts struct {
	// Data is the data exchange port (taskmanager.data.port).
	// +kubebuilder:default=6121
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Data *int32 `json:"data,omitempty"`

	// RPC is the TaskManager RPC port (taskmanager.rpc.port).
	// +kubebuilder:default=6122
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	RPC *int32 `json:"rpc,omitempty"`

	// Query is the queryable state proxy port (query.proxy.ports).
	// +kubebuilder:default=6125
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Query *int32 `json:"query,omitempty"`
}

// JobRestartPolicy says what happens when a job fails.
// +kubebuilder:validation:Enum=Never;FromSavepointOnFailure;FromLatestStateOnFailure
type JobRestartPolicy string

const (
	// JobRestartPolicyNever leaves a failed job failed.
	JobRestartPolicyNever JobRestartPolicy = "Never"
	// JobRestartPolicyFromSavepointOnFailure restarts a failed or lost job from the savepoint
	// recorded in status, if there is one.
	JobRestartPolicyFromSavepointOnFailure JobRestartPolicy = "FromSavepointOnFailure"
	// JobRestartPolicyFromLatestStateOnFailure restarts a failed or lost job from the newest
	// retained checkpoint or savepoint, whichever is newer.
	JobRestartPolicyFromLatestStateOnFailure JobRestartPolicy = "FromLatestStateOnFailure"
)

// UpgradeFallback is what an update in Savepoint mode does when its savepoint fails.
// +kubebuilder:validation:Enum=LastState
type UpgradeFallback string

// UpgradeFallbackLastState cancels the job and resumes from its latest retained checkpoint.
const UpgradeFallbackLastState UpgradeFallback = "LastState"

// JobDesiredState is spec.job.state: whether the job should run or be suspended.
// +kubebuilder:validation:Enum=Running;Suspended
type JobDesiredState string

// The desired job states.
const (
	JobDesiredStateRunning   JobDesiredState = "Running"
	JobDesiredStateSuspended JobDesiredState = "Suspended"
)

// JobMode is how a job cluster runs its job.
type JobMode string

const (
	// JobModeDetached submits the job to a running JobManager (flink run --detached).
	JobModeDetached JobMode = "Detached"
	// JobModeApplication runs the job's main() inside the JobManager (Flink's application mode).
	JobModeApplication JobMode = "Application"
)

// UpgradeMode is how an update stops the running job and where the new one resumes from.
// +kubebuilder:validation:Enum=Savepoint;LastState;Stateless
type UpgradeMode string

const (
	// UpgradeModeSavepoint stops the job with a savepoint and resumes from it.
	UpgradeModeSavepoint UpgradeMode = "Savepoint"
	// UpgradeModeLastState cancels the job without a savepoint and resumes from its latest
	// retained checkpoint.
	UpgradeModeLastState UpgradeMode = "LastState"
	// UpgradeModeStateless cancels the job without a savepoint; the new one starts from the last
	// recorded savepoint, if any (the seed's takeSavepointOnUpdate: false).
	UpgradeModeStateless UpgradeMode = "Stateless"
)

// CleanupAction is what happens to the cluster after its job ends.
// +kubebuilder:validation:Enum=KeepCluster;DeleteCluster;DeleteTaskManager
type CleanupAction string

const (
	// CleanupActionKeepCluster leaves the JobManager and TaskManagers running.
	CleanupActionKeepCluster CleanupAction = "KeepCluster"
	// CleanupActionDeleteCluster removes the JobManager, TaskManagers, Services and Ingress.
	CleanupActionDeleteCluster CleanupAction = "DeleteCluster"
	// CleanupActionDeleteTaskManager removes only the TaskManagers.
	CleanupActionDeleteTaskManager CleanupAction = "DeleteTaskManager"
)

// JobSpec is the job of a job cluster.
//
// +kubebuilder:validation:XValidation:rule="!has(self.autoSavepointSeconds) || (has(self.savepointsDir) && size(self.savepointsDir) > 0)",message="spec.job.autoSavepointSeconds requires spec.job.savepointsDir"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.cancelRequested) || !oldSelf.cancelRequested || (has(self.cancelRequested) && self.cancelRequested)",message="spec.job.cancelRequested cannot go back from true to false; create a new FlinkCluster to run the job again"
// +kubebuilder:validation:XValidation:rule="!has(self.takeSavepointOnUpdate) || !has(self.takeSavepointOnUpgrade) || self.takeSavepointOnUpdate == self.takeSavepointOnUpgrade",message="spec.job.takeSavepointOnUpdate and takeSavepointOnUpgrade are two names of one field and must not differ; set only one of them"
// +kubebuilder:validation:XValidation:rule="!has(self.upgradeMode) || ((!has(self.takeSavepointOnUpdate) || self.upgradeMode == (self.takeSavepointOnUpdate ? 'Savepoint' : 'Stateless')) && (!has(self.takeSavepointOnUpgrade) || self.upgradeMode == (self.takeSavepointOnUpgrade ? 'Savepoint' : 'Stateless')))",fieldPath=".upgradeMode",message="spec.job.upgradeMode conflicts with takeSavepointOnUpdate (or takeSavepointOnUpgrade): true means upgradeMode Savepoint and false means Stateless; set only upgradeMode"
// +kubebuilder:validation:XValidation:rule="!has(self.upgradeFallback) || ((!has(self.upgradeMode) || self.upgradeMode == 'Savepoint') && (!has(self.takeSavepointOnUpdate) || self.takeSavepointOnUpdate) && (!has(self.takeSavepointOnUpgrade) || self.takeSavepointOnUpgrade))",fieldPath=".upgradeFallback",message="spec.job.upgradeFallback applies only to upgradeMode Savepoint (what to do when the update's savepoint fails); remove it, or set upgradeMode to Savepoint"
// +kubebuilder:validation:XValidation:rule="!has(self.state) || self.state != 'Suspended' || (has(self.savepointsDir) && size(self.savepointsDir) > 0) || (has(self.upgradeMode) && self.upgradeMode != 'Savepoint') || (has(self.takeSavepointOnUpdate) && !self.takeSavepointOnUpdate) || (has(self.takeSavepointOnUpgrade) && !self.takeSavepointOnUpgrade)",fieldPath=".state",message="spec.job.state Suspended stops the job with a savepoint (upgradeMode Savepoint) and needs spec.job.savepointsDir; set it, or set upgradeMode to LastState or Stateless"
// +kubebuilder:validation:XValidation:rule="!has(self.restartOnUnhealthy) || !self.restartOnUnhealthy || (has(self.restartPolicy) && self.restartPolicy != 'Never')",fieldPath=".restartOnUnhealthy",message="spec.job.restartOnUnhealthy restarts the job by its restartPolicy, which is Never; set restartPolicy to FromSavepointOnFailure or FromLatestStateOnFailure"
// +kubebuilder:validation:XValidation:rule="!has(self.restoreGeneration) || self.restoreGeneration == 0 || (has(self.fromSavepoint) && size(self.fromSavepoint) > 0)",fieldPath=".restoreGeneration",message="spec.job.restoreGeneration restarts the job from spec.job.fromSavepoint, which must be set"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.restoreGeneration) || (has(self.restoreGeneration) && self.restoreGeneration >= oldSelf.restoreGeneration)",fieldPath=".restoreGeneration",message="spec.job.restoreGeneration cannot decrease; set it to status.components.job.restoreGeneration + 1 to restore from spec.job.fromSavepoint"
// +kubebuilder:validation:XValidation:rule="!self.jarFile.matches('^[A-Za-z][A-Za-z0-9+.-]*://') || self.jarFile.matches('^(?i)(https?|local|file)://') || (has(self.mode) && self.mode == 'Application')",fieldPath=".jarFile",message="spec.job.jarFile: this scheme is not fetched for flink run; use a path in the image (or local://, file://), an http:// or https:// URL (fetched by an init container before the job starts), or mode Application, where Flink fetches URIs of its file systems (s3://, gs://, ...)"
// +kubebuilder:validation:XValidation:rule="!has(self.jarFileChecksum) || self.jarFile.matches('^(?i)https?://')",fieldPath=".jarFileChecksum",message="spec.job.jarFileChecksum checks a JAR the operator fetches, which needs an http:// or https:// jarFile; remove it, or serve the JAR over HTTP(S)"
// +kubebuilder:validation:XValidation:rule="(has(self.mode) ? self.mode : 'Detached') == (has(oldSelf.mode) ? oldSelf.mode : 'Detached')",fieldPath=".mode",message="spec.job.mode cannot change: Detached and Application run the JobManager differently; create a new FlinkCluster (restoring from a savepoint of this one) to switch"
type JobSpec struct {
	// JarFile is the job's JAR: a path inside the image (local:// and file:// name one too), or
	// an http:// or https:// URL that an init container fetches before the job starts. In mode
	// Application, a URI of another file system Flink's plugins read (s3://, gs://, ...) is
	// fetched by Flink itself.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-')",message="spec.job.jarFile must not start with '-': flink run would read it as one of its own options"
	JarFile string `json:"jarFile"`

	// JarFileChecksum is the SHA-256 digest of an http:// or https:// jarFile, as
	// "sha256:" and 64 lower-case hex digits. The fetch fails (and the job does not start) when
	// the file served differs; a change of the digest updates the job like any change that
	// restarts it. Absent: the file is not checked.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	// +kubebuilder:validation:Pattern=`^sha256:[0-9a-f]{64}$`
	JarFileChecksum string `json:"jarFileChecksum,omitempty"`

	// ClassName is the fully qualified name of the job's main class.
	// +kubebuilder:validation:MinLength=1
	ClassName string `json:"className"`

	// ClassPath are URLs added to the user code classloader on every node (flink run
	// --classpath); each needs a protocol (file://, ...) and must be reachable from all nodes.
	// +optional
	ClassPath []string `json:"classPath,omitempty"`

	// Mode is how the job runs: Detached (absent: the default) submits it to the JobManager with
	// a submitter Job running flink run --detached; Application runs the job's main() inside the
	// JobManager, which then exists for one attempt of the job (see docs/api.md). It cannot change
	// once set. Blocking is rejected.
	// +kubebuilder:validation:Enum=Detached;Blocking;Application
	// +optional
	// +kubebuilder:validation:XValidation:rule="self != 'Blocking'",message="spec.job.mode Blocking is not supported: a submitter that waits for the job adds nothing the operator does not already watch; use Detached (a submitter runs flink run --detached) or Application (the JobManager runs the job)"
	Mode *JobMode `json:"mode,omitempty"`

	// PyFile is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.pyFile, pyFiles, pyModule (and pythonFile, pythonFiles, pythonModule) are not supported: this operator submits JAR jobs; set jarFile and className (a PyFlink job can be started from a JAR entry point such as org.apache.flink.client.python.PythonDriver with args -py FILE)"
	PyFile *string `json:"pyFile,omitempty"`
	// PyFiles is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.pyFile, pyFiles, pyModule (and pythonFile, pythonFiles, pythonModule) are not supported: this operator submits JAR jobs; set jarFile and className (a PyFlink job can be started from a JAR entry point such as org.apache.flink.client.python.PythonDriver with args -py FILE)"
	PyFiles *string `json:"pyFiles,omitempty"`
	// PyModule is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.pyFile, pyFiles, pyModule (and pythonFile, pythonFiles, pythonModule) are not supported: this operator submits JAR jobs; set jarFile and className (a PyFlink job can be started from a JAR entry point such as org.apache.flink.client.python.PythonDriver with args -py FILE)"
	PyModule *string `json:"pyModule,omitempty"`
	// PythonFile is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.pyFile, pyFiles, pyModule (and pythonFile, pythonFiles, pythonModule) are not supported: this operator submits JAR jobs; set jarFile and className (a PyFlink job can be started from a JAR entry point such as org.apache.flink.client.python.PythonDriver with args -py FILE)"
	PythonFile *string `json:"pythonFile,omitempty"`
	// PythonFiles is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.pyFile, pyFiles, pyModule (and pythonFile, pythonFiles, pythonModule) are not supported: this operator submits JAR jobs; set jarFile and className (a PyFlink job can be started from a JAR entry point such as org.apache.flink.client.python.PythonDriver with args -py FILE)"
	PythonFiles *string `json:"pythonFiles,omitempty"`
	// PythonModule is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.pyFile, pyFiles, pyModule (and pythonFile, pythonFiles, pythonModule) are not supported: this operator submits JAR jobs; set jarFile and className (a PyFlink job can be started from a JAR entry point such as org.apache.flink.client.python.PythonDriver with args -py FILE)"
	PythonModule *string `json:"pythonModule,omitempty"`

	// MaxStateAgeToRestoreSeconds is not supported and rejected; see docs/compatibility.md.
	// +optional
	// +kubebuilder:validation:XValidation:rule="false",message="spec.job.maxStateAgeToRestoreSeconds is not supported: restarts and updates resume from the savepoint recorded in status whatever its age; remove it, and use autoSavepointSeconds to keep that savepoint recent"
	MaxStateAgeToRestoreSeconds *int32 `json:"maxStateAgeToRestoreSeconds,omitempty"`

	// Args are the program arguments passed to the main class.
	// +optional
	Args []string `json:"args,omitempty"`

	// FromSavepoint is the savepoint the job's first run starts from. Later runs (restarts,
	// updates) start from the savepoint recorded in status.components.job, unless
	// restoreGeneration asks for a restart from this one.
	// +optional
	FromSavepoint *string `json:"fromSavepoint,omitempty"`

	// RestoreGeneration asks for a restart of the job from spec.job.fromSavepoint: set it to
	// status.components.job.restoreGeneration + 1 (it never decreases). A running job is stopped
	// first the way upgradeMode says (with a savepoint by default, so its latest state is kept
	// as well); a failed, lost, finished or cancelled one is started again; a suspended one
	// resumes from it. Editing fromSavepoint without it changes nothing after the first run.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RestoreGeneration int32 `json:"restoreGeneration,omitempty"`

	// AllowNonRestoredState lets the job start from a savepoint that holds state for operators
	// the job no longer has.
	// +kubebuilder:default=false
	// +optional
	AllowNonRestoredState *bool `json:"allowNonRestoredState,omitempty"`

	// AutoSavepointSeconds takes a savepoint into savepointsDir every this many seconds, counted
	// from the last successful savepoint (or the job's start). Requires savepointsDir.
	// +kubebuilder:validation:Minimum=1
	// +optional
	AutoSavepointSeconds *int32 `json:"autoSavepointSeconds,omitempty"`

	// SavepointsDir is where the operator writes savepoints (for example gs://bucket/savepoints).
	// Without it the operator takes no savepoints.
	// +optional
	SavepointsDir *string `json:"savepointsDir,omitempty"`

	// SavepointGeneration asks for a savepoint now: set it to
	// status.components.job.savepointGeneration + 1. It can only ever grow by exactly 1.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +optional
	SavepointGeneration int32 `json:"savepointGeneration,omitempty"`

	// SavepointFormatType is the format of every savepoint the operator triggers: CANONICAL
	// (Flink's portable format, restorable with another state backend) or NATIVE (the state
	// backend's own format: faster to take and restore, tied to that backend). Absent means
	// CANONICAL.
	// +kubebuilder:validation:Enum=CANONICAL;NATIVE
	// +optional
	SavepointFormatType *SavepointFormatType `json:"savepointFormatType,omitempty"`

	// SavepointRetention disposes of the operator's own older savepoints (through the
	// JobManager's REST disposal, while it runs): beyond the newest maxCount, or older than
	// maxAgeSeconds. The newest successful savepoint, the one restarts and resumes use, the
	// current attempt's source and spec.job.fromSavepoint are never disposed, nor savepoints
	// taken outside the operator. Absent: nothing is disposed.
	// +optional
	SavepointRetention *SavepointRetention `json:"savepointRetention,omitempty"`

	// Parallelism is the job's default parallelism.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +optional
	Parallelism *int32 `json:"parallelism,omitempty"`

	// NoLoggingToStdout stops the submitter from logging the job's output to stdout.
	// +kubebuilder:default=false
	// +optional
	NoLoggingToStdout *bool `json:"noLoggingToStdout,omitempty"`

	// Volumes are added to the job submitter pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts are added to the submitter container, and to its initContainers unless a mount
	// there already uses the same path or name (the init container's own mount wins).
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// InitContainers run in the submitter pod before the job is submitted, for example to
	// download the JAR.
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`

	// Resources of the submitter container (and of the init container that waits for the
	// JobManager). Without them the containers have none.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// SecurityContext is the submitter pod's security context.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// NodeSelector must match a node's labels for the submitter pod to be scheduled there.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations let the submitter pod be scheduled on nodes with matching taints.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// PodAnnotations are added to the submitter pod template.
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('flinkoperator.k8s.io/'))",message="spec.job.podAnnotations must not use the flinkoperator.k8s.io/ prefix: the operator's own annotations live there"
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// PodLabels are added to the submitter pod template; they never replace the operator's own
	// labels.
	// +kubebuilder:validation:XValidation:rule="!['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'flinkoperator.k8s.io/cluster'].exists(k, k in self)",message="spec.job.podLabels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/component, app.kubernetes.io/managed-by or flinkoperator.k8s.io/cluster: those are the operator's own labels, which select the pods; use other keys"
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// PodTemplate holds pod settings without a field of their own here, merged under the
	// operator's (see PodTemplate and docs/api.md "Pod templates").
	// +optional
	PodTemplate *PodTemplate `json:"podTemplate,omitempty"`

	// PodScheduling: affinity, hostAliases, priorityClassName, topologySpreadConstraints,
	// terminationGracePeriodSeconds, dnsPolicy, dnsConfig, runtimeClassName, schedulerName.
	PodScheduling `json:",inline"`

	// RestartOnUnhealthy treats a job that condition JobHealthy judges unhealthy (a restart loop
	// inside Flink, stalled checkpoints) as failed: the operator cancels it and restarts it by
	// restartPolicy, which must not be Never. With FromLatestStateOnFailure only while the job
	// retains its checkpoints on cancellation. Absent means false.
	// +optional
	RestartOnUnhealthy *bool `json:"restartOnUnhealthy,omitempty"`

	// Rollback, when set, rolls a failed update back: when the job of a new revision fails (or
	// is lost), or does not run with a first completed checkpoint within timeoutSeconds of its
	// submission, the operator resubmits the last revision that ran well from what the update
	// resumed from (its savepoint, or the checkpoint of a LastState update), and does not try
	// the failed revision again until the spec changes. Absent: no rollback.
	// +optional
	Rollback *JobRollback `json:"rollback,omitempty"`

	// RestartPolicy says what happens when the job fails: Never leaves it failed;
	// FromSavepointOnFailure restarts it from the savepoint recorded in status, if there is one.
	// +kubebuilder:default=Never
	// +optional
	RestartPolicy *JobRestartPolicy `json:"restartPolicy,omitempty"`

	// CleanupPolicy says what happens to the cluster after the job ends.
	// +kubebuilder:default={}
	// +optional
	CleanupPolicy *CleanupPolicy `json:"cleanupPolicy,omitempty"`

	// CancelRequested cancels the running job. With savepointsDir a savepoint is taken before the
	// job stops. It cannot be set back to false.
	// +optional
	CancelRequested *bool `json:"cancelRequested,omitempty"`

	// State is the job's desired state: Running (absent means Running) or Suspended. Suspended
	// stops a running job the way upgradeMode says (a savepoint, or a cancellation that keeps its
	// checkpoints), deletes the TaskManagers and keeps the JobManager; Running again resumes it
	// from what the stop left, on the current spec. Unlike cancelRequested, which ends the job
	// for good, it can go back and forth.
	// +kubebuilder:validation:Enum=Running;Suspended
	// +optional
	State *JobDesiredState `json:"state,omitempty"`

	// TakeSavepointOnUpdate takes a savepoint before a spec change restarts the job, and resumes
	// from it. Set it to false to allow an update to restart the job without its state when no
	// savepoint can be taken. Absent means true. Read it through SavepointOnUpdate, which also
	// honours takeSavepointOnUpgrade.
	// +optional
	TakeSavepointOnUpdate *bool `json:"takeSavepointOnUpdate,omitempty"`

	// TakeSavepointOnUpgrade is the original operator's name of takeSavepointOnUpdate, accepted
	// as an alias: set either (both only with the same value).
	// +optional
	TakeSavepointOnUpgrade *bool `json:"takeSavepointOnUpgrade,omitempty"`

	// UpgradeMode is how an update stops the job and where the new job resumes from: Savepoint
	// (stop with a savepoint, resume from it), LastState (cancel, resume from the latest retained
	// checkpoint) or Stateless (cancel, start without state). Absent means Savepoint, or
	// Stateless when takeSavepointOnUpdate is false. Read it through EffectiveUpgradeMode.
	// +optional
	UpgradeMode *UpgradeMode `json:"upgradeMode,omitempty"`

	// UpgradeFallback is what an update in Savepoint mode does when its savepoint fails: absent,
	// the job keeps running and the update is tried again later; LastState cancels the job and
	// resumes from its latest retained checkpoint instead.
	// +optional
	UpgradeFallback *UpgradeFallback `json:"upgradeFallback,omitempty"`
}

// SavepointRetention bounds how many of the operator's savepoints are kept, and for how long.
// +kubebuilder:validation:XValidation:rule="has(self.maxCount) || has(self.maxAgeSeconds)",message="spec.job.savepointRetention needs maxCount, maxAgeSeconds or both"
type SavepointRetention struct {
	// MaxCount keeps the newest this many successful savepoints the operator took and disposes
	// of older ones. At most 5: status.components.job.savepointHistory, which the disposal
	// works from, holds the last 10 savepoint operations.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	// +optional
	MaxCount *int32 `json:"maxCount,omitempty"`

	// MaxAgeSeconds disposes of the operator's savepoints that completed more than this many
	// seconds ago (the newest successful one is always kept).
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxAgeSeconds *int64 `json:"maxAgeSeconds,omitempty"`
}

// SavepointFormatType is the format of a savepoint.
type SavepointFormatType string

// The savepoint formats.
const (
	SavepointFormatCanonical SavepointFormatType = "CANONICAL"
	SavepointFormatNative    SavepointFormatType = "NATIVE"
)

// SavepointFormat is spec.job.savepointFormatType, or CANONICAL when absent.
func (j *JobSpec) SavepointFormat() SavepointFormatType {
	if j == nil || j.SavepointFormatType == nil {
		return SavepointFormatCanonical
	}
	return *j.SavepointFormatType
}

// JobRollback configures the rollback of a failed update.
type JobRollback struct {
	// TimeoutSeconds is how long the job of a new revision has, from its submission (or, while
	// its cluster does not come up, from the stop of the previous job), to run with a first
	// completed checkpoint (or, with checkpointing disabled, to run). It must cover the job's
	// start, its state restore and one checkpoint interval. Absent means 300.
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=86400
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// DefaultRollbackTimeout is spec.job.rollback.timeoutSeconds when it is absent.
const DefaultRollbackTimeout = 300 * time.Second

// RollbackTimeout is spec.job.rollback.timeoutSeconds, or its default (0 without rollback).
func (j *JobSpec) RollbackTimeout() time.Duration {
	switch {
	case j == nil || j.Rollback == nil:
		return 0
	case j.Rollback.TimeoutSeconds != nil:
		return time.Duration(*j.Rollback.TimeoutSeconds) * time.Second
	}
	return DefaultRollbackTimeout
}

// ApplicationMode reports whether the job runs inside its JobManager (mode Application).
func (j *JobSpec) ApplicationMode() bool {
	return j != nil && j.Mode != nil && *j.Mode == JobModeApplication
}

// EffectiveUpgradeMode is upgradeMode, or what takeSavepointOnUpdate (or its alias) says when it
// is absent: Savepoint unless one of them is false.
// Suspended reports whether spec.job.state asks for the job to be suspended.
func (j *JobSpec) Suspended() bool {
	return j.State != nil && *j.State == JobDesiredStateSuspended
}

func (j *JobSpec) EffectiveUpgradeMode() UpgradeMode {
	switch {
	case j != nil && j.UpgradeMode != nil:
		return *j.UpgradeMode
	case j.SavepointOnUpdate():
		return UpgradeModeSavepoint
	}
	return UpgradeModeStateless
}

// UsesLatestState reports whether a policy of the job resumes from retained checkpoints: the
// restart policy FromLatestStateOnFailure, upgradeMode LastState or upgradeFallback LastState.
// Such a job needs Flink to retain its checkpoints when it stops.
func (j *JobSpec) UsesLatestState() bool {
	if j == nil {
		return false
	}
	return (j.RestartPolicy != nil && *j.RestartPolicy == JobRestartPolicyFromLatestStateOnFailure) ||
		j.EffectiveUpgradeMode() == UpgradeModeLastState ||
		(j.UpgradeFallback != nil && *j.UpgradeFallback == UpgradeFallbackLastState)
}

// RestartsOnUnhealthy reports spec.job.restartOnUnhealthy (absent: false).
func (j *JobSpec) RestartsOnUnhealthy() bool {
	return j != nil && j.RestartOnUnhealthy != nil && *j.RestartOnUnhealthy
}

// SavepointOnUpdate reports whether a spec change takes a savepoint before it restarts the job:
// takeSavepointOnUpdate, or its alias takeSavepointOnUpgrade; true when neither is set.
func (j *JobSpec) SavepointOnUpdate() bool {
	if j == nil {
		return true
	}
	if j.TakeSavepointOnUpdate != nil {
		return *j.TakeSavepointOnUpdate
	}
	if j.TakeSavepointOnUpgrade != nil {
		return *j.TakeSavepointOnUpgrade
	}
	return true
}

// CleanupPolicy says what happens to the cluster after the job ends.
type CleanupPolicy struct {
	// AfterJobSucceeds applies when the job finishes successfully.
	// +kubebuilder:default=DeleteCluster
	// +optional
	AfterJobSucceeds CleanupAction `json:"afterJobSucceeds,omitempty"`

	// AfterJobFails applies when the job fails and is not restarted.
	// +kubebuilder:default=KeepCluster
	// +optional
	AfterJobFails CleanupAction `json:"afterJobFails,omitempty"`

	// AfterJobCancelled applies when the job is cancelled through cancelRequested.
	// +kubebuilder:default=DeleteCluster
	// +optional
	AfterJobCancelled CleanupAction `json:"afterJobCancelled,omitempty"`
}

// HadoopConfig mounts Hadoop configuration files.
type HadoopConfig struct {
	// ConfigMapName is the ConfigMap (in the FlinkCluster's namespace) holding the Hadoop
	// configuration files.
	// +kubebuilder:validation:MinLength=1
	ConfigMapName string `json:"configMapName"`

	// MountPath is where the ConfigMap is mounted; HADOOP_CONF_DIR points there.
	// +kubebuilder:validation:MinLength=1
	MountPath string `json:"mountPath"`
}

// GCPConfig holds Google Cloud settings.
type GCPConfig struct {
	// ServiceAccount is the service account key mounted into every container.
	// +optional
	ServiceAccount *GCPServiceAccount `json:"serviceAccount,omitempty"`
}

// GCPServiceAccount mounts a service account key file from a Secret.
type GCPServiceAccount struct {
	// SecretName is the Secret (in the FlinkCluster's namespace) holding the key file.
	// +kubebuilder:validation:MinLength=1
	SecretName string `json:"secretName"`

	// KeyFile is the key file's name inside the Secret.
	// +kubebuilder:validation:MinLength=1
	KeyFile string `json:"keyFile"`

	// MountPath is where the Secret is mounted; GOOGLE_APPLICATION_CREDENTIALS is
	// mountPath/keyFile.
	// +kubebuilder:validation:MinLength=1
	MountPath string `json:"mountPath"`
}

// FlinkPropertyValue is one value of spec.flinkProperties: a single line (a line break would start
// another key in Flink's configuration file), at most 32 KiB.
// +kubebuilder:validation:MaxLength=32768
// +kubebuilder:validation:Pattern=`^[^\r\n]*$`
type FlinkPropertyValue string
