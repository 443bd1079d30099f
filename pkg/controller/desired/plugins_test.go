package desired

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestBuiltInPluginsReadsTheLiteralVariable(t *testing.T) {
	cases := map[string]struct {
		env  []corev1.EnvVar
		want string
	}{
		"absent":            {nil, ""},
		"set":               {[]corev1.EnvVar{{Name: BuiltInPluginsEnv, Value: "a.jar;b.jar"}}, "a.jar;b.jar"},
		"the last one wins": {[]corev1.EnvVar{{Name: BuiltInPluginsEnv, Value: "a.jar"}, {Name: BuiltInPluginsEnv, Value: "b.jar"}}, "b.jar"},
		"the user's own plugins directory": {[]corev1.EnvVar{
			{Name: BuiltInPluginsEnv, Value: "a.jar"}, {Name: pluginsDirEnv, Value: "/mine"}}, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fc := base()
			fc.Spec.EnvVars = tc.env
			assert.Equal(t, tc.want, builtInPlugins(fc))
			c, err := Build(fc, Env{})
			require.NoError(t, err)
			pod := c.TaskManagerDeployment.Spec.Template.Spec
			hasInit := len(pod.InitContainers) > 0 && pod.InitContainers[len(pod.InitContainers)-1].Name == pluginsInitName
			assert.Equal(t, tc.want != "", hasInit, "init container")
		})
	}
}

func TestEntrypointOnlyEnvironmentIsInvalid(t *testing.T) {
	cases := map[string]struct {
		env  corev1.EnvVar
		want string
	}{
		"FLINK_PROPERTIES": {corev1.EnvVar{Name: "FLINK_PROPERTIES", Value: "state.backend.type: rocksdb"},
			"spec.envVars[1]: FLINK_PROPERTIES is read by the official image's entrypoint, which the operator does not run"},
		"slots": {corev1.EnvVar{Name: "TASK_MANAGER_NUMBER_OF_TASK_SLOTS", Value: "2"},
			"use spec.flinkProperties taskmanager.numberOfTaskSlots"},
		"rpc address": {corev1.EnvVar{Name: "JOB_MANAGER_RPC_ADDRESS", Value: "jm"}, "JOB_MANAGER_RPC_ADDRESS"},
		"plugins from a Secret": {corev1.EnvVar{Name: BuiltInPluginsEnv, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{Key: "plugins"}}},
			"spec.envVars[1]: ENABLE_BUILT_IN_PLUGINS must be a literal value"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fc := base()
			fc.Spec.EnvVars = []corev1.EnvVar{{Name: "TZ", Value: "UTC"}, tc.env}
			_, err := Build(fc, Env{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestEnablePluginsScript runs the init container's script against an image-shaped directory:
// the image's plugins and the named jars end up in FLINK_PLUGINS_DIR, one directory each, as
// links (the image is not written), and a jar the image lacks fails with what it has.
func TestEnablePluginsScript(t *testing.T) {
	home := t.TempDir()
	for _, f := range []string{"plugins/metrics-jmx/flink-metrics-jmx.jar", "plugins/README.txt",
		"opt/flink-s3-fs-hadoop-2.3.0.jar", "opt/flink-azure-fs-hadoop-2.3.0.jar", "opt/flink-python-2.3.0.jar"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(home, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(home, f), []byte(f), 0o644))
	}
	run := func(value string) (string, string, error) {
		out := t.TempDir()
		cmd := exec.Command("/bin/bash", "-c", enablePluginsScript)
		cmd.Env = []string{"FLINK_HOME=" + home, pluginsDirEnv + "=" + out, BuiltInPluginsEnv + "=" + value, "PATH=" + os.Getenv("PATH")}
		b, err := cmd.CombinedOutput()
		return out, string(b), err
	}

	out, log, err := run("flink-s3-fs-hadoop-2.3.0.jar; flink-azure-fs-hadoop-2.3.0.jar")
	require.NoError(t, err, log)
	for plugin, jar := range map[string]string{
		"metrics-jmx":                 "plugins/metrics-jmx/flink-metrics-jmx.jar",
		"flink-s3-fs-hadoop-2.3.0":    "opt/flink-s3-fs-hadoop-2.3.0.jar",
		"flink-azure-fs-hadoop-2.3.0": "opt/flink-azure-fs-hadoop-2.3.0.jar",
	} {
		link := filepath.Join(out, plugin, filepath.Base(jar))
		target, err := os.Readlink(link)
		require.NoError(t, err, "%s is a link", link)
		assert.Equal(t, filepath.Join(home, jar), target)
		info, err := os.Lstat(filepath.Join(out, plugin))
		require.NoError(t, err)
		assert.True(t, info.IsDir(), "%s is a directory of its own, not a link", plugin)
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "only plugin directories: no README, no flink-python")

	_, log, err = run("flink-s3-fs-presto-2.3.0.jar")
	require.Error(t, err)
	assert.Contains(t, log, "ENABLE_BUILT_IN_PLUGINS names flink-s3-fs-presto-2.3.0.jar, which is not in "+home+"/opt")
	assert.Contains(t, log, "flink-s3-fs-hadoop-2.3.0.jar")
}
