package desired

import (
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Volume names the operator adds to Flink pods.
const (
	ConfigVolume = "flink-config"
	hadoopVolume = "hadoop-config"
	gcpVolume    = "gcp-service-account"
)

// objectMeta is the metadata every child shares: name, namespace, labels and the controller
// ownerReference that lets the garbage collector delete it with its FlinkCluster.
func objectMeta(fc *v1beta1.FlinkCluster, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       fc.Namespace,
		Labels:          names.ComponentLabels(fc.Name, component),
		OwnerReferences: []metav1.OwnerReference{ownerReference(fc)},
	}
}

func ownerReference(fc *v1beta1.FlinkCluster) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion:         v1beta1.SchemeGroupVersion.String(),
		Kind:               "FlinkCluster",
		Name:               fc.Name,
		UID:                fc.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}

// flinkVolumes are the volumes every Flink pod gets: the configuration, and the Hadoop and GCP
// configuration and the built-in plugins directory when the spec asks for them.
func flinkVolumes(fc *v1beta1.FlinkCluster) []corev1.Volume {
	vols := []corev1.Volume{{
		Name: ConfigVolume,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: names.ConfigMap(fc.Name)},
		}},
	}}
	if hc := fc.Spec.HadoopConfig; hc != nil {
		vols = append(vols, corev1.Volume{Name: hadoopVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: hc.ConfigMapName}},
		}})
	}
	if sa := gcpServiceAccount(fc); sa != nil {
		vols = append(vols, corev1.Volume{Name: gcpVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: sa.SecretName},
		}})
	}
	return append(vols, pluginsVolumes(fc)...)
}

// flinkMounts are the mounts of flinkVolumes in a Flink container.
func flinkMounts(fc *v1beta1.FlinkCluster) []corev1.VolumeMount {
	mounts := []corev1.VolumeMount{{Name: ConfigVolume, MountPath: ConfDir, ReadOnly: true}}
	if hc := fc.Spec.HadoopConfig; hc != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: hadoopVolume, MountPath: hc.MountPath, ReadOnly: true})
	}
	if sa := gcpServiceAccount(fc); sa != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: gcpVolume, MountPath: sa.MountPath, ReadOnly: true})
	}
	return append(mounts, pluginsMounts(fc)...)
}

// flinkEnv is the environment of every Flink container: the operator's variables first, then the
// user's envVars (which win, as later entries do in Kubernetes).
func flinkEnv(fc *v1beta1.FlinkCluster) []corev1.EnvVar {
	env := []corev1.EnvVar{{Name: "FLINK_CONF_DIR", Value: ConfDir}}
	if hc := fc.Spec.HadoopConfig; hc != nil {
		env = append(env, corev1.EnvVar{Name: "HADOOP_CONF_DIR", Value: hc.MountPath})
	}
	if sa := gcpServiceAccount(fc); sa != nil {
		env = append(env, corev1.EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: path.Join(sa.MountPath, sa.KeyFile)})
	}
	env = append(env, pluginsEnv(fc)...)
	return append(env, fc.Spec.EnvVars...)
}

func gcpServiceAccount(fc *v1beta1.FlinkCluster) *v1beta1.GCPServiceAccount {
	if fc.Spec.GCPConfig == nil {
		return nil
	}
	return fc.Spec.GCPConfig.ServiceAccount
}

// flinkContainer is a Flink container with the image, environment and mounts every Flink
// container shares; the caller adds command, ports, resources and probes.
func flinkContainer(fc *v1beta1.FlinkCluster, name string, extraMounts []corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           fc.Spec.Image.Name,
		ImagePullPolicy: fc.Spec.Image.PullPolicy,
		EnvFrom:         fc.Spec.EnvFrom,
		Env:             flinkEnv(fc),
		VolumeMounts:    append(flinkMounts(fc), extraMounts...),
		SecurityContext: ownContainerSecurity(fc),
	}
}

// podOptions are the pod-level settings of one component (JobManager, TaskManager or submitter).
type podOptions struct {
	annotations     map[string]string
	labels          map[string]string
	nodeSelector    map[string]string
	tolerations     []corev1.Toleration
	securityContext *corev1.PodSecurityContext
	// ownInitContainers are the operator's; they run before the user's initContainers.
	ownInitContainers []corev1.Container
	initContainers    []corev1.Container
	sidecars          []corev1.Container
	scheduling        v1beta1.PodScheduling
	// template is the component's podTemplate, under everything else.
	template *v1beta1.PodTemplate
}

// podTemplate is the pod template of a Flink component whose main container is main; configHash
// in an annotation makes a configuration change roll the pods, because Flink reads its
// configuration only at start. The user's pod labels and annotations come first, so the
// operator's own always win (the CRD rejects the user's attempts to set them anyway). The user's
// init containers and sidecars get the restricted container defaults where they leave them unset.
func podTemplate(fc *v1beta1.FlinkCluster, component, configHash string, extraVolumes []corev1.Volume, main corev1.Container, opts podOptions) corev1.PodTemplateSpec {
	templateLabels, templateAnnotations := templateMetadata(opts.template)
	annotations := mergeLabels(templateAnnotations, copyMap(opts.annotations))
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[ConfigHashAnnotation] = configHash
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      mergeLabels(mergeLabels(templateLabels, opts.labels), names.ComponentLabels(fc.Name, component)),
			Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			InitContainers:     appendContainers(opts.ownInitContainers, append(slices.Clone(userContainers(fc, opts.initContainers)), pluginsInit(fc, main)...)),
			Containers:         appendContainers([]corev1.Container{main}, userContainers(fc, opts.sidecars)),
			Volumes:            append(flinkVolumes(fc), extraVolumes...),
			ImagePullSecrets:   fc.Spec.Image.PullSecrets,
			ServiceAccountName: deref(fc.Spec.ServiceAccountName, ""),
			NodeSelector:       opts.nodeSelector,
			Tolerations:        opts.tolerations,
			SecurityContext:    podSecurityContext(fc, opts.securityContext),
		},
	}
	schedule(&template.Spec, opts.scheduling)
	underTemplate(&template.Spec, opts.template)
	return template
}

// schedule copies a component's scheduling settings into its pod spec as the user gave them.
func schedule(pod *corev1.PodSpec, s v1beta1.PodScheduling) {
	s = *s.DeepCopy()
	pod.Affinity = s.Affinity
	pod.HostAliases = s.HostAliases
	pod.PriorityClassName = deref(s.PriorityClassName, "")
	pod.TopologySpreadConstraints = s.TopologySpreadConstraints
	pod.TerminationGracePeriodSeconds = s.TerminationGracePeriodSeconds
	pod.DNSPolicy = s.DNSPolicy
	pod.DNSConfig = s.DNSConfig
	pod.RuntimeClassName = s.RuntimeClassName
	pod.SchedulerName = deref(s.SchedulerName, "")
}

// appendContainers is own followed by user, nil when both are empty (as the API server stores an
// empty list), so a pod without init containers compares equal to its stored self.
func appendContainers(own, user []corev1.Container) []corev1.Container {
	if len(own)+len(user) == 0 {
		return nil
	}
	return append(append([]corev1.Container{}, own...), user...)
}

// mergeLabels returns user's labels overlaid with the operator's own, which always win.
func mergeLabels(user, own map[string]string) map[string]string {
	out := copyMap(user)
	if out == nil {
		return own
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}

// OperatorLabelKeys are the label keys the operator puts on children and selects pods by; the
// CRD rejects them in podLabels and ServiceLabels (a test keeps the rule in step).
var OperatorLabelKeys = []string{names.LabelName, names.LabelInstance, names.LabelComponent, names.LabelManagedBy, names.LabelCluster}

func containerPort(name string, p *int32, def int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: deref(p, def), Protocol: corev1.ProtocolTCP}
}

// extraContainerPorts are the container ports of spec extraPorts.
func extraContainerPorts(ports []v1beta1.NamedPort) []corev1.ContainerPort {
	out := make([]corev1.ContainerPort, 0, len(ports))
	for _, p := range ports {
		out = append(out, corev1.ContainerPort{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: protocol(p)})
	}
	return out
}

func protocol(p v1beta1.NamedPort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

// mergeProbe is the operator's probe with the fields the user set replacing the operator's: the
// handler when the user gives one, and each timing field that is not zero.
func mergeProbe(own *corev1.Probe, user *corev1.Probe) *corev1.Probe {
	if user == nil {
		return own
	}
	out := own.DeepCopy()
	if h := user.ProbeHandler; h.Exec != nil || h.HTTPGet != nil || h.TCPSocket != nil || h.GRPC != nil {
		out.ProbeHandler = *h.DeepCopy()
	}
	for _, f := range []struct{ dst, src *int32 }{
		{&out.InitialDelaySeconds, &user.InitialDelaySeconds}, {&out.TimeoutSeconds, &user.TimeoutSeconds},
		{&out.PeriodSeconds, &user.PeriodSeconds}, {&out.SuccessThreshold, &user.SuccessThreshold},
		{&out.FailureThreshold, &user.FailureThreshold},
	} {
		if *f.src != 0 {
			*f.dst = *f.src
		}
	}
	if user.TerminationGracePeriodSeconds != nil {
		out.TerminationGracePeriodSeconds = ptrTo(*user.TerminationGracePeriodSeconds)
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
