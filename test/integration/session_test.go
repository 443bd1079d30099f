//go:build integration

package integration

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
)

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, timeout, 250*time.Millisecond, "timed out waiting for %s", what)
}

func getFC(t *testing.T, ns, name string) *v1beta1.FlinkCluster {
	t.Helper()
	fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return fc
}

func clusterState(ns, name string) func() bool {
	return func() bool {
		fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && fc.Status.State == v1beta1.ClusterStateRunning && fc.Status.ObservedGeneration == fc.Generation
	}
}

// TestSessionClusterLifecycle runs the session sample through its life on the real control plane:
// Running, scaled, changed, deleted (children removed by the real garbage collector).
func TestSessionClusterLifecycle(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	_, err := createStrict(ctx, ns, readYAMLFile(t, filepath.Join(env.root, "deploy", "samples", "session-cluster.yaml")))
	require.NoError(t, err)
	waitFor(t, 60*time.Second, "the session cluster to be Running", clusterState(ns, "session"))

	jm, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "session-jobmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"/opt/flink/bin/jobmanager.sh", "start-foreground"}, jm.Spec.Template.Spec.Containers[0].Command)
	svc, err := env.kube.CoreV1().Services(ns).Get(ctx, "session-jobmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	assert.Len(t, svc.Spec.Ports, 4)
	cm, err := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, "session-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, cm.Data[desired.FlinkConfV2Key], `taskmanager.numberOfTaskSlots: "2"`)
	fc := getFC(t, ns, "session")
	assert.Equal(t, v1beta1.ComponentStateReady, fc.Status.Components.JobManagerDeployment.State)
	assert.Equal(t, int32(2), fc.Status.Components.TaskManagerDeployment.Replicas)

	t.Run("scale through the scale subresource", func(t *testing.T) {
		_, err := kubectl(ctx, "scale", "-n", ns, "fc/session", "--replicas=3")
		require.NoError(t, err)
		waitFor(t, 60*time.Second, "3 ready TaskManagers", func() bool {
			fc := getFC(t, ns, "session")
			return fc.Status.Components.TaskManagerDeployment.Replicas == 3 && clusterState(ns, "session")()
		})
		out, err := kubectl(ctx, "get", "fc/session", "-n", ns)
		require.NoError(t, err)
		assert.Contains(t, out, "Running")
	})

	t.Run("a spec change rolls out", func(t *testing.T) {
		before := jm.Spec.Template.Annotations[desired.ConfigHashAnnotation]
		_, err := kubectl(ctx, "patch", "-n", ns, "fc/session", "--type=merge", "-p", `{"spec":{"flinkProperties":{"taskmanager.numberOfTaskSlots":"4"}}}`)
		require.NoError(t, err)
		waitFor(t, 60*time.Second, "the new configuration to roll out", func() bool {
			d, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "session-jobmanager", metav1.GetOptions{})
			return err == nil && d.Spec.Template.Annotations[desired.ConfigHashAnnotation] != before && clusterState(ns, "session")()
		})
	})

	t.Run("deleting removes every child", func(t *testing.T) {
		require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "session", metav1.DeleteOptions{}))
		waitFor(t, 60*time.Second, "the garbage collector to remove the children", func() bool {
			_, e1 := env.kube.AppsV1().Deployments(ns).Get(ctx, "session-jobmanager", metav1.GetOptions{})
			_, e2 := env.kube.AppsV1().Deployments(ns).Get(ctx, "session-taskmanager", metav1.GetOptions{})
			_, e3 := env.kube.CoreV1().Services(ns).Get(ctx, "session-jobmanager", metav1.GetOptions{})
			_, e4 := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, "session-configmap", metav1.GetOptions{})
			return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2) && apierrors.IsNotFound(e3) && apierrors.IsNotFound(e4)
		})
	})
}

// TestIngressURLInStatus checks the Ingress and the URL status reports.
func TestIngressURLInStatus(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := fromYAML(t, minimalSessionCluster)
	setPath(obj.Object, "spec.jobManager.ingress", map[string]interface{}{
		"hostFormat": "{{$clusterName}}.flink.example.com", "useTLS": true, "tlsSecretName": "tls"})
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	waitFor(t, 60*time.Second, "the cluster with an ingress to be Running", clusterState(ns, "session"))
	ing, err := env.kube.NetworkingV1().Ingresses(ns).Get(ctx, "session-jobmanager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "session.flink.example.com", ing.Spec.Rules[0].Host)
	assert.Equal(t, "tls", ing.Spec.TLS[0].SecretName)
	assert.Equal(t, []string{"https://session.flink.example.com"}, getFC(t, ns, "session").Status.Components.JobManagerIngress.URLs)
}
