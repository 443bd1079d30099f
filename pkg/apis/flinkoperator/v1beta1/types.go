package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 45",message="metadata.name must be at most 45 characters so that child names such as NAME-job-submitter stay within 63"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must start with a letter and hold only lowercase letters, digits and '-', because it names the JobManager Service"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,description="Overall cluster state"
// +kubebuilder:printcolumn:name="Job",type=string,JSONPath=`.status.components.job.state`,description="Job state (job clusters only)"
// +kubebuilder:printcolumn:name="Savepoints",type=integer,JSONPath=`.status.components.job.savepointGeneration`,description="Savepoints taken by the operator"
// +kubebuilder:printcolumn:name="Restarts",type=integer,JSONPath=`.status.components.job.restartCount`,description="Times the operator restarted the job"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="TaskManagers",type=integer,JSONPath=`.spec.taskManager.replicas`,priority=1,description="Desired TaskManager replicas"
// +kubebuilder:printcolumn:name="Flink-Job",type=string,JSONPath=`.status.components.job.flinkJobState`,priority=1,description="Job state as Flink reports it"
// +kubebuilder:printcolumn:name="Job-ID",type=string,JSONPath=`.status.components.job.id`,priority=1,description="Flink job ID"
// +kubebuilder:printcolumn:name="Last-Savepoint",type=date,JSONPath=`.status.components.job.lastSavepointTime`,priority=1,description="Time of the last savepoint operation"
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image.name`,priority=1
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

// FlinkClusterSpec is the desired state of a Flink cluster.
//
// +kubebuilder:validation:XValidation:rule="has(self.job) == has(oldSelf.job)",message="spec.job cannot be added or removed after creation: a session cluster cannot become a job cluster or back; create a new FlinkCluster instead"
type FlinkClusterSpec struct {
	// Image is the Flink image used by the JobManager, TaskManager and job submitter containers.
	Image ImageSpec `json:"image"`

	// JobManager configures the JobManager Deployment, its Service and optional Ingress.
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

	// FlinkProperties are appended to the Flink configuration file and override the operator's
	// values, except for the few keys the operator must own (see docs/api.md).
	// +kubebuilder:validation:XValidation:rule="['jobmanager.rpc.address', 'jobmanager.rpc.port', 'blob.server.port', 'rest.port', 'rest.address', 'taskmanager.rpc.port', 'taskmanager.data.port', '$internal.pipeline.job-id'].all(k, !(k in self))",message="spec.flinkProperties must not set jobmanager.rpc.address, jobmanager.rpc.port, blob.server.port, rest.port, rest.address, taskmanager.rpc.port, taskmanager.data.port or $internal.pipeline.job-id: the operator sets them from spec.jobManager.ports and spec.taskManager.ports"
	// +optional
	FlinkProperties map[string]string `json:"flinkProperties,omitempty"`

	// HadoopConfig mounts a ConfigMap of Hadoop configuration files and points HADOOP_CONF_DIR at it.
	// +optional
	HadoopConfig *HadoopConfig `json:"hadoopConfig,omitempty"`

	// GCPConfig mounts a Google Cloud service account key and points
	// GOOGLE_APPLICATION_CREDENTIALS at it.
	// +optional
	GCPConfig *GCPConfig `json:"gcpConfig,omitempty"`
}

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
// +kubebuilder:validation:Enum=Cluster;VPC;External
type AccessScope string

const (
	// AccessScopeCluster exposes the JobManager inside the Kubernetes cluster (ClusterIP).
	AccessScopeCluster AccessScope = "Cluster"
	// AccessScopeVPC exposes it inside the same VPC through an internal load balancer.
	AccessScopeVPC AccessScope = "VPC"
	// AccessScopeExternal exposes it to the internet through a load balancer.
	AccessScopeExternal AccessScope = "External"
)

// JobManagerSpec configures the JobManager.
//
// +kubebuilder:validation:XValidation:rule="!has(self.resources) || (has(self.resources.limits) && 'memory' in self.resources.limits) || (has(self.resources.requests) && 'memory' in self.resources.requests)",message="spec.jobManager.resources must set limits.memory (or requests.memory): the operator derives Flink's memory from it"
type JobManagerSpec struct {
	// AccessScope says from where the JobManager Service can be reached: Cluster (ClusterIP,
	// inside the Kubernetes cluster), VPC (an internal load balancer) or External (a public load
	// balancer).
	// +kubebuilder:default=Cluster
	// +optional
	AccessScope AccessScope `json:"accessScope,omitempty"`

	// Ports are the JobManager's ports.
	// +kubebuilder:default={}
	// +optional
	Ports JobManagerPorts `json:"ports,omitempty"`

	// Ingress, when set, creates an Ingress to the JobManager's web UI and REST API.
	// +optional
	Ingress *JobManagerIngressSpec `json:"ingress,omitempty"`

	// Resources of the JobManager container. The memory limit (or request) sets Flink's memory
	// after the off-heap margin is taken away.
	// +kubebuilder:default={requests:{cpu:"200m",memory:"2Gi"},limits:{cpu:"2",memory:"2Gi"}}
	// +optional
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

	// Volumes are added to the JobManager pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts are added to the JobManager container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
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
// +kubebuilder:validation:XValidation:rule="!has(self.useTLS) || !self.useTLS || (has(self.tlsSecretName) && size(self.tlsSecretName) > 0)",message="spec.jobManager.ingress.tlsSecretName is required when useTLS is true"
type JobManagerIngressSpec struct {
	// HostFormat is the Ingress host; {{$clusterName}} is replaced by the FlinkCluster's name, for
	// example {{$clusterName}}.flink.example.com. Without it the rule matches every host.
	// +optional
	HostFormat *string `json:"hostFormat,omitempty"`

	// Annotations are added to the Ingress (for example the ingress class or cert-manager issuer).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// UseTLS serves the Ingress over TLS with the certificate in tlsSecretName.
	// +kubebuilder:default=false
	// +optional
	UseTLS *bool `json:"useTLS,omitempty"`

	// TLSSecretName is the Secret holding the TLS certificate and key, required with useTLS.
	// +optional
	TLSSecretName *string `json:"tlsSecretName,omitempty"`
}

// TaskManagerSpec configures the TaskManagers.
//
// +kubebuilder:validation:XValidation:rule="!has(self.resources) || (has(self.resources.limits) && 'memory' in self.resources.limits) || (has(self.resources.requests) && 'memory' in self.resources.requests)",message="spec.taskManager.resources must set limits.memory (or requests.memory): the operator derives Flink's memory from it"
type TaskManagerSpec struct {
	// Replicas is the number of TaskManagers.
	// +kubebuilder:validation:Minimum=0
	Replicas int32 `json:"replicas"`

	// Ports are the TaskManager's ports.
	// +kubebuilder:default={}
	// +optional
	Ports TaskManagerPorts `json:"ports,omitempty"`

	// Resources of the TaskManager container. The memory limit (or request) sets Flink's memory
	// after the off-heap margin is taken away.
	// +kubebuilder:default={requests:{cpu:"200m",memory:"2Gi"},limits:{cpu:"2",memory:"2Gi"}}
	// +optional
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

	// Volumes are added to the TaskManager pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts are added to the TaskManager container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// Sidecars are extra containers in the TaskManager pod.
	// +optional
	Sidecars []corev1.Container `json:"sidecars,omitempty"`
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
// +kubebuilder:validation:Enum=Never;FromSavepointOnFailure
type JobRestartPolicy string

const (
	// JobRestartPolicyNever leaves a failed job failed.
	JobRestartPolicyNever JobRestartPolicy = "Never"
	// JobRestartPolicyFromSavepointOnFailure restarts a failed or lost job from the savepoint
	// recorded in status, if there is one.
	JobRestartPolicyFromSavepointOnFailure JobRestartPolicy = "FromSavepointOnFailure"
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
type JobSpec struct {
	// JarFile is the job's JAR: a path inside the image or a remote URI (https://, gs://, ...).
	// +kubebuilder:validation:MinLength=1
	JarFile string `json:"jarFile"`

	// ClassName is the fully qualified name of the job's main class.
	// +kubebuilder:validation:MinLength=1
	ClassName string `json:"className"`

	// Args are the program arguments passed to the main class.
	// +optional
	Args []string `json:"args,omitempty"`

	// FromSavepoint is the savepoint the job's first run starts from. Later runs (restarts,
	// updates) start from the savepoint recorded in status.components.job.
	// +optional
	FromSavepoint *string `json:"fromSavepoint,omitempty"`

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
	// +kubebuilder:validation:XValidation:rule="self == oldSelf || self == oldSelf + 1",message="spec.job.savepointGeneration can only grow by exactly 1 (set it to status.components.job.savepointGeneration + 1)"
	// +optional
	SavepointGeneration int32 `json:"savepointGeneration,omitempty"`

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

	// TakeSavepointOnUpdate takes a savepoint before a spec change restarts the job, and resumes
	// from it. Set it to false to allow an update to restart the job without its state when no
	// savepoint can be taken.
	// +kubebuilder:default=true
	// +optional
	TakeSavepointOnUpdate *bool `json:"takeSavepointOnUpdate,omitempty"`
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
