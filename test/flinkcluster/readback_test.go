//go:build flink

package flinkcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

// readBackValues are values a naive writer of Flink's configuration gets wrong; those with '#' or
// surrounding spaces are refused for 1.x (its parser cannot keep them) and read back on 2.x.
var readBackValues = []string{
	`plain`, `with "quotes" and 'apostrophes'`, `back\slash \n not a newline`, `a: b`, `{"json": [1, 2]}`,
	`[a, b]`, `*alias`, `&anchor`, `!tag`, `%directive`, `@at`, "`tick`", `yes`, `no`, `on`, `null`, `~`,
	`0x1F`, `1e3`, `007`, `-`, `- item`, `? key`, `|`, `>`, "unicode: ünïcødé ✓ 日本", "tab\tinside",
	`s3://bucket/path?x=1&y=2`, `-Dfoo=bar -Xmx1g`,
	"a # hash", "#leading", " leading space", "trailing space ", "line\u2028separator", "nel\u0085char",
}

func legacyUnsafe(v string) bool { return strings.Contains(v, "#") || strings.TrimSpace(v) != v }

// TestFlinkReadsBackTheOperatorsConfiguration writes the ConfigMap the operator builds, with a
// table of nasty flinkProperties, and reads it with Flink's own parser: every value comes back
// exactly, and the operator's keys keep the operator's values.
func TestFlinkReadsBackTheOperatorsConfiguration(t *testing.T) {
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			d := Fetch(t, v)
			props := map[string]v1beta1.FlinkPropertyValue{}
			for i, val := range readBackValues {
				if d.Major == 1 && legacyUnsafe(val) {
					continue
				}
				props[fmt.Sprintf("test.readback.v%02d", i)] = v1beta1.FlinkPropertyValue(val)
			}
			cm := buildConfigMap(t, "flink:"+v, props)
			got, err := d.LoadConfig(writeConfigMap(t, cm))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range props {
				if got[k] != string(want) {
					t.Errorf("%s: Flink read %q, the spec says %q", k, got[k], want)
				}
			}
			if got["rest.port"] != "8081" || got["jobmanager.rpc.port"] != "6123" {
				t.Errorf("the operator's keys: rest.port %q, jobmanager.rpc.port %q", got["rest.port"], got["jobmanager.rpc.port"])
			}
			t.Logf("FACT %s: Flink's parser read back all %d nasty values exactly", v, len(props))
		})
	}
}

// TestFlink1CannotKeepHashesOrSpaces is why the builder refuses such values for 1.x: written as
// they are, Flink's 1.x parser reads something else, and a line break injects another key.
func TestFlink1CannotKeepHashesOrSpaces(t *testing.T) {
	for _, v := range Versions() {
		if !strings.HasPrefix(v, "1.") {
			continue
		}
		t.Run(v, func(t *testing.T) {
			d := Fetch(t, v)
			dir := t.TempDir()
			raw := map[string]string{"test.hash": "a # b", "test.space": " x ", "parallelism.default": "1\nrest.port: 1"}
			if err := WriteConfig(dir, desired.FlinkConfV1Key, raw); err != nil {
				t.Fatal(err)
			}
			got, err := d.LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got["test.hash"] != "a" || got["test.space"] != "x" {
				t.Errorf("Flink %s read %q and %q; the builder's 1.x rule assumes it cuts at '#' and trims", v, got["test.hash"], got["test.space"])
			}
			if got["rest.port"] != "1" {
				t.Errorf("Flink %s read rest.port %q from a value with a line break; the rule against line breaks assumes it injects the key", v, got["rest.port"])
			}
			t.Logf("FACT %s: flink-conf.yaml %q reads as %q, %q as %q, and a line break in a value sets rest.port to %q",
				v, raw["test.hash"], got["test.hash"], raw["test.space"], got["test.space"], got["rest.port"])
			fc := clusterFor("flink:"+v, map[string]v1beta1.FlinkPropertyValue{"test.hash": "a # b"})
			if _, err := desired.Build(fc, desired.Env{}); err == nil {
				t.Errorf("the builder accepts a value Flink %s cannot read back", v)
			}
		})
	}
}

func clusterFor(image string, props map[string]v1beta1.FlinkPropertyValue) *v1beta1.FlinkCluster {
	mem := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}
	return &v1beta1.FlinkCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "readback", UID: "uid"},
		Spec: v1beta1.FlinkClusterSpec{Image: v1beta1.ImageSpec{Name: image}, FlinkProperties: props,
			JobManager:  v1beta1.JobManagerSpec{AccessScope: v1beta1.AccessScopeCluster, Resources: *mem.DeepCopy()},
			TaskManager: v1beta1.TaskManagerSpec{Replicas: 1, Resources: *mem.DeepCopy()}},
	}
}

func buildConfigMap(t *testing.T, image string, props map[string]v1beta1.FlinkPropertyValue) *corev1.ConfigMap {
	t.Helper()
	c, err := desired.Build(clusterFor(image, props), desired.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return c.ConfigMap
}

// writeConfigMap writes every file of the ConfigMap into a directory, as the pods mount it.
func writeConfigMap(t *testing.T, cm *corev1.ConfigMap) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
