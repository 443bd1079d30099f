//go:build integration

package integration

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/controller/state"
)

// TestRESTTLSSecretMissingAndTheSampleRole: a cluster whose REST API is behind TLS and whose
// Secret does not exist says so in its condition (the operator makes no REST call), and the
// sample Role grants the deployed operator get on that one Secret and nothing more.
func TestRESTTLSSecretMissingAndTheSampleRole(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := fromYAML(t, minimalSessionCluster)
	setPath(obj.Object, "spec.flinkProperties", map[string]interface{}{"security.ssl.rest.enabled": "true"})
	setPath(obj.Object, "spec.jobManager.restTLS", map[string]interface{}{"secretName": "flink-rest-tls"})
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "condition JobManagerReachable", func() bool {
		return condition(t, ns, "session", state.ConditionJobManagerReachable) != nil
	})
	c := condition(t, ns, "session", state.ConditionJobManagerReachable)
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Equal(t, state.ReasonRESTTLSUnavailable, c.Reason)
	assert.Contains(t, c.Message, "spec.jobManager.restTLS.secretName: Secret "+ns+"/flink-rest-tls not found")

	secret := func(verb, name, namespace string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: "secrets", Name: name}
	}
	assert.False(t, allowed(t, secret("get", "flink-rest-tls", ns)), "deploy/rbac reads no Secrets")
	out, err := kubectl(ctx, "-n", ns, "apply", "-f", filepath.Join(env.root, "deploy", "samples", "rest-tls", "operator-secret-reader.yaml"))
	require.NoError(t, err, out)
	waitFor(t, 10*time.Second, "the sample Role to take effect", func() bool { return allowed(t, secret("get", "flink-rest-tls", ns)) })
	assert.False(t, allowed(t, secret("get", "other", ns)), "only the Secret resourceNames names")
	assert.False(t, allowed(t, secret("list", "", ns)))
	assert.False(t, allowed(t, secret("watch", "", ns)))
	assert.False(t, allowed(t, secret("get", "flink-rest-tls", "default")), "only in the namespace it is applied to")
}
