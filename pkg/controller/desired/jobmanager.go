package desired

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// jobManagerDeployment runs the JobManager (with HA, a leader and standbys), with the user's init
// containers and sidecars. Recreate, because two JobManagers without HA services must never run
// side by side.
func jobManagerDeployment(fc *v1beta1.FlinkCluster, configHash string) *appsv1.Deployment {
	entry := []string{flinkHome + "/bin/jobmanager.sh", "start-foreground"}
	if fc.Spec.HighAvailabilityEnabled() {
		// jobmanager.sh sets jobmanager.rpc.address from its host argument (see jobManagerPod).
		entry = append(entry, "$("+jobManagerPodIPEnv+")")
	}
	return deployment(fc, names.JobManagerDeployment(fc.Name), names.ComponentJobManager, jobManagerReplicas(fc),
		appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
		jobManagerPod(fc, configHash, entry, nil))
}

// jobManagerPod is the JobManager's pod running entry (a session cluster's jobmanager.sh, or an
// application's standalone-job.sh), with the user's init containers and sidecars. An
// application's JobManager (job non-nil) also gets what the submitter would have had for the
// job's JAR: the job's volumes, volumeMounts and init containers (which often download it).
func jobManagerPod(fc *v1beta1.FlinkCluster, configHash string, entry []string, job *v1beta1.JobSpec) corev1.PodTemplateSpec {
	jm := fc.Spec.JobManager
	mounts, volumes, inits := jm.VolumeMounts, jm.Volumes, jm.InitContainers
	if job != nil {
		mounts = append(append([]corev1.VolumeMount{}, jm.VolumeMounts...), job.VolumeMounts...)
		volumes = append(append([]corev1.Volume{}, jm.Volumes...), job.Volumes...)
		inits = append(append([]corev1.Container{}, jm.InitContainers...), withJobMounts(job.InitContainers, job.VolumeMounts)...)
	}
	container := flinkContainer(fc, "jobmanager", mounts)
	container.Command = entry
	if fc.Spec.HighAvailabilityEnabled() {
		// With HA each JobManager announces its own address (jobmanager.rpc.address, which the
		// entry sets from this variable) to the TaskManagers through the leader ConfigMap: the
		// pod IP, as Flink's maintainers advise, since the Service would lead to any of them.
		container.Env = append(container.Env, corev1.EnvVar{Name: jobManagerPodIPEnv, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"},
		}})
	}
	container.Ports = append([]corev1.ContainerPort{
		containerPort("rpc", jm.Ports.RPC, 6123),
		containerPort("blob", jm.Ports.Blob, 6124),
		containerPort("query", jm.Ports.Query, 6125),
		containerPort("ui", jm.Ports.UI, 8081),
	}, extraContainerPorts(jm.ExtraPorts)...)
	container.Resources = jm.Resources
	// Ready once the REST API answers: the operator and the submitter talk to it.
	container.ReadinessProbe = mergeProbe(&corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("ui")}},
		PeriodSeconds: 5,
	}, jm.ReadinessProbe)
	container.LivenessProbe = mergeProbe(&corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("rpc")}},
		InitialDelaySeconds: 30,
		PeriodSeconds:       10,
		FailureThreshold:    6,
	}, jm.LivenessProbe)
	return podTemplate(fc, names.ComponentJobManager, configHash, volumes, container, podOptions{
		annotations: jm.PodAnnotations, labels: jm.PodLabels, nodeSelector: jm.NodeSelector,
		tolerations: jm.Tolerations, securityContext: jm.SecurityContext, initContainers: inits,
		sidecars: jm.Sidecars, scheduling: jm.PodScheduling, template: jm.PodTemplate,
	})
}

// deployment wraps a pod template in a Deployment selected by the operator's own labels.
func deployment(fc *v1beta1.FlinkCluster, name, component string, replicas int32, strategy appsv1.DeploymentStrategy, template corev1.PodTemplateSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: objectMeta(fc, name, component),
		Spec: appsv1.DeploymentSpec{
			Replicas:             &replicas,
			Selector:             &metav1.LabelSelector{MatchLabels: names.SelectorLabels(fc.Name, component)},
			Strategy:             strategy,
			Template:             template,
			RevisionHistoryLimit: fc.Spec.RevisionHistoryLimit,
		},
	}
}
