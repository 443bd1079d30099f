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
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

var (
	policyResource  = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}
	bindingResource = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}
)

const policyTestLabel = "flinkoperator.k8s.io/policy-test"

// installPolicies creates the objects of deploy/policies as shipped, except that every binding
// also selects only namespaces labelled policyTestLabel=ns: the policies are cluster-wide, and
// the rest of the suite (NodePort clusters, the operator's RBAC checks) must not run under them.
func installPolicies(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	out, err := kubectl(ctx, "kustomize", filepath.Join(env.root, "deploy", "policies"))
	require.NoError(t, err)
	for _, doc := range strings.Split(out, "\n---\n") {
		obj := &unstructured.Unstructured{}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj.Object))
		gvr := policyResource
		if obj.GetKind() == "ValidatingAdmissionPolicyBinding" {
			gvr = bindingResource
			selector := map[string]interface{}{policyTestLabel: ns}
			require.NoError(t, unstructured.SetNestedMap(obj.Object, selector, "spec", "matchResources", "namespaceSelector", "matchLabels"))
		}
		_, err := env.dynamic.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{})
		require.NoError(t, err, "creating %s %s", obj.GetKind(), obj.GetName())
		name := obj.GetName()
		t.Cleanup(func() { _ = env.dynamic.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
}

// policyNamespace is a namespace the test's bindings select.
func policyNamespace(t *testing.T, extraLabels ...string) string {
	t.Helper()
	ns := newNamespace(t)
	_, err := kubectl(context.Background(), append([]string{"label", "namespace", ns, policyTestLabel + "=" + ns}, extraLabels...)...)
	require.NoError(t, err)
	return ns
}

// dryRunFC asks the API server to create a FlinkCluster without storing it: admission, policies
// included, runs as for a real create.
func dryRunFC(ns string, manifest *unstructured.Unstructured) error {
	_, err := env.dynamic.Resource(fcResource).Namespace(ns).Create(context.Background(), manifest, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// withSpec is the minimal job cluster with one change to its spec, written as a YAML fragment
// under spec.
func withSpec(t *testing.T, fragment string) *unstructured.Unstructured {
	t.Helper()
	obj := fromYAML(t, minimalJobCluster)
	patch := map[string]interface{}{}
	require.NoError(t, yaml.Unmarshal([]byte(fragment), &patch))
	spec := obj.Object["spec"].(map[string]interface{})
	mergeInto(spec, patch)
	return obj
}

// deniedByPolicy reports whether err is a ValidatingAdmissionPolicy's denial (403 with reason
// Forbidden, like RBAC's, so the message tells them apart).
func deniedByPolicy(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy")
}

func mergeInto(dst, src map[string]interface{}) {
	for k, v := range src {
		if sub, ok := v.(map[string]interface{}); ok {
			if d, ok := dst[k].(map[string]interface{}); ok {
				mergeInto(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// TestTenantPoliciesRejectAndAdmit: each policy of deploy/policies rejects what it should with a
// message naming the field, and the samples pass all of them.
func TestTenantPoliciesRejectAndAdmit(t *testing.T) {
	ns := policyNamespace(t)
	installPolicies(t, ns)

	rejected := []struct {
		name, fragment, message string
	}{
		{"External access", `{jobManager: {accessScope: External}}`, "spec.jobManager.accessScope: External is not allowed"},
		{"NodePort access", `{jobManager: {accessScope: NodePort}}`, "spec.jobManager.accessScope: NodePort is not allowed"},
		{"an ingress annotation outside the list", `{jobManager: {ingress: {hostFormat: "{{$clusterName}}.example.com", annotations: {"nginx.ingress.kubernetes.io/configuration-snippet": "x", "cert-manager.io/issuer": "le"}}}}`,
			"spec.jobManager.ingress.annotations: nginx.ingress.kubernetes.io/configuration-snippet not allowed"},
		{"a hostPath volume", `{taskManager: {volumes: [{name: host, hostPath: {path: /var/run}}]}}`, "spec.taskManager.volumes: hostPath volumes are not allowed"},
		{"a hostPath job volume", `{job: {volumes: [{name: host, hostPath: {path: /}}]}}`, "spec.job.volumes: hostPath volumes are not allowed"},
		{"a privileged sidecar", `{jobManager: {sidecars: [{name: s, image: busybox, securityContext: {privileged: true}}]}}`, "spec.jobManager.sidecars: privileged containers are not allowed"},
		{"a privileged job init container", `{job: {initContainers: [{name: i, image: busybox, securityContext: {privileged: true}}]}}`, "spec.job.initContainers: privileged containers are not allowed"},
	}
	for _, tc := range rejected {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			manifest := withSpec(t, tc.fragment)
			// Policies take effect asynchronously after they are created: wait for the first
			// rejection, then check its message.
			var err error
			require.Eventually(t, func() bool { err = dryRunFC(ns, manifest.DeepCopy()); return deniedByPolicy(err) },
				30*time.Second, 200*time.Millisecond, "a rejection; last answer: %v", err)
			assert.Contains(t, err.Error(), tc.message)
		})
	}

	t.Run("admits the samples and the allowed alternatives", func(t *testing.T) {
		samples, err := filepath.Glob(filepath.Join(env.root, "deploy", "samples", "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, samples)
		for _, f := range samples {
			assert.NoError(t, dryRunFC(ns, readYAMLFile(t, f)), filepath.Base(f))
		}
		for _, fragment := range []string{
			`{jobManager: {accessScope: VPC}}`,
			`{jobManager: {ingress: {hostFormat: "{{$clusterName}}.example.com", annotations: {"cert-manager.io/cluster-issuer": "le"}}}}`,
			`{taskManager: {volumes: [{name: scratch, emptyDir: {}}]}, jobManager: {sidecars: [{name: s, image: busybox, securityContext: {privileged: false}}]}}`,
		} {
			assert.NoError(t, dryRunFC(ns, withSpec(t, fragment)), fragment)
		}
	})

	t.Run("a trusted tenant namespace is exempt", func(t *testing.T) {
		trusted := policyNamespace(t, "flinkoperator.k8s.io/trusted-tenant=true")
		assert.NoError(t, dryRunFC(trusted, withSpec(t, `{jobManager: {accessScope: External}}`)))
	})
}

// TestOperatorPolicyLimitsTheServiceAccount: the operator's ServiceAccount may write only objects
// labelled as the operator's (the children it builds pass), and delete Flink's HA ConfigMaps.
func TestOperatorPolicyLimitsTheServiceAccount(t *testing.T) {
	ns := policyNamespace(t)
	installPolicies(t, ns)
	ctx := context.Background()
	asOperator := kubernetes.NewForConfigOrDie(operatorConfig()).CoreV1().ConfigMaps(ns)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "team-settings", Namespace: ns}, Data: map[string]string{"a": "b"}}
	_, err := env.kube.CoreV1().ConfigMaps(ns).Create(ctx, foreign, metav1.CreateOptions{})
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		_, err = asOperator.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled"}}, dryRun)
		return deniedByPolicy(err)
	}, 30*time.Second, 200*time.Millisecond, "the policy to reject an unlabelled ConfigMap; last answer: %v", err)
	assert.Contains(t, err.Error(), "may only CREATE objects labelled app.kubernetes.io/managed-by=flink-operator")

	t.Run("no delete of a foreign object", func(t *testing.T) {
		err := asOperator.Delete(ctx, foreign.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		assert.True(t, deniedByPolicy(err), "%v", err)
	})
	t.Run("no takeover by adding the label", func(t *testing.T) {
		cm, err := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, foreign.Name, metav1.GetOptions{})
		require.NoError(t, err)
		cm.Labels = map[string]string{"app.kubernetes.io/managed-by": "flink-operator"}
		_, err = asOperator.Update(ctx, cm, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		assert.True(t, deniedByPolicy(err), "%v", err)
	})
	t.Run("Flink's HA ConfigMaps may be deleted, not created or changed", func(t *testing.T) {
		// As Flink 2.x labels them (1.x adds configmap-type=high-availability).
		ha := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "flink-0b2a6a4e-cluster-config-map", Namespace: ns,
			Labels: map[string]string{"app": "flink-0b2a6a4e", "type": "flink-native-kubernetes"}}}
		_, err := env.kube.CoreV1().ConfigMaps(ns).Create(ctx, ha, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.NoError(t, asOperator.Delete(ctx, ha.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}))
		other := ha.DeepCopy()
		other.Name, other.ResourceVersion = "flink-0b2a6a4e-other-config-map", ""
		_, err = asOperator.Create(ctx, other, dryRun)
		assert.True(t, deniedByPolicy(err), "create: %v", err)
		cur, err := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, ha.Name, metav1.GetOptions{})
		require.NoError(t, err)
		cur.Data = map[string]string{"leader": "operator"}
		_, err = asOperator.Update(ctx, cur, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		assert.True(t, deniedByPolicy(err), "update: %v", err)
	})
	t.Run("the children the operator builds are admitted", func(t *testing.T) {
		// A dry-run create returns the object with the API server's defaults, as the operator
		// reads it.
		defaulted, err := env.dynamic.Resource(fcResource).Namespace(ns).Create(ctx, fromYAML(t, minimalJobCluster), dryRun)
		require.NoError(t, err)
		var fc v1beta1.FlinkCluster
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(defaulted.Object, &fc))
		fc.Namespace, fc.UID = ns, "0b2a6a4e-5a51-4a0c-9a0e-000000000001"
		c, err := desired.Build(&fc, desired.Env{})
		require.NoError(t, err)
		asOperatorKube := kubernetes.NewForConfigOrDie(operatorConfig())
		_, err = asOperatorKube.CoreV1().ConfigMaps(ns).Create(ctx, c.ConfigMap, dryRun)
		assert.NoError(t, err, "ConfigMap")
		_, err = asOperatorKube.CoreV1().Services(ns).Create(ctx, c.JobManagerService, dryRun)
		assert.NoError(t, err, "Service")
		_, err = asOperatorKube.AppsV1().Deployments(ns).Create(ctx, c.JobManagerDeployment, dryRun)
		assert.NoError(t, err, "Deployment")
		_, err = asOperatorKube.BatchV1().Jobs(ns).Create(ctx, desired.Submitter(&fc, desired.SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"}), dryRun)
		assert.NoError(t, err, "submitter Job")
	})
}
