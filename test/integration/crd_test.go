//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

func TestCRDIsEstablished(t *testing.T) {
	crd, err := env.apiext.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), "flinkclusters.flinkoperator.k8s.io", metav1.GetOptions{})
	require.NoError(t, err)
	conditions := map[apiextensionsv1.CustomResourceDefinitionConditionType]apiextensionsv1.ConditionStatus{}
	for _, c := range crd.Status.Conditions {
		conditions[c.Type] = c.Status
	}
	assert.Equal(t, apiextensionsv1.ConditionTrue, conditions[apiextensionsv1.Established])
	assert.Equal(t, apiextensionsv1.ConditionTrue, conditions[apiextensionsv1.NamesAccepted])
	assert.Equal(t, []string{"fc"}, crd.Spec.Names.ShortNames)
	assert.Equal(t, "unapproved, experimental-only", crd.Annotations["api-approved.kubernetes.io"])
}

// TestDefaultsAreApplied creates the smallest valid job cluster and reads back every default of
// the specification, applied by the API server from the CRD schema.
func TestDefaultsAreApplied(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := fromYAML(t, minimalJobCluster)
	setPath(obj.Object, "spec.jobManager.ingress", map[string]interface{}{"hostFormat": "{{$clusterName}}.example.com"})
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "minimal", metav1.GetOptions{})
	require.NoError(t, err)

	jm, tm, job := fc.Spec.JobManager, fc.Spec.TaskManager, fc.Spec.Job
	assert.Equal(t, v1beta1.AccessScopeCluster, jm.AccessScope)
	assert.Equal(t, int32(6123), *jm.Ports.RPC)
	assert.Equal(t, int32(6124), *jm.Ports.Blob)
	assert.Equal(t, int32(6125), *jm.Ports.Query)
	assert.Equal(t, int32(8081), *jm.Ports.UI)
	assert.Equal(t, int32(6121), *tm.Ports.Data)
	assert.Equal(t, int32(6122), *tm.Ports.RPC)
	assert.Equal(t, int32(6125), *tm.Ports.Query)
	for _, side := range []struct {
		name  string
		ratio *int32
		min   string
		mem   string
	}{
		{"jobManager", jm.MemoryOffHeapRatio, jm.MemoryOffHeapMin.String(), jm.Resources.Limits.Memory().String()},
		{"taskManager", tm.MemoryOffHeapRatio, tm.MemoryOffHeapMin.String(), tm.Resources.Limits.Memory().String()},
	} {
		assert.Equal(t, int32(25), *side.ratio, side.name)
		assert.Equal(t, "600M", side.min, side.name)
		assert.Equal(t, "2Gi", side.mem, side.name+" default resources")
	}
	// useTLS and takeSavepointOnUpdate have no schema default, so that their aliases (useTls,
	// takeSavepointOnUpgrade) can be set alone; absent reads as false and true.
	assert.Nil(t, jm.Ingress.UseTLS)
	assert.False(t, jm.Ingress.TLSEnabled())
	assert.Equal(t, int32(1), *job.Parallelism)
	assert.False(t, *job.AllowNonRestoredState)
	assert.False(t, *job.NoLoggingToStdout)
	assert.Equal(t, v1beta1.JobRestartPolicyNever, *job.RestartPolicy)
	assert.Equal(t, v1beta1.CleanupActionDeleteCluster, job.CleanupPolicy.AfterJobSucceeds)
	assert.Equal(t, v1beta1.CleanupActionKeepCluster, job.CleanupPolicy.AfterJobFails)
	assert.Equal(t, v1beta1.CleanupActionDeleteCluster, job.CleanupPolicy.AfterJobCancelled)
	assert.Nil(t, job.TakeSavepointOnUpdate)
	assert.True(t, job.SavepointOnUpdate())
	assert.Equal(t, int32(0), job.SavepointGeneration)
}

func TestSamplesAreAccepted(t *testing.T) {
	ns := newNamespace(t)
	samples, err := filepath.Glob(filepath.Join(env.root, "deploy", "samples", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, samples)
	for _, path := range samples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := createStrict(context.Background(), ns, readYAMLFile(t, path))
			assert.NoError(t, err)
		})
	}
}

// TestPrinterColumns reads the server-side table that `kubectl get fc` prints.
func TestPrinterColumns(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)

	body, err := env.kube.CoreV1().RESTClient().Get().AbsPath("/apis/flinkoperator.k8s.io/v1beta1/namespaces", ns, "flinkclusters").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	require.NoError(t, err)
	var table metav1.Table
	require.NoError(t, json.Unmarshal(body, &table))
	var normal, wide []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			normal = append(normal, c.Name)
		} else {
			wide = append(wide, c.Name)
		}
	}
	assert.Equal(t, []string{"Name", "State", "Job", "Savepoints", "Restarts", "Rollback", "Age"}, normal)
	assert.Subset(t, wide, []string{"TaskManagers", "Flink-Job", "Job-ID", "Last-Savepoint", "Image"})
	require.Len(t, table.Rows, 1)

	out, err := kubectl(ctx, "get", "fc", "-n", ns)
	require.NoError(t, err)
	assert.Contains(t, out, "SAVEPOINTS")
}

func TestKubectlExplainDescribesFields(t *testing.T) {
	out, err := kubectl(context.Background(), "explain", "flinkcluster.spec.job.savepointGeneration")
	require.NoError(t, err)
	assert.Contains(t, out, "status.components.job.savepointGeneration + 1")
}

// TestScaleSubresource scales the TaskManagers the way `kubectl scale fc/NAME` does.
func TestScaleSubresource(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, minimalSessionCluster))
	require.NoError(t, err)
	_, err = kubectl(ctx, "scale", "-n", ns, "fc/session", "--replicas=3")
	require.NoError(t, err)
	fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "session", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), fc.Spec.TaskManager.Replicas)
}

// TestStatusWithEmptySubStructs writes a status with only a few fields set: nothing in status is
// required, so an operator never fails a status write for a sub-structure it did not fill.
func TestStatusWithEmptySubStructs(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	created, err := createStrict(ctx, ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	// The operator writes status too: a write based on an older version conflicts and is redone
	// on the newer one (the rule under test is the schema's, not the resourceVersion's).
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := env.dynamic.Resource(fcResource).Namespace(ns).Get(ctx, created.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		require.NoError(t, unstructured.SetNestedField(latest.Object, map[string]interface{}{
			"state":      "Creating",
			"components": map[string]interface{}{"job": map[string]interface{}{}, "jobManagerIngress": map[string]interface{}{}},
		}, "status"))
		_, err = env.dynamic.Resource(fcResource).Namespace(ns).UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		return err
	})
	assert.NoError(t, err)
}

// TestAMaximalObjectIsAccepted: a FlinkCluster that fills every collection a CEL rule iterates
// to its maximum (flinkProperties, logConfig, pod labels and annotations, extraPorts) stays within
// the API server's runtime CEL cost budget, which is smaller than the estimate the CRD was
// admitted under. A dry-run create runs every admission step but storage.
func TestAMaximalObjectIsAccepted(t *testing.T) {
	ns := newNamespace(t)
	obj := fromYAML(t, minimalJobCluster)
	spec := obj.Object["spec"].(map[string]interface{})
	props := map[string]interface{}{}
	for i := 0; i < 512; i++ {
		// Long keys make the key pattern's regex do the most work a 1.5 MiB object allows.
		props[fmt.Sprintf("%04d.%s", i, strings.Repeat("k", 1500))] = "v"
	}
	spec["flinkProperties"] = props
	logConfig := map[string]interface{}{}
	for i := 0; i < 64; i++ {
		logConfig[fmt.Sprintf("%02d-%s.properties", i, strings.Repeat("l", 200))] = "rootLogger.level = INFO"
	}
	spec["logConfig"] = logConfig
	labels, annotations := map[string]interface{}{}, map[string]interface{}{}
	for i := 0; i < 256; i++ {
		labels[fmt.Sprintf("team.example.com/l%03d", i)] = "x"
		annotations[fmt.Sprintf("team.example.com/a%03d", i)] = "x"
	}
	for _, component := range []string{"jobManager", "taskManager"} {
		c := spec[component].(map[string]interface{})
		c["podLabels"], c["podAnnotations"] = labels, annotations
		var ports []interface{}
		for i := 0; i < 32; i++ {
			ports = append(ports, map[string]interface{}{"name": fmt.Sprintf("p%02d", i), "containerPort": 20000 + i})
		}
		c["extraPorts"] = ports
	}
	data, err := json.Marshal(obj.Object)
	require.NoError(t, err)
	t.Logf("maximal object: %d bytes", len(data))
	_, err = env.dynamic.Resource(fcResource).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	assert.NoError(t, err)
}

// TestLaterVersionsDefaults: as in the original operator's later versions, jobManager may be
// omitted (every default, as for {}) and so may taskManager.replicas (3); a manifest that sets
// them means the same as before.
func TestLaterVersionsDefaults(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := fromYAML(t, `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: short
spec:
  image:
    name: flink:2.1
  taskManager: {}
`)
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "short", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), fc.Spec.TaskManager.Replicas)
	jm := fc.Spec.JobManager
	assert.Equal(t, v1beta1.AccessScopeCluster, jm.AccessScope, "jobManager's own defaults apply")
	require.NotNil(t, jm.Ports.UI)
	assert.Equal(t, int32(8081), *jm.Ports.UI)
	assert.Equal(t, "2Gi", jm.Resources.Limits.Memory().String())

	_, err = createStrict(ctx, ns, fromYAML(t, minimalSessionCluster))
	require.NoError(t, err)
	set, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "session", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), set.Spec.TaskManager.Replicas, "a set value stays")
}
