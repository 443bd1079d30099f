//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
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

func manyEnvVars(n int) []interface{} {
	out := make([]interface{}, n)
	for i := range out {
		out[i] = map[string]interface{}{"name": fmt.Sprintf("V%d", i), "value": "x"}
	}
	return out
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
		{"hadoopConfig without mountPath", session, set("spec.hadoopConfig", map[string]interface{}{"configMapName": "hadoop"}), "spec.hadoopConfig.mountPath", "Required"},
		{"gcp service account without keyFile", session, set("spec.gcpConfig.serviceAccount", map[string]interface{}{"secretName": "s", "mountPath": "/etc/gcp"}), "spec.gcpConfig.serviceAccount.keyFile", "Required"},
		{"flinkProperties value not a string", session, set("spec.flinkProperties", map[string]interface{}{"parallelism.default": 2}), "spec.flinkProperties.parallelism.default", "string"},
		{"flinkProperties sets an operator-owned key", session, set("spec.flinkProperties", map[string]interface{}{"rest.port": "9999"}), "spec.flinkProperties", "spec.jobManager.ports"},
		{"flinkProperties key that is not a plain key", session, set("spec.flinkProperties", map[string]interface{}{"rest.port: 1\nx": "y"}), "spec.flinkProperties", "plain Flink configuration keys"},
		{"flinkProperties key with trailing space", session, set("spec.flinkProperties", map[string]interface{}{"rest.port ": "1"}), "spec.flinkProperties", "plain Flink configuration keys"},
		{"flinkProperties value with a line break", session, set("spec.flinkProperties", map[string]interface{}{"parallelism.default": "1\nrest.port: 1"}), "spec.flinkProperties.parallelism.default", "should match"},
		{"flinkProperties narrows a bind address", session, set("spec.flinkProperties", map[string]interface{}{"rest.bind-address": "127.0.0.1"}), "spec.flinkProperties", "so that it can reach the cluster"},
		{"jarFile that is an option of flink run", job, set("spec.job.jarFile", "-Drest.port=1"), "spec.job.jarFile", "must not start with '-'"},
		{"an image name longer than any registry's", job, set("spec.image.name", strings.Repeat("r", 4097)), "spec.image.name", "4096"},
		{"more env vars than the bound", job, set("spec.envVars", manyEnvVars(257)), "spec.envVars", "at most 256 items"},
		{"a sidecar argument over 64 KiB", job, set("spec.jobManager.sidecars", []interface{}{map[string]interface{}{
			"name": "s", "image": "busybox", "args": []interface{}{strings.Repeat("a", 65537)}}}), "spec.jobManager.sidecars[0].args[0]", "65536"},
		{"bad podSecurityDefaults", job, set("spec.podSecurityDefaults", "Privileged"), "spec.podSecurityDefaults", "Restricted"},
		{"network policy that would cut off the ingress", job, both(set("spec.networkPolicy", map[string]interface{}{"enabled": true}),
			set("spec.jobManager.ingress", map[string]interface{}{"hostFormat": "{{$clusterName}}.example.com"})),
			"spec.networkPolicy.restFrom", "must name the ingress controller's pods"},
		{"flinkProperties shortens how long Flink keeps savepoint results", job, set("spec.flinkProperties", map[string]interface{}{"rest.async.store-duration": "1 min"}), "spec.flinkProperties", "keeps savepoint results long enough to confirm every stop"},
		{"podTemplate label of the operator", job, set("spec.taskManager.podTemplate", map[string]interface{}{"metadata": map[string]interface{}{"labels": map[string]interface{}{"app.kubernetes.io/component": "x"}}}),
			"spec.taskManager.podTemplate.metadata.labels", "those are the operator's own labels"},
		{"podTemplate spec not an object", job, set("spec.jobManager.podTemplate", map[string]interface{}{"spec": "hostNetwork"}), "spec.jobManager.podTemplate.spec", "object"},
		{"dnsPolicy None without dnsConfig", job, set("spec.taskManager.dnsPolicy", "None"), "spec.taskManager.dnsPolicy", "dnsPolicy None needs dnsConfig"},
		{"bad dnsPolicy", job, set("spec.jobManager.dnsPolicy", "Cluster"), "spec.jobManager.dnsPolicy", "ClusterFirst"},
		{"empty priorityClassName", job, set("spec.job.priorityClassName", ""), "spec.job.priorityClassName", "at least 1"},
		{"negative terminationGracePeriodSeconds", job, set("spec.taskManager.terminationGracePeriodSeconds", -1), "spec.taskManager.terminationGracePeriodSeconds", "greater than or equal to 0"},
		{"autoscaler without maxReplicas", job, set("spec.taskManager.horizontalPodAutoscaler", map[string]interface{}{"minReplicas": 2}), "spec.taskManager.horizontalPodAutoscaler.maxReplicas", "Required"},
		{"autoscaler minimum above its maximum", job, set("spec.taskManager.horizontalPodAutoscaler", map[string]interface{}{"minReplicas": 5, "maxReplicas": 3}),
			"spec.taskManager.horizontalPodAutoscaler.minReplicas", "must not be above maxReplicas"},
		{"disruption budget with maxUnavailable in application mode", job, both(set("spec.job.mode", "Application"),
			set("spec.podDisruptionBudget", map[string]interface{}{"maxUnavailable": 1})), "spec.podDisruptionBudget", "select only the TaskManagers"},
		{"disruption budget with a percentage in application mode", job, both(set("spec.job.mode", "Application"),
			set("spec.podDisruptionBudget", map[string]interface{}{"minAvailable": "50%"})), "spec.podDisruptionBudget", "integer minAvailable"},
		{"unknown field (strict)", session, set("spec.jobManager.replicaCount", 2), "spec.jobManager.replicaCount", "unknown field"},
		{"name too long", session, set("metadata.name", "a-very-long-flink-cluster-name-that-is-too-long-1"), "metadata.name", "at most 45"},
		{"name starting with a digit", session, set("metadata.name", "1cluster"), "metadata.name", "start with a letter"},
	}
	cases = append(cases, compatInvalidCases()...)
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

// updateLatest changes the FlinkCluster's latest version with change and updates it. The operator
// writes status (which bumps the resourceVersion) while the test runs, so an update of the object
// as created may conflict instead of meeting the rule under test; a conflict is retried on the
// newer version, any other answer is returned.
func updateLatest(ctx context.Context, ns, name string, change func(map[string]interface{})) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := env.dynamic.Resource(fcResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(latest.Object)
		_, err = env.dynamic.Resource(fcResource).Namespace(ns).Update(ctx, latest, metav1.UpdateOptions{FieldValidation: "Strict"})
		return err
	})
}

// TestInvalidUpdatesAreRejected checks the transition rules, which only an update can break.
func TestInvalidUpdatesAreRejected(t *testing.T) {
	noop := func(map[string]interface{}) {}
	cases := []invalidUpdate{
		{"savepointGeneration jumps by 2", minimalJobCluster, noop, set("spec.job.savepointGeneration", 2), "spec.job.savepointGeneration", "grow by exactly 1"},
		{"savepointGeneration goes down", minimalJobCluster, set("spec.job.savepointGeneration", 1), set("spec.job.savepointGeneration", 0), "spec.job.savepointGeneration", "grow by exactly 1"},
		{"cancelRequested back to false", minimalJobCluster, set("spec.job.cancelRequested", true), set("spec.job.cancelRequested", false), "spec.job.cancelRequested", "cannot go back"},
		{"cancelRequested removed", minimalJobCluster, set("spec.job.cancelRequested", true), del("spec.job.cancelRequested"), "spec.job.cancelRequested", "cannot go back"},
		{"restoreGeneration goes down", minimalJobCluster, both(set("spec.job.fromSavepoint", "/sp/a"), set("spec.job.restoreGeneration", 2)), set("spec.job.restoreGeneration", 1), "spec.job.restoreGeneration", "cannot decrease"},
		{"job cluster becomes session cluster", minimalJobCluster, noop, del("spec.job"), "spec.job", "cannot be added or removed"},
		{"session cluster becomes job cluster", minimalSessionCluster, noop, set("spec.job", map[string]interface{}{"jarFile": "/x.jar", "className": "X"}), "spec.job", "cannot be added or removed"},
		{"job mode becomes Application", minimalJobCluster, noop, set("spec.job.mode", "Application"), "spec.job.mode", "cannot change"},
		{"job mode Application becomes absent", minimalJobCluster, set("spec.job.mode", "Application"), del("spec.job.mode"), "spec.job.mode", "cannot change"},
		{"accessScope becomes Headless", minimalSessionCluster, noop, set("spec.jobManager.accessScope", "Headless"), "spec.jobManager.accessScope", "cannot change to or from Headless"},
		{"accessScope stops being Headless", minimalSessionCluster, set("spec.jobManager.accessScope", "Headless"), set("spec.jobManager.accessScope", "NodePort"), "spec.jobManager.accessScope", "cannot change to or from Headless"},
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
			_, err := createStrict(ctx, ns, obj)
			require.NoError(t, err)
			err = updateLatest(ctx, ns, name, tc.after)
			require.Error(t, err, "the API server accepted an invalid update")
			assert.Contains(t, err.Error(), tc.wantField)
			assert.Contains(t, err.Error(), tc.wantText)
		})
	}
	t.Run("savepointGeneration jumps to status + 1", func(t *testing.T) {
		// Scheduled savepoints raise status; a user asks for one now with status + 1 in one step.
		obj := fromYAML(t, minimalJobCluster)
		setPath(obj.Object, "metadata.name", "jumps-to-status")
		_, err := createStrict(ctx, ns, obj)
		require.NoError(t, err)
		// The operator cannot overwrite this status: its writes carry the resourceVersion it
		// observed, so one based on an older version conflicts and is redone on this one.
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			latest, err := env.dynamic.Resource(fcResource).Namespace(ns).Get(ctx, "jumps-to-status", metav1.GetOptions{})
			if err != nil {
				return err
			}
			setPath(latest.Object, "status.components.job.savepointGeneration", 5)
			_, err = env.dynamic.Resource(fcResource).Namespace(ns).UpdateStatus(ctx, latest, metav1.UpdateOptions{})
			return err
		}))
		assert.NoError(t, updateLatest(ctx, ns, "jumps-to-status", set("spec.job.savepointGeneration", 6)))
	})
	t.Run("savepointGeneration grows by 1", func(t *testing.T) {
		obj := fromYAML(t, minimalJobCluster)
		setPath(obj.Object, "metadata.name", "grows-by-one")
		_, err := createStrict(ctx, ns, obj)
		require.NoError(t, err)
		assert.NoError(t, updateLatest(ctx, ns, "grows-by-one", set("spec.job.savepointGeneration", 1)))
	})
}

// compatInvalidCases are the manifests of the original operator's API that this operator rejects,
// and the conflicts its aliases and pod-level fields can cause: each message names the field and
// says what to do instead.
func compatInvalidCases() []invalidCase {
	job, session := minimalJobCluster, minimalSessionCluster
	obj := func(kv ...interface{}) map[string]interface{} {
		m := map[string]interface{}{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	pvc := []interface{}{obj("metadata", obj("name", "data"), "spec", obj("accessModes", []interface{}{"ReadWriteOnce"}))}
	return []invalidCase{
		{"useTLS and useTls differ", session, set("spec.jobManager.ingress", obj("useTLS", true, "useTls", false, "tlsSecretName", "s")), "spec.jobManager.ingress", "must not differ"},
		{"takeSavepointOnUpdate and takeSavepointOnUpgrade differ", job, both(set("spec.job.takeSavepointOnUpdate", true), set("spec.job.takeSavepointOnUpgrade", false)), "spec.job", "must not differ"},
		{"upgradeMode LastState with takeSavepointOnUpdate", job, both(set("spec.job.upgradeMode", "LastState"), set("spec.job.takeSavepointOnUpdate", false)), "spec.job.upgradeMode", "conflicts with takeSavepointOnUpdate"},
		{"upgradeMode Stateless with takeSavepointOnUpgrade true", job, both(set("spec.job.upgradeMode", "Stateless"), set("spec.job.takeSavepointOnUpgrade", true)), "spec.job.upgradeMode", "conflicts with takeSavepointOnUpdate"},
		{"an unknown upgradeMode", job, set("spec.job.upgradeMode", "Checkpoint"), "spec.job.upgradeMode", "Unsupported value"},
		{"upgradeFallback with a stateless update", job, both(set("spec.job.upgradeMode", "Stateless"), set("spec.job.upgradeFallback", "LastState")), "spec.job.upgradeFallback", "applies only to upgradeMode Savepoint"},
		{"upgradeFallback Savepoint", job, both(set("spec.job.upgradeFallback", "Savepoint"), set("spec.job.savepointsDir", "/sp")), "spec.job.upgradeFallback", "Unsupported value"},
		{"Suspended by savepoint without savepointsDir", job, set("spec.job.state", "Suspended"), "spec.job.state", "needs spec.job.savepointsDir"},
		{"an unknown job state", job, set("spec.job.state", "Paused"), "spec.job.state", "Unsupported value"},
		{"restoreGeneration without fromSavepoint", job, set("spec.job.restoreGeneration", 1), "spec.job.restoreGeneration", "must be set"},
		{"a negative restoreGeneration", job, both(set("spec.job.restoreGeneration", -1), set("spec.job.fromSavepoint", "/sp/a")), "spec.job.restoreGeneration", "greater than or equal to 0"},
		{"restartOnUnhealthy with the default restartPolicy", job, set("spec.job.restartOnUnhealthy", true), "spec.job.restartOnUnhealthy", "set restartPolicy to FromSavepointOnFailure or FromLatestStateOnFailure"},
		{"restartOnUnhealthy with restartPolicy Never", job, both(set("spec.job.restartOnUnhealthy", true), set("spec.job.restartPolicy", "Never")), "spec.job.restartOnUnhealthy", "which is Never"},
		{"an empty savepointRetention", job, set("spec.job.savepointRetention", obj()), "spec.job.savepointRetention", "needs maxCount, maxAgeSeconds or both"},
		{"savepointRetention keeping none", job, set("spec.job.savepointRetention", obj("maxCount", 0)), "spec.job.savepointRetention.maxCount", "greater than or equal to 1"},
		{"savepointRetention keeping more than the history holds", job, set("spec.job.savepointRetention", obj("maxCount", 6)), "spec.job.savepointRetention.maxCount", "less than or equal to 5"},
		{"savepointRetention with a zero age", job, set("spec.job.savepointRetention", obj("maxAgeSeconds", 0)), "spec.job.savepointRetention.maxAgeSeconds", "greater than or equal to 1"},
		{"a rollback timeout below 10 s", job, set("spec.job.rollback", obj("timeoutSeconds", 5)), "spec.job.rollback.timeoutSeconds", "greater than or equal to 10"},
		{"a rollback timeout above a day", job, set("spec.job.rollback", obj("timeoutSeconds", 86401)), "spec.job.rollback.timeoutSeconds", "less than or equal to 86400"},
		{"latest state without a checkpoint directory", job, set("spec.job.restartPolicy", "FromLatestStateOnFailure"), "spec.job", "need a checkpoint directory"},
		{"jobManager podLabels override the cluster label", session, set("spec.jobManager.podLabels", obj("flinkoperator.k8s.io/cluster", "other")), "spec.jobManager.podLabels", "operator's own labels"},
		{"taskManager podLabels override the component label", session, set("spec.taskManager.podLabels", obj("app.kubernetes.io/component", "x")), "spec.taskManager.podLabels", "operator's own labels"},
		{"job podLabels override the managed-by label", job, set("spec.job.podLabels", obj("app.kubernetes.io/managed-by", "me")), "spec.job.podLabels", "operator's own labels"},
		{"ServiceLabels override the instance label", session, set("spec.jobManager.ServiceLabels", obj("app.kubernetes.io/instance", "x")), "spec.jobManager.ServiceLabels", "operator's own labels"},
		{"podAnnotations in the operator's prefix", session, set("spec.taskManager.podAnnotations", obj("flinkoperator.k8s.io/config-hash", "x")), "spec.taskManager.podAnnotations", "flinkoperator.k8s.io/ prefix"},
		{"batchSchedulerName", session, set("spec.batchSchedulerName", "volcano"), "spec.batchSchedulerName", "not supported"},
		{"batchScheduler", session, set("spec.batchScheduler", obj("name", "volcano", "queue", "q")), "spec.batchScheduler", "not supported"},
		{"jobManager volumeClaimTemplates", session, set("spec.jobManager.volumeClaimTemplates", pvc), "spec.jobManager.volumeClaimTemplates", "generic ephemeral volume"},
		{"taskManager volumeClaimTemplates", session, set("spec.taskManager.volumeClaimTemplates", pvc), "spec.taskManager.volumeClaimTemplates", "generic ephemeral volume"},
		{"recreateOnUpdate false", session, set("spec.recreateOnUpdate", false), "spec.recreateOnUpdate", "not supported"},
		{"two JobManager replicas without HA", session, set("spec.jobManager.replicas", 2), "spec.jobManager.replicas", "needs high availability"},
		{"six JobManager replicas", session, both(set("spec.highAvailability", obj("type", "Kubernetes", "storageDir", "/ha")), set("spec.jobManager.replicas", 6)), "spec.jobManager.replicas", "less than or equal to 5"},
		{"an unknown HA type", session, set("spec.highAvailability", obj("type", "ZooKeeper", "storageDir", "/ha")), "spec.highAvailability.type", "Unsupported value"},
		{"HA without a storage directory", session, set("spec.highAvailability", obj("type", "Kubernetes")), "spec.highAvailability", "needs a storage directory"},
		{"HA with a user's cluster ID", session, set("spec.flinkProperties", obj("high-availability.type", "kubernetes", "high-availability.storageDir", "/ha", "kubernetes.cluster-id", "mine")), "spec.flinkProperties", "derives the cluster ID from the FlinkCluster's UID"},
		{"HA block and HA keys in flinkProperties", session, both(set("spec.highAvailability", obj("type", "Kubernetes", "storageDir", "/ha")), set("spec.flinkProperties", obj("high-availability.type", "zookeeper"))), "spec.flinkProperties", "in one place"},
		{"TaskManager StatefulSet", session, set("spec.taskManager.deploymentType", "StatefulSet"), "spec.taskManager.deploymentType", "Deployment"},
		{"job mode Blocking", job, set("spec.job.mode", "Blocking"), "spec.job.mode", "Blocking is not supported"},
		{"job mode not known", job, set("spec.job.mode", "Session"), "spec.job.mode", "Unsupported value"},
		{"python job", job, set("spec.job.pyFile", "gs://b/job.py"), "spec.job.pyFile", "jarFile and className"},
		{"python job (older spelling)", job, set("spec.job.pythonModule", "job.main"), "spec.job", "jarFile and className"},
		{"maxStateAgeToRestoreSeconds", job, set("spec.job.maxStateAgeToRestoreSeconds", 3600), "spec.job.maxStateAgeToRestoreSeconds", "autoSavepointSeconds"},
		{"extraPorts reuse an operator port name", session, set("spec.jobManager.extraPorts", []interface{}{obj("name", "ui", "containerPort", 9999)}), "spec.jobManager.extraPorts", "must not use the names"},
		{"extraPorts reuse an operator port number", session, set("spec.taskManager.extraPorts", []interface{}{obj("name", "x", "containerPort", 6122)}), "spec.taskManager.extraPorts", "must not repeat a port number"},
		{"extraPorts with the same name twice", session, set("spec.jobManager.extraPorts", []interface{}{obj("name", "m", "containerPort", 9000), obj("name", "m", "containerPort", 9001)}), "spec.jobManager.extraPorts", "names must be unique"},
		{"extraPorts with a bad protocol", session, set("spec.jobManager.extraPorts", []interface{}{obj("containerPort", 9000, "protocol", "HTTP")}), "spec.jobManager.extraPorts[0].protocol", "SCTP"},
		{"logConfig replaces the Flink configuration", session, set("spec.logConfig", obj("flink-conf.yaml", "x: y")), "spec.logConfig", "spec.flinkProperties"},
		{"logConfig with a path as key", session, set("spec.logConfig", obj("../log4j.properties", "x")), "spec.logConfig", "file names"},
		{"logConfig CLI file with noLoggingToStdout", job, both(set("spec.job.noLoggingToStdout", true), set("spec.logConfig", obj("log4j-cli.properties", "rootLogger.level = INFO"))), "spec.logConfig", "noLoggingToStdout"},
		{"flinkVersion not a version", session, set("spec.flinkVersion", "latest"), "spec.flinkVersion", "should match"},
		{"memoryProcessRatio over 100", session, set("spec.taskManager.memoryProcessRatio", 120), "spec.taskManager.memoryProcessRatio", "less than or equal to 100"},
		{"access scope not known", session, set("spec.jobManager.accessScope", "LoadBalancer"), "spec.jobManager.accessScope", "Headless"},
		{"jarFile of a scheme flink run cannot read", job, set("spec.job.jarFile", "gs://bucket/job.jar"), "spec.job.jarFile", "an http:// or https:// URL (fetched by an init container"},
		{"jarFile of an unknown scheme", job, set("spec.job.jarFile", "ftp://host/job.jar"), "spec.job.jarFile", "or mode Application, where Flink fetches"},
		{"jarFileChecksum not sha256", job, both(set("spec.job.jarFile", "https://h/job.jar"), set("spec.job.jarFileChecksum", "md5:0123")), "spec.job.jarFileChecksum", "should match"},
		{"jarFileChecksum in upper case", job, both(set("spec.job.jarFile", "https://h/job.jar"), set("spec.job.jarFileChecksum", "sha256:"+strings.Repeat("AB", 32))), "spec.job.jarFileChecksum", "should match"},
		{"jarFileChecksum of a JAR in the image", job, set("spec.job.jarFileChecksum", "sha256:"+strings.Repeat("ab", 32)), "spec.job.jarFileChecksum", "needs an http:// or https:// jarFile"},
	}
}

// TestIngressWithTheControllersCertificate: TLS without tlsSecretName is accepted (the seed API
// makes the secret optional) and the Ingress asks for the controller's default certificate, in
// the IngressClass ingressClassName names.
func TestIngressWithTheControllersCertificate(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, minimalSessionCluster)
	setPath(obj.Object, "spec.jobManager.ingress", map[string]interface{}{"hostFormat": "{{$clusterName}}.example.com", "useTls": true, "ingressClassName": "nginx"})
	fc, err := createStrict(context.Background(), ns, obj)
	require.NoError(t, err)
	var ing *networkingv1.Ingress
	waitFor(t, 30*time.Second, "the Ingress", func() bool {
		ing, err = env.kube.NetworkingV1().Ingresses(ns).Get(context.Background(), fc.GetName()+"-jobmanager", metav1.GetOptions{})
		return err == nil
	})
	assert.Equal(t, "nginx", ptr.Deref(ing.Spec.IngressClassName, ""))
	require.Len(t, ing.Spec.TLS, 1)
	assert.Empty(t, ing.Spec.TLS[0].SecretName, "the controller's default certificate")
	assert.Equal(t, []string{fc.GetName() + ".example.com"}, ing.Spec.TLS[0].Hosts)
}
