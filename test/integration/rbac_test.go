//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/flink-operator/flink-operator/pkg/controller"
	"github.com/flink-operator/flink-operator/pkg/controller/clients"
)

const operatorServiceAccount = "system:serviceaccount:flink-operator-system:flink-operator"

// operatorConfig is the test cluster's config impersonating the operator's ServiceAccount from
// deploy/, so every call below is authorised exactly as the deployed operator's would be.
func operatorConfig() *rest.Config {
	cfg := rest.CopyConfig(env.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorServiceAccount}
	return cfg
}

// TestOperatorInformersSyncUnderDeployRBAC starts the operator's own informers as the operator's
// ServiceAccount: a missing list or watch verb in deploy/rbac makes the caches never sync.
func TestOperatorInformersSyncUnderDeployRBAC(t *testing.T) {
	kube, flink, err := clients.New(operatorConfig())
	require.NoError(t, err)
	informers := controller.NewInformers(kube, flink, "", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); informers.Shutdown() }()
	informers.Start(ctx)
	require.NoError(t, informers.WaitForSync(ctx, 30*time.Second))
}

// TestOperatorWriteVerbs asks the API server whether the operator's ServiceAccount may do each
// write the operator makes.
func TestOperatorWriteVerbs(t *testing.T) {
	checks := []authorizationv1.ResourceAttributes{
		{Group: "flinkoperator.k8s.io", Resource: "flinkclusters", Verb: "patch"},
		{Group: "flinkoperator.k8s.io", Resource: "flinkclusters", Subresource: "status", Verb: "update"},
		{Group: "flinkoperator.k8s.io", Resource: "flinkclusters", Subresource: "finalizers", Verb: "update"},
		{Group: "apps", Resource: "deployments", Subresource: "scale", Verb: "update"},
		{Group: "", Resource: "events", Verb: "create"},
		{Group: "events.k8s.io", Resource: "events", Verb: "create"},
		{Group: "", Resource: "events", Verb: "patch"},
		{Group: "coordination.k8s.io", Resource: "leases", Verb: "update", Namespace: "flink-operator-system"},
		{Group: "coordination.k8s.io", Resource: "leases", Verb: "create", Namespace: "flink-operator-system"},
		{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews", Verb: "create", Namespace: "team"},
		// Not a write: the pods of a failed attempt, listed from the API server (no informer
		// would catch a missing verb).
		{Group: "", Resource: "pods", Verb: "list", Namespace: "team"},
	}
	for _, child := range []struct{ group, resource string }{
		{"apps", "deployments"}, {"", "services"}, {"", "configmaps"}, {"networking.k8s.io", "ingresses"}, {"batch", "jobs"},
		{"networking.k8s.io", "networkpolicies"},
	} {
		for _, verb := range []string{"create", "update", "delete"} {
			checks = append(checks, authorizationv1.ResourceAttributes{Group: child.group, Resource: child.resource, Verb: verb})
		}
	}
	for _, attrs := range checks {
		t.Run(attrs.Verb+" "+attrs.Resource+"/"+attrs.Subresource, func(t *testing.T) {
			assert.True(t, allowed(t, attrs), "deploy/rbac must allow it")
		})
	}
	t.Run("nothing beyond the operator's needs", func(t *testing.T) {
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Resource: "secrets", Verb: "get"}))
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Resource: "pods", Verb: "watch"}), "pods are listed when an attempt failed, never watched")
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Resource: "pods", Verb: "get"}))
		// Children are written with update, never patch; a FlinkCluster's spec is never written
		// (only its status, and its finalizers through a patch).
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Group: "apps", Resource: "deployments", Verb: "patch"}))
		// Not even on ConfigMaps, which Flink's HA services patch: so the operator cannot grant
		// them a Role (docs/operations.md, High availability).
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Resource: "configmaps", Verb: "patch"}))
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Group: "flinkoperator.k8s.io", Resource: "flinkclusters", Verb: "update"}))
		assert.False(t, allowed(t, authorizationv1.ResourceAttributes{Group: "coordination.k8s.io", Resource: "leases", Verb: "update", Namespace: "default"}))
	})
}

func allowed(t *testing.T, attrs authorizationv1.ResourceAttributes) bool {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               operatorServiceAccount,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:flink-operator-system", "system:authenticated"},
		ResourceAttributes: &attrs,
	}}
	res, err := env.kube.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), review, metav1.CreateOptions{})
	require.NoError(t, err)
	return res.Status.Allowed
}
