package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestStripValidationsLeavesNoRule: the CRD the admission measurement compares against has no
// CEL rule left anywhere, and nothing else removed.
func TestStripValidationsLeavesNoRule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "crd", "flinkoperator.k8s.io_flinkclusters.yaml"))
	require.NoError(t, err)
	var crd map[string]any
	require.NoError(t, yaml.Unmarshal(data, &crd))
	before, err := yaml.Marshal(crd)
	require.NoError(t, err)
	require.Greater(t, strings.Count(string(before), "rule:"), 50)

	stripValidations(crd["spec"])
	after, err := yaml.Marshal(crd)
	require.NoError(t, err)
	assert.NotContains(t, string(after), "x-kubernetes-validations")
	assert.NotContains(t, string(after), "rule:")
	assert.Equal(t, strings.Count(string(before), "type: object"), strings.Count(string(after), "type: object"), "every schema node is kept")
}
