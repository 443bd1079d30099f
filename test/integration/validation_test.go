//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type invalidCase struct {
	name string
	base string
	edit func(obj map[string]interface{})
	// wantField is the field path the API server's message must name.
	wantField string
	// wantText is more of the message that tells the user what is allowed.
	wantText string
}

func set(path string, v interface{}) func(map[string]interface{}) {
	return func(o map[string]interface{}) { setPath(o, path, v) }
}

func del(path string) func(map[string]interface{}) {
	return func(o map[string]interface{}) { deletePath(o, path) }
}

func both(a, b func(map[string]interface{})) func(map[string]interface{}) {
	return func(o map[string]interface{}) { a(o); b(o) }
}

// TestInvalidManifestsAreRejected creates each manifest and expects the API server to reject it
// with a message that names the offending field.
func TestInvalidManifestsAreRejected(t *testing.T) {
	job, session := minimalJobCluster, minimalSessionCluster
	cases := []invalidCase{
		{"empty image name", job, set("spec.image.name", ""), "spec.image.name", "at least 1"},
		{"blank image name", job, set("spec.image.name", "   "), "spec.image.name", "must not be blank"},
		{"missing image", job, del("spec.image"), "spec.image", "Required"},
		{"bad pull policy", job, set("spec.image.pullPolicy", "Sometimes"), "spec.image.pullPolicy", "IfNotPresent"},
		{"bad access scope", job, set("spec.jobManager.accessScope", "Public"), "spec.jobManager.accessScope", "External"},
		{"rpc port zero", job, set("spec.jobManager.ports.rpc", 0), "spec.jobManager.ports.rpc", "greater than or equal to 1"},
		{"ui port too high", job, set("spec.jobManager.ports.ui", 70000), "spec.jobManager.ports.ui", "less than or equal to 65535"},
		{"blob port negative", job, set("spec.jobManager.ports.blob", -1), "spec.jobManager.ports.blob", "greater than or equal to 1"},
		{"query port too high", job, set("spec.jobManager.ports.query", 65536), "spec.jobManager.ports.query", "65535"},
		{"taskmanager data port", job, set("spec.taskManager.ports.data", 65536), "spec.taskManager.ports.data", "65535"},
		{"taskmanager rpc port", job, set("spec.taskManager.ports.rpc", 0), "spec.taskManager.ports.rpc", "greater than or equal to 1"},
		{"negative replicas", job, set("spec.taskManager.replicas", -1), "spec.taskManager.replicas", "greater than or equal to 0"},
		{"missing replicas", job, del("spec.taskManager.replicas"), "spec.taskManager.replicas", "Required"},
		{"replicas not a number", job, set("spec.taskManager.replicas", "two"), "spec.taskManager.replicas", "integer"},
		{"jobmanager ratio over 100", job, set("spec.jobManager.memoryOffHeapRatio", 101), "spec.jobManager.memoryOffHeapRatio", "less than or equal to 100"},
		{"taskmanager ratio negative", job, set("spec.taskManager.memoryOffHeapRatio", -5), "spec.taskManager.memoryOffHeapRatio", "greater than or equal to 0"},
		{"jobmanager off-heap min unparseable", job, set("spec.jobManager.memoryOffHeapMin", "lots"), "spec.jobManager.memoryOffHeapMin", "600M"},
		{"taskmanager off-heap min negative", job, set("spec.taskManager.memoryOffHeapMin", "-1Gi"), "spec.taskManager.memoryOffHeapMin", "non-negative"},
		{"jobmanager resources without memory", job, set("spec.jobManager.resources", map[string]interface{}{"limits": map[string]interface{}{"cpu": "1"}}), "spec.jobManager.resources", "limits.memory"},
		{"taskmanager resources without memory", job, set("spec.taskManager.resources", map[string]interface{}{"requests": map[string]interface{}{"cpu": "1"}}), "spec.taskManager.resources", "limits.memory"},
		{"parallelism zero", job, set("spec.job.parallelism", 0), "spec.job.parallelism", "greater than or equal to 1"},
		{"autoSavepointSeconds zero", job, both(set("spec.job.autoSavepointSeconds", 0), set("spec.job.savepointsDir", "/sp")), "spec.job.autoSavepointSeconds", "greater than or equal to 1"},
		{"autoSavepointSeconds without savepointsDir", job, set("spec.job.autoSavepointSeconds", 60), "spec.job.autoSavepointSeconds", "requires spec.job.savepointsDir"},
		{"negative savepointGeneration", job, set("spec.job.savepointGeneration", -1), "spec.job.savepointGeneration", "greater than or equal to 0"},
		{"bad restart policy", job, set("spec.job.restartPolicy", "Always"), "spec.job.restartPolicy", "FromSavepointOnFailure"},
		{"bad afterJobSucceeds", job, set("spec.job.cleanupPolicy.afterJobSucceeds", "Delete"), "spec.job.cleanupPolicy.afterJobSucceeds", "DeleteTaskManager"},
		{"bad afterJobFails", job, set("spec.job.cleanupPolicy.afterJobFails", "Keep"), "spec.job.cleanupPolicy.afterJobFails", "KeepCluster"},
		{"bad afterJobCancelled", job, set("spec.job.cleanupPolicy.afterJobCancelled", "x"), "spec.job.cleanupPolicy.afterJobCancelled", "DeleteCluster"},
		{"empty jarFile", job, set("spec.job.jarFile", ""), "spec.job.jarFile", "at least 1"},
		{"missing className", job, del("spec.job.className"), "spec.job.className", "Required"},
		{"useTLS without secret", job, set("spec.jobManager.ingress", map[string]interface{}{"useTLS": true}), "spec.jobManager.ingress", "tlsSecretName is required"},
		{"hadoopConfig without mountPath", session, set("spec.hadoopConfig", map[string]interface{}{"configMapName": "hadoop"}), "spec.hadoopConfig.mountPath", "Required"},
		{"gcp service account without keyFile", session, set("spec.gcpConfig.serviceAccount", map[string]interface{}{"secretName": "s", "mountPath": "/etc/gcp"}), "spec.gcpConfig.serviceAccount.keyFile", "Required"},
		{"flinkProperties value not a string", session, set("spec.flinkProperties", map[string]interface{}{"parallelism.default": 2}), "spec.flinkProperties.parallelism.default", "string"},
		{"flinkProperties sets an operator-owned key", session, set("spec.flinkProperties", map[string]interface{}{"rest.port": "9999"}), "spec.flinkProperties", "spec.jobManager.ports"},
		{"unknown field (strict)", session, set("spec.jobManager.replicas", 2), "spec.jobManager.replicas", "unknown field"},
		{"name too long", session, set("metadata.name", "a-very-long-flink-cluster-name-that-is-too-long-1"), "metadata.name", "at most 45"},
		{"name starting with a digit", session, set("metadata.name", "1cluster"), "metadata.name", "start with a letter"},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	ns := newNamespace(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := fromYAML(t, tc.base)
			tc.edit(obj.Object)
			_, err := createStrict(context.Background(), ns, obj)
			require.Error(t, err, "the API server accepted an invalid manifest")
			assert.Contains(t, err.Error(), tc.wantField)
			assert.Contains(t, err.Error(), tc.wantText)
		})
	}
}

type invalidUpdate struct {
	name      string
	base      string
	before    func(map[string]interface{})
	after     func(map[string]interface{})
	wantField string
	wantText  string
}

// TestInvalidUpdatesAreRejected checks the transition rules, which only an update can break.
func TestInvalidUpdatesAreRejected(t *testing.T) {
	noop := func(map[string]interface{}) {}
	cases := []invalidUpdate{
		{"savepointGeneration jumps by 2", minimalJobCluster, noop, set("spec.job.savepointGeneration", 2), "spec.job.savepointGeneration", "grow by exactly 1"},
		{"savepointGeneration goes down", minimalJobCluster, set("spec.job.savepointGeneration", 1), set("spec.job.savepointGeneration", 0), "spec.job.savepointGeneration", "grow by exactly 1"},
		{"cancelRequested back to false", minimalJobCluster, set("spec.job.cancelRequested", true), set("spec.job.cancelRequested", false), "spec.job.cancelRequested", "cannot go back"},
		{"cancelRequested removed", minimalJobCluster, set("spec.job.cancelRequested", true), del("spec.job.cancelRequested"), "spec.job.cancelRequested", "cannot go back"},
		{"job cluster becomes session cluster", minimalJobCluster, noop, del("spec.job"), "spec.job", "cannot be added or removed"},
		{"session cluster becomes job cluster", minimalSessionCluster, noop, set("spec.job", map[string]interface{}{"jarFile": "/x.jar", "className": "X"}), "spec.job", "cannot be added or removed"},
	}
	ns := newNamespace(t)
	ctx := context.Background()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := fromYAML(t, tc.base)
			name := strings.ToLower(strings.NewReplacer(" ", "-").Replace(tc.name))
			if len(name) > 40 {
				name = name[:40]
			}
			name = strings.TrimRight(name, "-") + "-" + string(rune('a'+i))
			setPath(obj.Object, "metadata.name", name)
			tc.before(obj.Object)
			created, err := createStrict(ctx, ns, obj)
			require.NoError(t, err)
			tc.after(created.Object)
			_, err = env.dynamic.Resource(fcResource).Namespace(ns).Update(ctx, created, metav1.UpdateOptions{FieldValidation: "Strict"})
			require.Error(t, err, "the API server accepted an invalid update")
			assert.Contains(t, err.Error(), tc.wantField)
			assert.Contains(t, err.Error(), tc.wantText)
		})
	}
	t.Run("savepointGeneration grows by 1", func(t *testing.T) {
		obj := fromYAML(t, minimalJobCluster)
		setPath(obj.Object, "metadata.name", "grows-by-one")
		created, err := createStrict(ctx, ns, obj)
		require.NoError(t, err)
		setPath(created.Object, "spec.job.savepointGeneration", 1)
		_, err = env.dynamic.Resource(fcResource).Namespace(ns).Update(ctx, created, metav1.UpdateOptions{})
		assert.NoError(t, err)
	})
}
