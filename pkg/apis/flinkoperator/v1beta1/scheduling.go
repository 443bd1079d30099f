package v1beta1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// PodScheduling are the pod-level scheduling and identity settings that the JobManager,
// TaskManager and job submitter pods each take (the later versions of the original operator had
// affinity and hostAliases per component; the others carry the PodSpec fields' names). Each is
// copied into the component's pod spec as given; absent leaves the PodSpec's own default.
// +kubebuilder:validation:XValidation:rule="!has(self.dnsPolicy) || self.dnsPolicy != 'None' || has(self.dnsConfig)",fieldPath=".dnsPolicy",message="dnsPolicy None needs dnsConfig with at least one nameserver: the pod would have no DNS at all"
type PodScheduling struct {
	// Affinity is the pod's node affinity, pod affinity and pod anti-affinity. The operator's
	// labels (docs/api.md "Labels") select one cluster's pods of one component, for example
	// app.kubernetes.io/instance=NAME and app.kubernetes.io/component=taskmanager to spread a
	// cluster's TaskManagers over nodes.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// HostAliases are entries added to the pod's /etc/hosts.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	HostAliases []corev1.HostAlias `json:"hostAliases,omitempty"`

	// PriorityClassName is the pod's PriorityClass; it must exist when the pods are created.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PriorityClassName *string `json:"priorityClassName,omitempty"`

	// TopologySpreadConstraints spread the pods over zones or nodes; their labelSelector selects
	// pods by the operator's labels, as for affinity.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// TerminationGracePeriodSeconds is how long the pod's containers get to stop before they are
	// killed. Absent means the PodSpec's default, 30.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`

	// DNSPolicy is the pod's DNS policy; None needs dnsConfig.
	// +kubebuilder:validation:Enum=ClusterFirstWithHostNet;ClusterFirst;Default;None
	// +optional
	DNSPolicy corev1.DNSPolicy `json:"dnsPolicy,omitempty"`

	// DNSConfig adds nameservers, search domains and resolver options to the pod's DNS.
	// +optional
	DNSConfig *corev1.PodDNSConfig `json:"dnsConfig,omitempty"`

	// RuntimeClassName is the pod's RuntimeClass (for example a sandboxed runtime).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`

	// SchedulerName is the scheduler that places the pod. Absent means the cluster's default
	// scheduler.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SchedulerName *string `json:"schedulerName,omitempty"`
}

// HorizontalPodAutoscalerSpec is the later versions' taskManager.horizontalPodAutoscaler: the
// operator creates an autoscaling/v2 HorizontalPodAutoscaler with these bounds, metrics and
// behaviour whose target is the FlinkCluster's scale subresource (spec.taskManager.replicas), so
// the autoscaler is the only writer of the replicas it manages.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",fieldPath=".minReplicas",message="spec.taskManager.horizontalPodAutoscaler.minReplicas must not be above maxReplicas"
type HorizontalPodAutoscalerSpec struct {
	// MinReplicas is the fewest TaskManagers the autoscaler keeps. Absent means 1.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the most TaskManagers the autoscaler scales to.
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`

	// Metrics are what the autoscaler scales on (autoscaling/v2 MetricSpec). Absent means 80%
	// average CPU utilisation of the TaskManagers, the autoscaler's own default; resource
	// metrics need the TaskManagers' resource requests and a metrics server.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Metrics []autoscalingv2.MetricSpec `json:"metrics,omitempty"`

	// Behavior configures the scale-up and scale-down policies and stabilisation windows.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// PodTemplate holds pod settings that have no field of their own in this API. The operator builds
// the component's pod on top of it: the template's labels and annotations first, then podLabels
// and podAnnotations, then the operator's own; the template's spec first, then every field the
// operator or a named field of this API sets. So that nothing is silently overridden, the
// template may not set what the operator or a named field owns (containers, init containers,
// volumes, the service account, image pull secrets, the restart policy, the scheduling fields
// above, nodeSelector, tolerations, securityContext): the cluster's InvalidSpec condition names
// the key and the field to use instead.
type PodTemplate struct {
	// Metadata are labels and annotations for the pods.
	// +optional
	Metadata PodTemplateMetadata `json:"metadata,omitempty"`

	// Spec holds Kubernetes PodSpec fields (for example enableServiceLinks, hostNetwork,
	// readinessGates, os, shareProcessNamespace). The API server stores it as given; the
	// operator checks it against the PodSpec schema and the rule above, and reports a mistake
	// in the InvalidSpec condition.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Spec *runtime.RawExtension `json:"spec,omitempty"`
}

// PodTemplateMetadata are a pod template's labels and annotations.
type PodTemplateMetadata struct {
	// Labels are added to the pods; they never replace the operator's own labels.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="!['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'flinkoperator.k8s.io/cluster'].exists(k, k in self)",message="podTemplate.metadata.labels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/component, app.kubernetes.io/managed-by or flinkoperator.k8s.io/cluster: those are the operator's own labels, which select the pods; use other keys"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations are added to the pods.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('flinkoperator.k8s.io/'))",message="podTemplate.metadata.annotations must not use the flinkoperator.k8s.io/ prefix: the operator's own annotations live there"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}
