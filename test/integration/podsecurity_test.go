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
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// restrictedJobCluster has a user init container and sidecars without any securityContext, as
// most manifests have them: the operator's defaults must cover them too.
const restrictedJobCluster = `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: restricted
spec:
  image:
    name: flink:2.1
  jobManager:
    sidecars:
    - name: log-shipper
      image: fluent/fluent-bit:3.0
  taskManager:
    replicas: 2
    initContainers:
    - name: fetch-plugins
      image: busybox
  job:
    jarFile: /opt/flink/examples/streaming/StateMachineExample.jar
    className: org.apache.flink.streaming.examples.statemachine.StateMachineExample
    initContainers:
    - name: fetch-jar
      image: busybox
`

// restrictedNamespace is a namespace where Pod Security admission enforces the restricted level.
func restrictedNamespace(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t)
	_, err := kubectl(context.Background(), "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
	require.NoError(t, err)
	return ns
}

// failedCreates are the FailedCreate events of the namespace: admission rejects pods, not their
// Deployments or Jobs, so a rejected pod shows only here.
func failedCreates(t *testing.T, ns string) []string {
	t.Helper()
	events, err := env.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
	require.NoError(t, err)
	var out []string
	for _, e := range events.Items {
		out = append(out, fmt.Sprintf("%s/%s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message))
	}
	return out
}

func componentPods(t *testing.T, ns, cluster, component string) []corev1.Pod {
	t.Helper()
	pods, err := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: names.LabelInstance + "=" + cluster + "," + names.LabelComponent + "=" + component,
	})
	require.NoError(t, err)
	return pods.Items
}

// TestEveryPodPassesRestrictedPodSecurity: in a namespace that enforces the restricted level,
// every pod of a job cluster is admitted and the job runs; with podSecurityDefaults None the same
// cluster's pods are rejected, which shows the namespace really enforces it.
func TestEveryPodPassesRestrictedPodSecurity(t *testing.T) {
	ns := restrictedNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, fromYAML(t, restrictedJobCluster))
	require.NoError(t, err)

	waitJob(t, ns, "restricted", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	want := map[string]int{names.ComponentJobManager: 1, names.ComponentTaskManager: 2, names.ComponentSubmitter: 1}
	for component, n := range want {
		waitFor(t, 30*time.Second, fmt.Sprintf("%d %s pod(s)", n, component), func() bool {
			return len(componentPods(t, ns, "restricted", component)) >= n
		})
		for _, pod := range componentPods(t, ns, "restricted", component) {
			assert.Equal(t, v1beta1.FlinkUID, *pod.Spec.SecurityContext.RunAsUser, pod.Name)
		}
	}
	assert.Empty(t, failedCreates(t, ns))

	t.Run("None is rejected by the same namespace", func(t *testing.T) {
		ns := restrictedNamespace(t)
		manifest := strings.Replace(restrictedJobCluster, "spec:\n", "spec:\n  podSecurityDefaults: None\n", 1)
		_, err := createStrict(ctx, ns, fromYAML(t, manifest))
		require.NoError(t, err)
		waitFor(t, 60*time.Second, "the JobManager pods to be rejected", func() bool {
			return strings.Contains(strings.Join(failedCreates(t, ns), "\n"), "violates PodSecurity \"restricted")
		})
		assert.Empty(t, componentPods(t, ns, "restricted", names.ComponentJobManager))
	})
}

// TestNetworkPolicyShape: spec.networkPolicy makes the operator create a NetworkPolicy the API
// server accepts, with the rules docs/api.md describes, and remove it when disabled. The local
// cluster has no network plugin, so nothing enforces it here; the rules are what is tested.
func TestNetworkPolicyShape(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	manifest := strings.Replace(minimalJobCluster, "spec:\n", `spec:
  networkPolicy:
    enabled: true
    restFrom:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: ingress-nginx
`, 1)
	_, err := createStrict(ctx, ns, fromYAML(t, manifest))
	require.NoError(t, err)
	var np *networkingv1.NetworkPolicy
	waitFor(t, 30*time.Second, "the NetworkPolicy", func() bool {
		np, err = env.kube.NetworkingV1().NetworkPolicies(ns).Get(ctx, "minimal-network-policy", metav1.GetOptions{})
		return err == nil
	})
	assert.Equal(t, map[string]string{names.LabelCluster: "minimal"}, np.Spec.PodSelector.MatchLabels)
	require.Len(t, np.Spec.Ingress, 3, "own pods, the operator's namespace, restFrom")
	assert.Empty(t, np.Spec.Ingress[0].Ports, "the cluster's own pods reach every port")
	assert.Equal(t, "flink-operator-system", np.Spec.Ingress[1].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
	assert.Equal(t, "ui", np.Spec.Ingress[2].Ports[0].Port.StrVal)
	assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes)

	_, err = kubectl(ctx, "patch", "-n", ns, "fc/minimal", "--type=merge", "-p", `{"spec":{"networkPolicy":{"enabled":false}}}`)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the NetworkPolicy to be removed", func() bool {
		_, err := env.kube.NetworkingV1().NetworkPolicies(ns).Get(ctx, "minimal-network-policy", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
