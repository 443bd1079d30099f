package v1beta1

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestEverySpecFieldIsBounded: every string, list and map a user can fill has a maximum in the
// CRD (its own marker, or hack/tools/crdtrim's default), so the API server knows the largest spec
// it can be sent and no field can take the whole request.
func TestEverySpecFieldIsBounded(t *testing.T) {
	data, err := os.ReadFile("../../../../deploy/crd/flinkoperator.k8s.io_flinkclusters.yaml")
	require.NoError(t, err)
	var crd map[string]interface{}
	require.NoError(t, yaml.Unmarshal(data, &crd))
	versions := crd["spec"].(map[string]interface{})["versions"].([]interface{})
	schema := versions[0].(map[string]interface{})["schema"].(map[string]interface{})["openAPIV3Schema"].(map[string]interface{})
	spec := schema["properties"].(map[string]interface{})["spec"].(map[string]interface{})
	var unbounded []string
	var visit func(node map[string]interface{}, path string)
	visit = func(node map[string]interface{}, path string) {
		switch node["type"] {
		case "string":
			if node["maxLength"] == nil && node["enum"] == nil {
				unbounded = append(unbounded, path)
			}
		case "array":
			if node["maxItems"] == nil {
				unbounded = append(unbounded, path)
			}
		case "object":
			if _, isMap := node["additionalProperties"].(map[string]interface{}); isMap && node["maxProperties"] == nil {
				unbounded = append(unbounded, path)
			}
		}
		if props, ok := node["properties"].(map[string]interface{}); ok {
			for name, child := range props {
				visit(child.(map[string]interface{}), path+"."+name)
			}
		}
		if items, ok := node["items"].(map[string]interface{}); ok {
			visit(items, path+"[]")
		}
		if values, ok := node["additionalProperties"].(map[string]interface{}); ok {
			visit(values, path+"{}")
		}
	}
	visit(spec, "spec")
	assert.Empty(t, unbounded, "spec fields without maxLength/maxItems/maxProperties: run make generate (hack/tools/crdtrim adds the defaults)")
}

// TestCRDSize: the CRD is installed with server-side apply (docs/operations.md), so its bound is
// what the API server and etcd accept for one object (about 1.5 MiB per request to etcd); stay
// well under it, so that a field embedding a large Kubernetes type is a decision, not an accident.
func TestCRDSize(t *testing.T) {
	data, err := os.ReadFile("../../../../deploy/crd/flinkoperator.k8s.io_flinkclusters.yaml")
	require.NoError(t, err)
	compact, err := yaml.YAMLToJSON(data)
	require.NoError(t, err)
	assert.Less(t, len(compact), 512*1024, "the CRD as JSON")
}
