//go:build integration

package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// haSessionCluster is a session cluster with Kubernetes HA whose pods run as sa.
func haSessionCluster(t *testing.T, name, sa string) *unstructured.Unstructured {
	obj := fromYAML(t, minimalSessionCluster)
	obj.SetName(name)
	setPath(obj.Object, "spec.serviceAccountName", sa)
	setPath(obj.Object, "spec.highAvailability", map[string]interface{}{"type": "Kubernetes", "storageDir": "file:///ha"})
	return obj
}

// TestHAPermissionsAreChecked: with high availability the operator asks the API server whether
// the pods' ServiceAccount may do what Flink's HA services do, and says which verbs it lacks.
func TestHAPermissionsAreChecked(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	condition := func(name string) *metav1.Condition {
		return meta.FindStatusCondition(getFC(t, ns, name).Status.Conditions, state.ConditionHighAvailabilityPermitted)
	}

	// The namespace's default ServiceAccount has no Role.
	_, err := createStrict(ctx, ns, haSessionCluster(t, "without-role", "default"))
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "condition HighAvailabilityPermitted", func() bool { return condition("without-role") != nil })
	c := condition("without-role")
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Equal(t, "MissingPermissions", c.Reason)
	assert.Contains(t, c.Message, "ServiceAccount "+ns+"/default may not create, delete, get, list, patch, update, watch ConfigMaps")

	// The sample Role, bound to its ServiceAccount.
	out, err := kubectl(ctx, "-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "ha", "flink-ha-role.yaml"))
	require.NoError(t, err, out)
	_, err = createStrict(ctx, ns, haSessionCluster(t, "with-role", "flink-ha"))
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "condition HighAvailabilityPermitted", func() bool { return condition("with-role") != nil })
	c = condition("with-role")
	assert.Equal(t, metav1.ConditionTrue, c.Status, c.Message)
	assert.Equal(t, "Granted", c.Reason)
	assert.True(t, strings.Contains(c.Message, "flink-ha"), c.Message)
}
