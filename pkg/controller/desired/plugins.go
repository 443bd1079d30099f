package desired

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// The official Flink image's entrypoint links each jar of $FLINK_HOME/opt named in
// ENABLE_BUILT_IN_PLUGINS (";"-separated) into $FLINK_HOME/plugins before it starts Flink. The
// operator runs Flink's scripts without that entrypoint (it would rewrite the configuration the
// operator mounts), so it does the same in an init container of the image: it builds a plugins
// directory in an emptyDir from the image's own plugins and the named jars, and points Flink at it
// with FLINK_PLUGINS_DIR, which Flink's scripts and its plugin loader read. The image's files are
// never written, so this works with any user id and a read-only root filesystem.
const (
	// BuiltInPluginsEnv is the image's variable; the operator reads it from spec.envVars.
	BuiltInPluginsEnv = "ENABLE_BUILT_IN_PLUGINS"
	pluginsDirEnv     = "FLINK_PLUGINS_DIR"
	pluginsInitName   = "enable-built-in-plugins"
	pluginsVolume     = "flink-operator-plugins"
	pluginsDir        = "/opt/flink-operator/plugins"
)

// enablePluginsScript links every plugin of the image and every jar the variable names into
// FLINK_PLUGINS_DIR, one directory per plugin. Jars are linked one by one, never whole
// directories, because some Flink versions walk a plugin directory without following links. A
// name that is not in opt/ fails the pod with a message that lists what the image has.
const enablePluginsScript = `set -eu
home=${FLINK_HOME:-/opt/flink}
link_all() { mkdir -p "$2"; for f in "$1"/*; do if [ -e "$f" ]; then ln -sf "$f" "$2/"; fi; done; }
for p in "$home"/plugins/*/; do
  if [ -d "$p" ]; then p=${p%/}; link_all "$p" "$FLINK_PLUGINS_DIR/${p##*/}"; fi
done
for jar in $(echo "$ENABLE_BUILT_IN_PLUGINS" | tr ';' ' '); do
  if [ ! -f "$home/opt/$jar" ]; then
    echo "ENABLE_BUILT_IN_PLUGINS names $jar, which is not in $home/opt of the image; it has: $(ls "$home/opt" | tr '\n' ' ')" >&2
    exit 1
  fi
  mkdir -p "$FLINK_PLUGINS_DIR/${jar%.jar}"
  ln -sf "$home/opt/$jar" "$FLINK_PLUGINS_DIR/${jar%.jar}/"
  echo "enabled plugin $jar"
done
`

// builtInPlugins is the value of ENABLE_BUILT_IN_PLUGINS in spec.envVars (the last one, as the
// kubelet takes it), "" when it is absent, not a literal value, or when the user points
// FLINK_PLUGINS_DIR elsewhere themselves (their plugins directory is then theirs to fill).
func builtInPlugins(fc *v1beta1.FlinkCluster) string {
	value := ""
	for _, e := range fc.Spec.EnvVars {
		switch e.Name {
		case pluginsDirEnv:
			return ""
		case BuiltInPluginsEnv:
			value = e.Value
		}
	}
	return value
}

// pluginsVolumes, pluginsMounts and pluginsEnv are what a Flink container needs to load the
// plugins directory the init container builds (none without ENABLE_BUILT_IN_PLUGINS).
func pluginsVolumes(fc *v1beta1.FlinkCluster) []corev1.Volume {
	if builtInPlugins(fc) == "" {
		return nil
	}
	return []corev1.Volume{{Name: pluginsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
}

func pluginsMounts(fc *v1beta1.FlinkCluster) []corev1.VolumeMount {
	if builtInPlugins(fc) == "" {
		return nil
	}
	return []corev1.VolumeMount{{Name: pluginsVolume, MountPath: pluginsDir}}
}

func pluginsEnv(fc *v1beta1.FlinkCluster) []corev1.EnvVar {
	if builtInPlugins(fc) == "" {
		return nil
	}
	return []corev1.EnvVar{{Name: pluginsDirEnv, Value: pluginsDir}}
}

// pluginsInit is the init container that builds the plugins directory for a pod whose main
// Flink container is main, or nil when the spec enables no built-in plugin. It has main's image,
// environment and resources (so a namespace quota that requires them admits the pod), and main's
// volume mounts, so that a plugin the user mounts under /opt/flink/plugins is linked too; it runs
// after the user's init containers (podTemplate), so one a user's init container downloads
// there is as well.
func pluginsInit(fc *v1beta1.FlinkCluster, main corev1.Container) []corev1.Container {
	if builtInPlugins(fc) == "" {
		return nil
	}
	return []corev1.Container{{
		Name:            pluginsInitName,
		Image:           main.Image,
		ImagePullPolicy: main.ImagePullPolicy,
		Command:         []string{"/bin/bash", "-c", enablePluginsScript},
		EnvFrom:         slices.Clone(main.EnvFrom),
		Env:             slices.Clone(main.Env),
		VolumeMounts:    slices.Clone(main.VolumeMounts),
		Resources:       *main.Resources.DeepCopy(),
		SecurityContext: ownContainerSecurity(fc),
		// The missing jar's message reaches the pod's status.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}}
}

// entrypointConfigEnv are the official image's variables that its entrypoint turns into Flink
// configuration, with the field that sets the same here. Without the entrypoint they would do
// nothing, and a setting that silently does not apply (a state backend, a checkpoint directory)
// is worse than a cluster that says why it does not start.
var entrypointConfigEnv = map[string]string{
	"FLINK_PROPERTIES":                  "spec.flinkProperties",
	"JOB_MANAGER_RPC_ADDRESS":           "nothing: the operator sets jobmanager.rpc.address to the JobManager's Service",
	"TASK_MANAGER_NUMBER_OF_TASK_SLOTS": "spec.flinkProperties taskmanager.numberOfTaskSlots",
}

// checkImageEnv rejects the environment that only the image's entrypoint would act on: the
// variables above, and ENABLE_BUILT_IN_PLUGINS from a Secret or ConfigMap, which the operator
// cannot read to build the plugins directory.
func checkImageEnv(fc *v1beta1.FlinkCluster) error {
	for i, e := range fc.Spec.EnvVars {
		if use, ok := entrypointConfigEnv[e.Name]; ok {
			return fmt.Errorf("spec.envVars[%d]: %s is read by the official image's entrypoint, which the operator does not run (see docs/api.md, \"The image's entrypoint\"); use %s", i, e.Name, use)
		}
		if e.Name == BuiltInPluginsEnv && e.ValueFrom != nil {
			return fmt.Errorf("spec.envVars[%d]: %s must be a literal value: the operator reads it to build the plugins directory", i, e.Name)
		}
	}
	return nil
}
