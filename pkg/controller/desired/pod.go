package desired

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Volume names the operator adds to Flink pods.
const (
	configVolume = "flink-config"
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
// configuration when the spec asks for them.
func flinkVolumes(fc *v1beta1.FlinkCluster) []corev1.Volume {
	vols := []corev1.Volume{{
		Name: configVolume,
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
	return vols
}

// flinkMounts are the mounts of flinkVolumes in a Flink container.
func flinkMounts(fc *v1beta1.FlinkCluster) []corev1.VolumeMount {
	mounts := []corev1.VolumeMount{{Name: configVolume, MountPath: ConfDir, ReadOnly: true}}
	if hc := fc.Spec.HadoopConfig; hc != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: hadoopVolume, MountPath: hc.MountPath, ReadOnly: true})
	}
	if sa := gcpServiceAccount(fc); sa != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: gcpVolume, MountPath: sa.MountPath, ReadOnly: true})
	}
	return mounts
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
		Env:             flinkEnv(fc),
		VolumeMounts:    append(flinkMounts(fc), extraMounts...),
	}
}

// podTemplate is the pod template of a Flink component; configHash in an annotation makes a
// configuration change roll the pods, because Flink reads its configuration only at start.
func podTemplate(fc *v1beta1.FlinkCluster, component, configHash string, extraVolumes []corev1.Volume, containers []corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      names.ComponentLabels(fc.Name, component),
			Annotations: map[string]string{ConfigHashAnnotation: configHash},
		},
		Spec: corev1.PodSpec{
			Containers:       containers,
			Volumes:          append(flinkVolumes(fc), extraVolumes...),
			ImagePullSecrets: fc.Spec.Image.PullSecrets,
		},
	}
}

func containerPort(name string, p *int32, def int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: deref(p, def), Protocol: corev1.ProtocolTCP}
}
