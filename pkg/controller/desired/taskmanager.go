package desired

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// taskManagerDeployment runs the TaskManagers and the user's init containers and sidecars beside
// each.
func taskManagerDeployment(fc *v1beta1.FlinkCluster, configHash string) *appsv1.Deployment {
	tm := fc.Spec.TaskManager
	container := flinkContainer(fc, "taskmanager", tm.VolumeMounts)
	container.Command = []string{flinkHome + "/bin/taskmanager.sh", "start-foreground"}
	container.Ports = append([]corev1.ContainerPort{
		containerPort("data", tm.Ports.Data, 6121),
		containerPort("rpc", tm.Ports.RPC, 6122),
		containerPort("query", tm.Ports.Query, 6125),
	}, extraContainerPorts(tm.ExtraPorts)...)
	container.Resources = tm.Resources
	container.LivenessProbe = mergeProbe(&corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("rpc")}},
		InitialDelaySeconds: 30,
		PeriodSeconds:       10,
		FailureThreshold:    6,
	}, tm.LivenessProbe)
	// The operator sets no readiness probe on TaskManagers; a user's is based on the RPC port.
	if tm.ReadinessProbe != nil {
		container.ReadinessProbe = mergeProbe(&corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("rpc")}},
			PeriodSeconds: 5,
		}, tm.ReadinessProbe)
	}
	return deployment(fc, names.TaskManagerDeployment(fc.Name), names.ComponentTaskManager, tm.Replicas,
		appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType},
		podTemplate(fc, names.ComponentTaskManager, configHash, tm.Volumes, container, podOptions{
			annotations: tm.PodAnnotations, labels: tm.PodLabels, nodeSelector: tm.NodeSelector,
			tolerations: tm.Tolerations, securityContext: tm.SecurityContext, initContainers: tm.InitContainers,
			sidecars: tm.Sidecars, scheduling: tm.PodScheduling, template: tm.PodTemplate,
		}))
}
