//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// schedulingCluster is a session cluster with the later versions' pod fields on both components,
// a disruption budget and a TaskManager autoscaler whose lower bound is above the replicas.
const schedulingCluster = `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: scheduled
spec:
  image:
    name: flink:2.1
  podDisruptionBudget:
    maxUnavailable: 1
  jobManager:
    priorityClassName: it-streaming
    runtimeClassName: it-runtime
    hostAliases:
    - ip: 10.1.2.3
      hostnames: [metastore.internal]
    terminationGracePeriodSeconds: 90
    podTemplate:
      metadata:
        labels: {team: payments}
      spec:
        enableServiceLinks: false
        readinessGates:
        - conditionType: example.com/warm
    affinity:
      nodeAffinity:
        preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 10
          preference:
            matchExpressions:
            - {key: type, operator: In, values: [kwok]}
    resources:
      limits: {memory: 2Gi, cpu: "1"}
  taskManager:
    replicas: 1
    priorityClassName: it-streaming
    topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          app.kubernetes.io/instance: scheduled
          app.kubernetes.io/component: taskmanager
    dnsPolicy: None
    dnsConfig:
      nameservers: [10.0.0.10]
    horizontalPodAutoscaler:
      minReplicas: 2
      maxReplicas: 4
    resources:
      limits: {memory: 2Gi, cpu: "1"}
`

// TestSchedulingFieldsDisruptionBudgetAndAutoscaler runs the later versions' pod fields through
// the real admission chain (the PriorityClass and RuntimeClass are resolved into the pods), the
// disruption budget through the real disruption controller (it counts the JobManager and
// TaskManager pods, not another cluster's), and the autoscaler through the real HPA controller:
// it reads the FlinkCluster's scale subresource, enforces its lower bound by writing
// spec.taskManager.replicas, and the operator scales the TaskManagers without writing the
// replicas back.
func TestSchedulingFieldsDisruptionBudgetAndAutoscaler(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	priorities, runtimes := env.kube.SchedulingV1().PriorityClasses(), env.kube.NodeV1().RuntimeClasses()
	createClusterScoped(t, func(ctx context.Context) error {
		_, err := priorities.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "it-streaming"}, Value: 1000}, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error { return priorities.Delete(ctx, "it-streaming", metav1.DeleteOptions{}) })
	createClusterScoped(t, func(ctx context.Context) error {
		_, err := runtimes.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "it-runtime"}, Handler: "runc"}, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error { return runtimes.Delete(ctx, "it-runtime", metav1.DeleteOptions{}) })
	_, err := createStrict(ctx, ns, fromYAML(t, schedulingCluster))
	require.NoError(t, err)

	t.Run("the pods carry the fields", func(t *testing.T) {
		jm := waitForPod(t, ns, "jobmanager")
		assert.Equal(t, "it-streaming", jm.Spec.PriorityClassName)
		require.NotNil(t, jm.Spec.Priority, "the Priority admission plugin resolved the class")
		assert.Equal(t, int32(1000), *jm.Spec.Priority)
		assert.Equal(t, "it-runtime", *jm.Spec.RuntimeClassName)
		assert.Equal(t, []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"metastore.internal"}}}, jm.Spec.HostAliases)
		assert.Equal(t, int64(90), *jm.Spec.TerminationGracePeriodSeconds)
		require.NotNil(t, jm.Spec.EnableServiceLinks, "podTemplate.spec")
		assert.False(t, *jm.Spec.EnableServiceLinks)
		assert.Equal(t, "example.com/warm", string(jm.Spec.ReadinessGates[0].ConditionType))
		assert.Equal(t, "payments", jm.Labels["team"], "podTemplate.metadata")
		require.NotNil(t, jm.Spec.Affinity)
		assert.Len(t, jm.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution, 1)
		tm := waitForPod(t, ns, "taskmanager")
		assert.Equal(t, corev1.DNSNone, tm.Spec.DNSPolicy)
		assert.Equal(t, []string{"10.0.0.10"}, tm.Spec.DNSConfig.Nameservers)
		assert.Len(t, tm.Spec.TopologySpreadConstraints, 1)
		assert.Equal(t, "it-streaming", tm.Spec.PriorityClassName)
	})

	t.Run("the autoscaler is the writer of the TaskManager replicas", func(t *testing.T) {
		waitFor(t, 90*time.Second, "the autoscaler to raise the TaskManagers to its minimum of 2", func() bool {
			fc := getFC(t, ns, "scheduled")
			return fc.Spec.TaskManager.Replicas == 2 && fc.Status.Components.TaskManagerDeployment.Replicas == 2
		})
		hpa, err := env.kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "scheduled-taskmanager", metav1.GetOptions{})
		require.NoError(t, err)
		able := hpaCondition(hpa, autoscalingv2.AbleToScale)
		require.NotNil(t, able, "the autoscaler reports whether it can read and write the scale")
		assert.Equal(t, corev1.ConditionTrue, able.Status, "%s: %s", able.Reason, able.Message)
		waitFor(t, 30*time.Second, "the cluster to settle", clusterState(ns, "scheduled"))
		// The operator writes the Deployment's scale, never the FlinkCluster's replicas: they
		// stay at the autoscaler's value.
		time.Sleep(3 * time.Second)
		assert.Equal(t, int32(2), getFC(t, ns, "scheduled").Spec.TaskManager.Replicas)
	})

	t.Run("the disruption budget counts the cluster's JobManager and TaskManagers", func(t *testing.T) {
		waitFor(t, 60*time.Second, "the disruption controller to count 3 pods and allow 1 disruption", func() bool {
			pdb, err := env.kube.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "scheduled-pdb", metav1.GetOptions{})
			return err == nil && pdb.Status.ExpectedPods == 3 && pdb.Status.CurrentHealthy == 3 && pdb.Status.DisruptionsAllowed == 1
		})
	})

	t.Run("a pod template that sets what the operator owns is named, not applied", func(t *testing.T) {
		_, err := kubectl(ctx, "patch", "-n", ns, "fc/scheduled", "--type=merge", "-p",
			`{"spec":{"taskManager":{"podTemplate":{"spec":{"volumes":[{"name":"x","emptyDir":{}}]}}}}}`)
		require.NoError(t, err, "the API server stores a template schemaless")
		waitFor(t, 30*time.Second, "the InvalidSpec condition", func() bool {
			fc := getFC(t, ns, "scheduled")
			ready := meta.FindStatusCondition(fc.Status.Conditions, "Ready")
			return ready != nil && ready.Reason == "InvalidSpec" &&
				strings.Contains(ready.Message, "spec.taskManager.podTemplate.spec.volumes: not allowed in a pod template")
		})
		tm, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "scheduled-taskmanager", metav1.GetOptions{})
		require.NoError(t, err)
		for _, v := range tm.Spec.Template.Spec.Volumes {
			assert.NotEqual(t, "x", v.Name, "nothing of an invalid spec is applied")
		}
		_, err = kubectl(ctx, "patch", "-n", ns, "fc/scheduled", "--type=json", "-p", `[{"op":"remove","path":"/spec/taskManager/podTemplate"}]`)
		require.NoError(t, err)
		waitFor(t, 30*time.Second, "the cluster to be Running again", clusterState(ns, "scheduled"))
	})

	t.Run("removed from the spec, they are deleted", func(t *testing.T) {
		_, err := kubectl(ctx, "patch", "-n", ns, "fc/scheduled", "--type=json", "-p",
			`[{"op":"remove","path":"/spec/podDisruptionBudget"},{"op":"remove","path":"/spec/taskManager/horizontalPodAutoscaler"}]`)
		require.NoError(t, err)
		waitFor(t, 30*time.Second, "the budget and the autoscaler to be deleted", func() bool {
			_, errPDB := env.kube.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "scheduled-pdb", metav1.GetOptions{})
			_, errHPA := env.kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "scheduled-taskmanager", metav1.GetOptions{})
			return apierrors.IsNotFound(errPDB) && apierrors.IsNotFound(errHPA)
		})
	})
}

// createClusterScoped creates a cluster-scoped object (already there is fine: tests share the
// control plane) and deletes it when the test ends.
func createClusterScoped(t *testing.T, create, del func(context.Context) error) {
	t.Helper()
	if err := create(context.Background()); !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	t.Cleanup(func() { _ = del(context.Background()) })
}

// waitForPod waits for a pod of the component in ns and returns it.
func waitForPod(t *testing.T, ns, component string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	selector := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/component": component}).String()
	waitFor(t, 60*time.Second, "a "+component+" pod", func() bool {
		pods, err := env.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(pods.Items) == 0 {
			return false
		}
		pod = &pods.Items[0]
		return true
	})
	return pod
}

func hpaCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, kind autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
	for i := range hpa.Status.Conditions {
		if hpa.Status.Conditions[i].Type == kind {
			return &hpa.Status.Conditions[i]
		}
	}
	return nil
}
