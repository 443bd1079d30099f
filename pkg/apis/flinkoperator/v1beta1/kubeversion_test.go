package v1beta1

import (
	"os"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apimachinery/pkg/util/version"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

// celCompatibility is the CEL environment of the oldest Kubernetes the README names (1.30): an
// API server compiles a new rule with the libraries of the release before its own, so that a
// rule it accepts still compiles after a rollback by one minor (environment.
// DefaultCompatibilityVersion was 1.29 in 1.30).
var celCompatibility = version.MajorMinor(1, 29)

// TestCELRulesCompileOnTheMinimumKubernetes compiles every x-kubernetes-validations rule of the
// CRD in the CEL environment of the minimum Kubernetes: a rule using a library added later (ip,
// cidr, format, semver, two-variable comprehensions) would make that API server reject the CRD.
// The same rules in the environment of 1.27 fail (two use the quantity library of 1.28), so the
// check can tell. It checks that the rules compile, not the API server's cost limits (the
// integration suite's CRD install does).
func TestCELRulesCompileOnTheMinimumKubernetes(t *testing.T) {
	root := crdSchema(t)
	failures := compileRules(t, root, celCompatibility)
	assert.Empty(t, failures, "rules that do not compile with the CEL libraries of Kubernetes %s", celCompatibility)
	older := compileRules(t, root, version.MajorMinor(1, 27))
	assert.NotEmpty(t, older, "the rules need libraries newer than Kubernetes 1.27")
	t.Logf("%d rules compile with the libraries of Kubernetes %s; %d of them not with those of 1.27, e.g. %v", countRules(root), celCompatibility, len(older), older[:min(1, len(older))])
}

func crdSchema(t testing.TB) *structuralschema.Structural {
	t.Helper()
	data, err := os.ReadFile("../../../../deploy/crd/flinkoperator.k8s.io_flinkclusters.yaml")
	require.NoError(t, err)
	var crd apiextensionsv1.CustomResourceDefinition
	require.NoError(t, yaml.Unmarshal(data, &crd))
	var internal apiextensions.JSONSchemaProps
	require.NoError(t, apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil))
	s, err := structuralschema.NewStructural(&internal)
	require.NoError(t, err)
	return s
}

// compileRules compiles the rules of every node under s as an API server whose CEL
// compatibility version is ver compiles a new CRD's; it returns "path: rule: error" per failure.
func compileRules(t *testing.T, s *structuralschema.Structural, ver *version.Version) []string {
	t.Helper()
	envSet := environment.MustBaseEnvSet(ver)
	var failures []string
	var walk func(node *structuralschema.Structural, path string, root bool)
	walk = func(node *structuralschema.Structural, path string, root bool) {
		if node == nil {
			return
		}
		if len(node.XValidations) > 0 {
			results, err := cel.Compile(node, model.SchemaDeclType(node, root), celconfig.PerCallLimit, envSet, cel.NewExpressionsEnvLoader())
			require.NoError(t, err, path)
			for i, r := range results {
				if r.Error != nil {
					failures = append(failures, path+": "+node.XValidations[i].Rule+": "+r.Error.Error())
				}
			}
		}
		names := make([]string, 0, len(node.Properties))
		for name := range node.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			child := node.Properties[name]
			walk(&child, path+"."+name, false)
		}
		walk(node.Items, path+"[]", false)
		if node.AdditionalProperties != nil {
			walk(node.AdditionalProperties.Structural, path+"{}", false)
		}
	}
	walk(s, "", true)
	return failures
}

func countRules(s *structuralschema.Structural) int {
	if s == nil {
		return 0
	}
	n := len(s.XValidations)
	for name := range s.Properties {
		child := s.Properties[name]
		n += countRules(&child)
	}
	n += countRules(s.Items)
	if s.AdditionalProperties != nil {
		n += countRules(s.AdditionalProperties.Structural)
	}
	return n
}
