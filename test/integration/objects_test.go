//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

var fcResource = schema.GroupVersionResource{Group: "flinkoperator.k8s.io", Version: "v1beta1", Resource: "flinkclusters"}

var nsCounter atomic.Int32

// newNamespace creates a namespace for one test and deletes it when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("it-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), nsCounter.Add(1))
	if len(name) > 60 {
		name = fmt.Sprintf("it-%d-%s", nsCounter.Load(), name[len(name)-40:])
	}
	name = strings.Trim(strings.ReplaceAll(name, "_", "-"), "-")
	ctx := context.Background()
	_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// fromYAML parses a manifest into an unstructured object.
func fromYAML(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := map[string]interface{}{}
	require.NoError(t, yaml.Unmarshal([]byte(manifest), &obj))
	return &unstructured.Unstructured{Object: obj}
}

// readYAMLFile parses a manifest file into an unstructured object.
func readYAMLFile(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return fromYAML(t, string(data))
}

// createStrict creates a FlinkCluster with strict field validation, as `kubectl apply
// --validate=strict` does.
func createStrict(ctx context.Context, ns string, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return env.dynamic.Resource(fcResource).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"})
}

const minimalJobCluster = `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: minimal
spec:
  image:
    name: flink:2.1
  jobManager: {}
  taskManager:
    replicas: 1
  job:
    jarFile: /opt/flink/examples/streaming/WordCount.jar
    className: org.apache.flink.streaming.examples.wordcount.WordCount
`

const minimalSessionCluster = `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: session
spec:
  image:
    name: flink:2.1
  jobManager: {}
  taskManager:
    replicas: 1
`

// setPath sets a value at a dotted path, creating maps on the way.
func setPath(obj map[string]interface{}, path string, value interface{}) {
	parts := strings.Split(path, ".")
	m := obj
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = value
}

// deletePath removes the value at a dotted path.
func deletePath(obj map[string]interface{}, path string) {
	parts := strings.Split(path, ".")
	unstructured.RemoveNestedField(obj, parts...)
}
