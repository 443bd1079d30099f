//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// TestCompatCorpus applies every manifest of test/compat (written the way users of the original
// FlinkCluster operator wrote them) with strict field validation, each into a fresh namespace,
// and checks that what the operator builds carries the meaning of every field in it.
func TestCompatCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(env.root, "test", "compat", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15, "the corpus holds at least 15 manifests")

	manifests := map[string]*v1beta1.FlinkCluster{}
	for _, f := range files {
		obj := readYAMLFile(t, f)
		var fc v1beta1.FlinkCluster
		// Strict: every field of the manifest must be a field of the Go types the operator reads.
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, &fc, true), f)
		manifests[f] = &fc
	}
	labelNodesFor(t, manifests)

	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			t.Parallel()
			checkCompatManifest(t, f)
		})
	}
}

func checkCompatManifest(t *testing.T, file string) {
	ctx := context.Background()
	ns := newNamespace(t)
	manifest := readYAMLFile(t, file)
	var spec v1beta1.FlinkCluster
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(manifest.Object, &spec))
	if sa := spec.Spec.ServiceAccountName; sa != nil {
		_, err := env.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: *sa}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	created, err := createStrict(ctx, ns, manifest.DeepCopy())
	require.NoError(t, err, "kubectl apply --validate=strict of %s", filepath.Base(file))
	assertSubset(t, "spec", manifest.Object["spec"], created.Object["spec"])

	name := manifest.GetName()
	fc := getFC(t, ns, name) // with the API server's defaults
	c := waitChildren(t, ns, fc)
	checkConfigMap(t, fc, c.cm)
	jm, tm := fc.Spec.JobManager, fc.Spec.TaskManager
	checkPod(t, "jobmanager", fc, c.jmPod, podSide{
		main: "jobmanager", nodeSelector: jm.NodeSelector, tolerations: jm.Tolerations, annotations: jm.PodAnnotations,
		labels: jm.PodLabels, securityContext: jm.SecurityContext, initContainers: jm.InitContainers, sidecars: jm.Sidecars,
		volumes: jm.Volumes, mounts: jm.VolumeMounts, resources: jm.Resources, extraPorts: jm.ExtraPorts,
		liveness: jm.LivenessProbe, readiness: jm.ReadinessProbe, scheduling: jm.PodScheduling,
	})
	checkPod(t, "taskmanager", fc, c.tm.Spec.Template, podSide{
		main: "taskmanager", nodeSelector: tm.NodeSelector, tolerations: tm.Tolerations, annotations: tm.PodAnnotations,
		labels: tm.PodLabels, securityContext: tm.SecurityContext, initContainers: tm.InitContainers, sidecars: tm.Sidecars,
		volumes: tm.Volumes, mounts: tm.VolumeMounts, resources: tm.Resources, extraPorts: tm.ExtraPorts,
		liveness: tm.LivenessProbe, readiness: tm.ReadinessProbe, scheduling: tm.PodScheduling,
	})
	if c.jm != nil {
		assert.Equal(t, int32(1), *c.jm.Spec.Replicas, "one JobManager")
	}
	assert.Equal(t, tm.Replicas, *c.tm.Spec.Replicas, "taskManager.replicas")
	for _, d := range []*appsv1.Deployment{c.jm, c.tm} {
		if d != nil && fc.Spec.RevisionHistoryLimit != nil {
			assert.Equal(t, *fc.Spec.RevisionHistoryLimit, *d.Spec.RevisionHistoryLimit, "revisionHistoryLimit on %s", d.Name)
		}
	}
	checkService(t, fc, c.svc)
	checkIngress(t, fc, c.ing)

	switch {
	case fc.Spec.Job.ApplicationMode():
		checkApplicationJobManager(t, fc, c.jmPod)
	case fc.Spec.Job != nil:
		sub := waitSubmitter(t, ns, name)
		checkSubmitter(t, fc, sub)
	}
	waitFor(t, 90*time.Second, "the cluster to be Running", clusterState(ns, name))
	if jm.AccessScope == v1beta1.AccessScopeNodePort {
		waitFor(t, 30*time.Second, "the node port in status", func() bool {
			svc, err := env.kube.CoreV1().Services(ns).Get(ctx, names.JobManagerService(name), metav1.GetOptions{})
			if err != nil {
				return false
			}
			fc, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			got := fc.Status.Components.JobManagerService.NodePort
			return got != 0 && got == servicePortByName(svc, "ui").NodePort
		})
	}
	checkBudgetAndAutoscaler(t, ns, fc)
	checkPodsScheduled(t, ns, fc)
}

type childSet struct {
	cm     *corev1.ConfigMap
	jm, tm *appsv1.Deployment // jm is nil in application mode
	// jmPod is the JobManager's pod: the Deployment's, or in application mode the Job's.
	jmPod corev1.PodTemplateSpec
	svc   *corev1.Service
	ing   *networkingv1.Ingress
}

// waitChildren waits for the operator to create the ConfigMap, Deployments, Service and (when
// the spec has one) Ingress.
func waitChildren(t *testing.T, ns string, fc *v1beta1.FlinkCluster) childSet {
	ctx := context.Background()
	var c childSet
	waitFor(t, 60*time.Second, "the operator to create the children", func() bool {
		var err error
		if c.cm, err = env.kube.CoreV1().ConfigMaps(ns).Get(ctx, names.ConfigMap(fc.Name), metav1.GetOptions{}); err != nil {
			return false
		}
		if fc.Spec.Job.ApplicationMode() {
			jm, err := env.kube.BatchV1().Jobs(ns).Get(ctx, names.JobManagerDeployment(fc.Name), metav1.GetOptions{})
			if err != nil {
				return false
			}
			c.jmPod = jm.Spec.Template
		} else {
			if c.jm, err = env.kube.AppsV1().Deployments(ns).Get(ctx, names.JobManagerDeployment(fc.Name), metav1.GetOptions{}); err != nil {
				return false
			}
			c.jmPod = c.jm.Spec.Template
		}
		if c.tm, err = env.kube.AppsV1().Deployments(ns).Get(ctx, names.TaskManagerDeployment(fc.Name), metav1.GetOptions{}); err != nil {
			return false
		}
		if c.svc, err = env.kube.CoreV1().Services(ns).Get(ctx, names.JobManagerService(fc.Name), metav1.GetOptions{}); err != nil {
			return false
		}
		if fc.Spec.JobManager.Ingress != nil {
			if c.ing, err = env.kube.NetworkingV1().Ingresses(ns).Get(ctx, names.JobManagerIngress(fc.Name), metav1.GetOptions{}); err != nil {
				return false
			}
		}
		return true
	})
	return c
}

func waitSubmitter(t *testing.T, ns, name string) *batchv1.Job {
	var job *batchv1.Job
	waitFor(t, 90*time.Second, "the operator to create the job submitter", func() bool {
		var err error
		job, err = env.kube.BatchV1().Jobs(ns).Get(context.Background(), names.Submitter(name), metav1.GetOptions{})
		return err == nil
	})
	return job
}

// podSide is what the spec says about one component's pods.
type podSide struct {
	main            string
	nodeSelector    map[string]string
	tolerations     []corev1.Toleration
	annotations     map[string]string
	labels          map[string]string
	securityContext *corev1.PodSecurityContext
	initContainers  []corev1.Container
	sidecars        []corev1.Container
	volumes         []corev1.Volume
	mounts          []corev1.VolumeMount
	resources       corev1.ResourceRequirements
	extraPorts      []v1beta1.NamedPort
	liveness        *corev1.Probe
	readiness       *corev1.Probe
	scheduling      v1beta1.PodScheduling
}

// checkPod checks a pod template against the spec: cluster-wide fields (image, service account,
// environment, Hadoop and GCP config) and the component's own.
func checkPod(t *testing.T, what string, fc *v1beta1.FlinkCluster, pod corev1.PodTemplateSpec, want podSide) {
	t.Helper()
	spec := pod.Spec
	main := containerNamed(spec.Containers, want.main)
	require.NotNil(t, main, "%s: the %s container", what, want.main)

	assert.Equal(t, fc.Spec.Image.Name, main.Image, "%s: image.name", what)
	if fc.Spec.Image.PullPolicy != "" {
		assert.Equal(t, fc.Spec.Image.PullPolicy, main.ImagePullPolicy, "%s: image.pullPolicy", what)
	}
	assert.Equal(t, fc.Spec.Image.PullSecrets, nilIfEmpty(spec.ImagePullSecrets), "%s: image.pullSecrets", what)
	if fc.Spec.ServiceAccountName != nil {
		assert.Equal(t, *fc.Spec.ServiceAccountName, spec.ServiceAccountName, "%s: serviceAccountName", what)
	}
	for _, e := range fc.Spec.EnvVars {
		got := envNamed(main.Env, e.Name)
		if assert.NotNil(t, got, "%s: envVars %s", what, e.Name) {
			assert.Equal(t, e.Value, got.Value, "%s: envVars %s", what, e.Name)
			assert.Equal(t, e.ValueFrom != nil, got.ValueFrom != nil, "%s: envVars %s valueFrom", what, e.Name)
		}
	}
	if assert.Len(t, main.EnvFrom, len(fc.Spec.EnvFrom), "%s: envFrom", what) {
		for i, e := range fc.Spec.EnvFrom {
			assert.True(t, equality.Semantic.DeepEqual(e, main.EnvFrom[i]), "%s: envFrom[%d]", what, i)
		}
	}
	if hc := fc.Spec.HadoopConfig; hc != nil {
		assert.Equal(t, hc.MountPath, envValue(main.Env, "HADOOP_CONF_DIR"), "%s: hadoopConfig.mountPath", what)
		assert.True(t, hasVolume(spec.Volumes, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == hc.ConfigMapName }), "%s: hadoopConfig.configMapName", what)
		assert.True(t, hasMountPath(main.VolumeMounts, hc.MountPath), "%s: hadoopConfig mount", what)
	}
	if gcp := fc.Spec.GCPConfig; gcp != nil && gcp.ServiceAccount != nil {
		sa := gcp.ServiceAccount
		assert.Equal(t, path.Join(sa.MountPath, sa.KeyFile), envValue(main.Env, "GOOGLE_APPLICATION_CREDENTIALS"), "%s: gcpConfig key file", what)
		assert.True(t, hasVolume(spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == sa.SecretName }), "%s: gcpConfig.serviceAccount.secretName", what)
		assert.True(t, hasMountPath(main.VolumeMounts, sa.MountPath), "%s: gcpConfig mount", what)
	}

	assert.Equal(t, len(want.nodeSelector), len(spec.NodeSelector), "%s: nodeSelector", what)
	for k, v := range want.nodeSelector {
		assert.Equal(t, v, spec.NodeSelector[k], "%s: nodeSelector %s", what, k)
	}
	for _, tol := range want.tolerations {
		assert.Contains(t, spec.Tolerations, tol, "%s: tolerations", what)
	}
	for k, v := range want.annotations {
		assert.Equal(t, v, pod.Annotations[k], "%s: podAnnotations %s", what, k)
	}
	for k, v := range want.labels {
		assert.Equal(t, v, pod.Labels[k], "%s: podLabels %s", what, k)
	}
	assert.Equal(t, fc.Name, pod.Labels[names.LabelCluster], "%s: the operator's selector label stays", what)
	checkScheduling(t, what, spec, want.scheduling)
	// Every field the manifest sets is kept; the restricted defaults fill the others
	// (docs/api.md, "Pod security").
	if want.securityContext != nil {
		wantSC, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want.securityContext)
		require.NoError(t, err)
		gotSC, err := runtime.DefaultUnstructuredConverter.ToUnstructured(spec.SecurityContext)
		require.NoError(t, err)
		assertSubset(t, what+": securityContext", wantSC, gotSC)
	}
	if assert.NotNil(t, spec.SecurityContext, "%s: securityContext", what) {
		assert.True(t, *spec.SecurityContext.RunAsNonRoot, "%s: runAsNonRoot", what)
	}
	for _, ic := range want.initContainers {
		got := containerNamed(spec.InitContainers, ic.Name)
		if assert.NotNil(t, got, "%s: initContainers %s", what, ic.Name) {
			assert.Equal(t, ic.Image, got.Image, "%s: initContainers %s image", what, ic.Name)
			assert.Equal(t, ic.Command, got.Command, "%s: initContainers %s command", what, ic.Name)
			assert.Equal(t, ic.Args, got.Args, "%s: initContainers %s args", what, ic.Name)
		}
	}
	for _, sc := range want.sidecars {
		got := containerNamed(spec.Containers, sc.Name)
		if assert.NotNil(t, got, "%s: sidecars %s", what, sc.Name) {
			assert.Equal(t, sc.Image, got.Image, "%s: sidecars %s", what, sc.Name)
			assert.Equal(t, sc.Args, got.Args, "%s: sidecars %s args", what, sc.Name)
			assert.Equal(t, len(sc.VolumeMounts), len(got.VolumeMounts), "%s: sidecars %s mounts", what, sc.Name)
		}
	}
	for _, v := range want.volumes {
		assert.True(t, hasVolume(spec.Volumes, func(got corev1.Volume) bool { return got.Name == v.Name }), "%s: volumes %s", what, v.Name)
	}
	for _, m := range want.mounts {
		assert.True(t, hasMountPath(main.VolumeMounts, m.MountPath), "%s: volumeMounts %s", what, m.MountPath)
	}
	assertResources(t, what, want.resources, main.Resources)
	for _, p := range want.extraPorts {
		assert.True(t, hasContainerPort(main.Ports, p), "%s: extraPorts %d", what, p.ContainerPort)
	}
	checkProbe(t, what+": livenessProbe", want.liveness, main.LivenessProbe)
	checkProbe(t, what+": readinessProbe", want.readiness, main.ReadinessProbe)
}

// checkProbe: each timing field the spec sets is the container's.
func checkProbe(t *testing.T, what string, want, got *corev1.Probe) {
	t.Helper()
	if want == nil {
		return
	}
	require.NotNil(t, got, what)
	for _, f := range []struct {
		name      string
		want, got int32
	}{
		{"initialDelaySeconds", want.InitialDelaySeconds, got.InitialDelaySeconds}, {"periodSeconds", want.PeriodSeconds, got.PeriodSeconds},
		{"timeoutSeconds", want.TimeoutSeconds, got.TimeoutSeconds}, {"failureThreshold", want.FailureThreshold, got.FailureThreshold},
	} {
		if f.want != 0 {
			assert.Equal(t, f.want, f.got, "%s.%s", what, f.name)
		}
	}
	assert.True(t, got.TCPSocket != nil || got.HTTPGet != nil || got.Exec != nil || got.GRPC != nil, "%s keeps a handler", what)
}

func checkConfigMap(t *testing.T, fc *v1beta1.FlinkCluster, cm *corev1.ConfigMap) {
	t.Helper()
	conf := cm.Data[desired.FlinkConfV2Key]
	for k, v := range fc.Spec.FlinkProperties {
		assert.Contains(t, conf, k+": "+strconv.Quote(string(v)), "flinkProperties %s", k)
	}
	if job := fc.Spec.Job; job != nil && job.SavepointsDir != nil {
		assert.Contains(t, conf, "state.savepoints.dir: "+strconv.Quote(*job.SavepointsDir), "job.savepointsDir")
	}
	for name, content := range fc.Spec.LogConfig {
		assert.Equal(t, content, cm.Data[name], "logConfig %s", name)
	}
	if job := fc.Spec.Job; job != nil && job.NoLoggingToStdout != nil && *job.NoLoggingToStdout {
		assert.Contains(t, cm.Data[desired.Log4jCLIKey], "rootLogger.level = OFF", "job.noLoggingToStdout")
	}
	for side, s := range map[string]struct {
		ratio *int32
		res   corev1.ResourceRequirements
	}{"jobmanager": {fc.Spec.JobManager.MemoryProcessRatio, fc.Spec.JobManager.Resources}, "taskmanager": {fc.Spec.TaskManager.MemoryProcessRatio, fc.Spec.TaskManager.Resources}} {
		if s.ratio == nil {
			continue
		}
		limit := s.res.Limits.Memory()
		if limit.IsZero() {
			limit = s.res.Requests.Memory()
		}
		want := fmt.Sprintf("%s.memory.process.size: \"%dm\"", side, limit.Value()*int64(*s.ratio)/100/(1<<20))
		assert.Contains(t, conf, want, "%s memoryProcessRatio", side)
	}
}

func checkService(t *testing.T, fc *v1beta1.FlinkCluster, svc *corev1.Service) {
	t.Helper()
	jm := fc.Spec.JobManager
	switch jm.AccessScope {
	case v1beta1.AccessScopeCluster:
		assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
		assert.NotEqual(t, corev1.ClusterIPNone, svc.Spec.ClusterIP)
	case v1beta1.AccessScopeVPC:
		assert.Equal(t, corev1.ServiceTypeLoadBalancer, svc.Spec.Type)
		assert.Equal(t, "Internal", svc.Annotations["networking.gke.io/load-balancer-type"], "accessScope VPC: an internal load balancer")
	case v1beta1.AccessScopeExternal:
		assert.Equal(t, corev1.ServiceTypeLoadBalancer, svc.Spec.Type)
	case v1beta1.AccessScopeNodePort:
		assert.Equal(t, corev1.ServiceTypeNodePort, svc.Spec.Type)
	case v1beta1.AccessScopeHeadless:
		assert.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP)
	default:
		t.Errorf("unexpected accessScope %q", jm.AccessScope)
	}
	for name, p := range map[string]*int32{"rpc": jm.Ports.RPC, "blob": jm.Ports.Blob, "query": jm.Ports.Query, "ui": jm.Ports.UI} {
		assert.Equal(t, *p, servicePortByName(svc, name).Port, "jobManager.ports.%s", name)
	}
	for _, p := range jm.ExtraPorts {
		found := false
		for _, sp := range svc.Spec.Ports {
			found = found || (sp.Port == p.ContainerPort && sp.Protocol == p.Protocol)
		}
		assert.True(t, found, "jobManager.extraPorts %d on the Service", p.ContainerPort)
	}
	for k, v := range jm.ServiceAnnotations {
		assert.Equal(t, v, svc.Annotations[k], "ServiceAnnotations %s", k)
	}
	for k, v := range jm.ServiceLabels {
		assert.Equal(t, v, svc.Labels[k], "ServiceLabels %s", k)
	}
}

func checkIngress(t *testing.T, fc *v1beta1.FlinkCluster, ing *networkingv1.Ingress) {
	t.Helper()
	spec := fc.Spec.JobManager.Ingress
	if spec == nil {
		return
	}
	require.NotNil(t, ing)
	if spec.HostFormat != nil {
		assert.Equal(t, strings.ReplaceAll(*spec.HostFormat, "{{$clusterName}}", fc.Name), ing.Spec.Rules[0].Host, "ingress.hostFormat")
	}
	for k, v := range spec.Annotations {
		assert.Equal(t, v, ing.Annotations[k], "ingress.annotations %s", k)
	}
	assert.Equal(t, spec.IngressClassName, ing.Spec.IngressClassName, "ingress.ingressClassName")
	if spec.TLSEnabled() {
		if assert.Len(t, ing.Spec.TLS, 1, "ingress.useTls") {
			want := ""
			if spec.TLSSecretName != nil {
				want = *spec.TLSSecretName
			}
			assert.Equal(t, want, ing.Spec.TLS[0].SecretName, "ingress.tlsSecretName (none: the controller's default certificate)")
		}
	} else {
		assert.Empty(t, ing.Spec.TLS)
	}
}

// checkScheduling checks the component's scheduling fields that the manifest sets (the API server
// defaults the others in the pod spec).
func checkScheduling(t *testing.T, what string, spec corev1.PodSpec, want v1beta1.PodScheduling) {
	t.Helper()
	if want.Affinity != nil {
		assert.True(t, equality.Semantic.DeepEqual(want.Affinity, spec.Affinity), "%s: affinity", what)
	}
	assert.Equal(t, want.HostAliases, nilIfEmpty(spec.HostAliases), "%s: hostAliases", what)
	if want.TopologySpreadConstraints != nil {
		assert.True(t, equality.Semantic.DeepEqual(want.TopologySpreadConstraints, spec.TopologySpreadConstraints), "%s: topologySpreadConstraints", what)
	}
	if want.PriorityClassName != nil {
		assert.Equal(t, *want.PriorityClassName, spec.PriorityClassName, "%s: priorityClassName", what)
	}
	if want.TerminationGracePeriodSeconds != nil {
		assert.Equal(t, want.TerminationGracePeriodSeconds, spec.TerminationGracePeriodSeconds, "%s: terminationGracePeriodSeconds", what)
	}
	if want.DNSPolicy != "" {
		assert.Equal(t, want.DNSPolicy, spec.DNSPolicy, "%s: dnsPolicy", what)
	}
	if want.DNSConfig != nil {
		assert.True(t, equality.Semantic.DeepEqual(want.DNSConfig, spec.DNSConfig), "%s: dnsConfig", what)
	}
	if want.SchedulerName != nil {
		assert.Equal(t, *want.SchedulerName, spec.SchedulerName, "%s: schedulerName", what)
	}
	assert.Equal(t, want.RuntimeClassName, spec.RuntimeClassName, "%s: runtimeClassName", what)
}

// checkBudgetAndAutoscaler checks spec.podDisruptionBudget and taskManager.horizontalPodAutoscaler
// against the objects the operator made of them.
func checkBudgetAndAutoscaler(t *testing.T, ns string, fc *v1beta1.FlinkCluster) {
	t.Helper()
	ctx := context.Background()
	if want := fc.Spec.PodDisruptionBudget; want != nil {
		var pdb *policyv1.PodDisruptionBudget
		waitFor(t, 30*time.Second, "the PodDisruptionBudget", func() bool {
			var err error
			pdb, err = env.kube.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, names.PodDisruptionBudget(fc.Name), metav1.GetOptions{})
			return err == nil
		})
		assert.Equal(t, want.MinAvailable, pdb.Spec.MinAvailable, "podDisruptionBudget.minAvailable")
		assert.Equal(t, want.MaxUnavailable, pdb.Spec.MaxUnavailable, "podDisruptionBudget.maxUnavailable")
		if want.Selector != nil {
			for k, v := range want.Selector.MatchLabels {
				assert.Equal(t, v, pdb.Spec.Selector.MatchLabels[k], "podDisruptionBudget.selector %s", k)
			}
		}
		assert.Equal(t, fc.Name, pdb.Spec.Selector.MatchLabels[names.LabelCluster], "narrowed to the cluster's pods")
	}
	if want := fc.Spec.TaskManager.HorizontalPodAutoscaler; want != nil {
		var hpa *autoscalingv2.HorizontalPodAutoscaler
		waitFor(t, 30*time.Second, "the HorizontalPodAutoscaler", func() bool {
			var err error
			hpa, err = env.kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, names.TaskManagerAutoscaler(fc.Name), metav1.GetOptions{})
			return err == nil
		})
		assert.Equal(t, want.MaxReplicas, hpa.Spec.MaxReplicas, "horizontalPodAutoscaler.maxReplicas")
		assert.Equal(t, want.MinReplicas, hpa.Spec.MinReplicas, "horizontalPodAutoscaler.minReplicas")
		assert.True(t, equality.Semantic.DeepEqual(want.Metrics, hpa.Spec.Metrics), "horizontalPodAutoscaler.metrics")
		assert.Equal(t, "FlinkCluster", hpa.Spec.ScaleTargetRef.Kind, "the autoscaler scales the FlinkCluster")
		assert.Equal(t, fc.Name, hpa.Spec.ScaleTargetRef.Name)
	}
}

func checkSubmitter(t *testing.T, fc *v1beta1.FlinkCluster, sub *batchv1.Job) {
	t.Helper()
	job := fc.Spec.Job
	pod := sub.Spec.Template
	checkPod(t, "submitter", fc, pod, podSide{
		main: "submitter", nodeSelector: job.NodeSelector, tolerations: job.Tolerations, annotations: job.PodAnnotations,
		labels: job.PodLabels, securityContext: job.SecurityContext, initContainers: job.InitContainers,
		volumes: job.Volumes, mounts: job.VolumeMounts, resources: deref(job.Resources), scheduling: job.PodScheduling,
	})
	main := containerNamed(pod.Spec.Containers, "submitter")
	cmd := strings.Join(main.Command, " ")
	jar := job.JarFile
	if desired.RemoteJar(job) {
		jar = checkJarFetch(t, job, pod.Spec, "submitter")
	}
	assert.Contains(t, cmd, "--class "+job.ClassName+" "+jar, "job.className and job.jarFile")
	assert.Contains(t, cmd, "--parallelism "+strconv.Itoa(int(*job.Parallelism)), "job.parallelism")
	if len(job.Args) > 0 {
		assert.True(t, strings.HasSuffix(cmd, " "+strings.Join(job.Args, " ")), "job.args: %s", cmd)
	}
	for _, cp := range job.ClassPath {
		assert.Contains(t, cmd, "--classpath "+cp, "job.classPath")
	}
	if job.FromSavepoint != nil {
		assert.Contains(t, cmd, "--fromSavepoint "+*job.FromSavepoint, "job.fromSavepoint (first run)")
		if *job.AllowNonRestoredState {
			assert.Contains(t, cmd, "--allowNonRestoredState", "job.allowNonRestoredState")
		}
	}
	// The job's volumeMounts reach the user's init containers.
	for _, ic := range job.InitContainers {
		got := containerNamed(pod.Spec.InitContainers, ic.Name)
		if got == nil {
			continue // reported by checkPod
		}
		for _, m := range job.VolumeMounts {
			assert.True(t, hasMountPath(got.VolumeMounts, m.MountPath), "job.volumeMounts %s in init container %s", m.MountPath, ic.Name)
		}
	}
}

// checkPodsScheduled: the real scheduler placed every pod of the cluster on a node whose labels
// match the component's nodeSelector.
// checkApplicationJobManager checks what the job section says about an application's JobManager:
// its entry point runs the job's class, JAR, parallelism and arguments, with the job's volumes
// and init containers in its pod.
func checkApplicationJobManager(t *testing.T, fc *v1beta1.FlinkCluster, pod corev1.PodTemplateSpec) {
	t.Helper()
	job := fc.Spec.Job
	main := containerNamed(pod.Spec.Containers, "jobmanager")
	require.NotNil(t, main)
	cmd := strings.Join(main.Command, " ")
	assert.Contains(t, cmd, "/opt/flink/bin/standalone-job.sh start-foreground --job-classname "+job.ClassName, "job.className")
	assert.Contains(t, cmd, "--jars local://"+path.Join("/opt/flink", job.JarFile), "job.jarFile (relative to the Flink home)")
	assert.Contains(t, cmd, "-Dparallelism.default="+strconv.Itoa(int(*job.Parallelism)), "job.parallelism")
	if len(job.Args) > 0 {
		assert.True(t, strings.HasSuffix(cmd, " -- "+strings.Join(job.Args, " ")), "job.args: %s", cmd)
	}
	for _, v := range job.Volumes {
		assert.True(t, hasVolume(pod.Spec.Volumes, func(got corev1.Volume) bool { return got.Name == v.Name }), "job.volumes %s", v.Name)
	}
	for _, m := range job.VolumeMounts {
		assert.Contains(t, main.VolumeMounts, m, "job.volumeMounts")
	}
	for _, ic := range job.InitContainers {
		assert.NotNil(t, containerNamed(pod.Spec.InitContainers, ic.Name), "job.initContainers %s", ic.Name)
	}
	assert.Nil(t, containerNamed(pod.Spec.InitContainers, "wait-for-jobmanager"), "no submitter's wait")
}

func checkPodsScheduled(t *testing.T, ns string, fc *v1beta1.FlinkCluster) {
	t.Helper()
	ctx := context.Background()
	var pods *corev1.PodList
	// The submitter's pod is created once the cluster is ready, so it may be moments old here:
	// CI once saw it not yet scheduled.
	waitFor(t, 30*time.Second, "every pod to be scheduled", func() bool {
		var err error
		pods, err = env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: names.LabelCluster + "=" + fc.Name})
		require.NoError(t, err)
		for _, p := range pods.Items {
			if p.Spec.NodeName == "" {
				t.Logf("pod %s is not scheduled yet", p.Name)
				return false
			}
		}
		return true
	})
	for _, p := range pods.Items {
		node, err := env.kube.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		require.NoError(t, err)
		for k, v := range p.Spec.NodeSelector {
			assert.Equal(t, v, node.Labels[k], "pod %s on node %s: nodeSelector %s", p.Name, node.Name, k)
		}
	}
}

// labelNodesFor gives every node the labels the corpus selects nodes by (a real cluster would have
// such node pools), and removes them when the test ends.
func labelNodesFor(t *testing.T, manifests map[string]*v1beta1.FlinkCluster) {
	ctx := context.Background()
	want := map[string]string{}
	for _, fc := range manifests {
		for _, sel := range []map[string]string{fc.Spec.JobManager.NodeSelector, fc.Spec.TaskManager.NodeSelector} {
			for k, v := range sel {
				want[k] = v
			}
		}
		if fc.Spec.Job != nil {
			for k, v := range fc.Spec.Job.NodeSelector {
				want[k] = v
			}
		}
	}
	nodes, err := env.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, n := range nodes.Items {
		add, undo := map[string]interface{}{}, map[string]interface{}{}
		for k, v := range want {
			if _, had := n.Labels[k]; !had {
				add[k], undo[k] = v, nil
			}
		}
		if len(add) == 0 {
			continue
		}
		patch := func(labels map[string]interface{}) {
			data, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"labels": labels}})
			require.NoError(t, err)
			_, err = env.kube.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, data, metav1.PatchOptions{})
			require.NoError(t, err)
		}
		patch(add)
		t.Cleanup(func() { patch(undo) })
	}
}

// assertSubset checks that every value of the manifest is stored as written: nothing was
// pruned or rewritten.
func assertSubset(t *testing.T, path string, want, got interface{}) {
	t.Helper()
	switch w := normalise(want).(type) {
	case map[string]interface{}:
		g, ok := normalise(got).(map[string]interface{})
		if !assert.True(t, ok, "%s: stored as %T", path, got) {
			return
		}
		for k, v := range w {
			assertSubset(t, path+"."+k, v, g[k])
		}
	case []interface{}:
		g, ok := normalise(got).([]interface{})
		if !assert.True(t, ok, "%s: stored as %T", path, got) || !assert.Len(t, g, len(w), path) {
			return
		}
		for i := range w {
			assertSubset(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	default:
		assert.Equal(t, w, normalise(got), path)
	}
}

// normalise makes numbers comparable whatever decoded them (float64 from YAML, int64 from the
// API server).
func normalise(v interface{}) interface{} {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case int32:
		return float64(n)
	}
	return v
}

func assertResources(t *testing.T, what string, want, got corev1.ResourceRequirements) {
	t.Helper()
	for name, q := range want.Limits {
		g := got.Limits[name]
		assert.Zero(t, q.Cmp(g), "%s: resources.limits.%s: want %s, got %s", what, name, q.String(), g.String())
	}
	for name, q := range want.Requests {
		g := got.Requests[name]
		assert.Zero(t, q.Cmp(g), "%s: resources.requests.%s: want %s, got %s", what, name, q.String(), g.String())
	}
}

func containerNamed(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func envNamed(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

func envValue(env []corev1.EnvVar, name string) string {
	if e := envNamed(env, name); e != nil {
		return e.Value
	}
	return ""
}

func hasVolume(vols []corev1.Volume, match func(corev1.Volume) bool) bool {
	for _, v := range vols {
		if match(v) {
			return true
		}
	}
	return false
}

func hasMountPath(mounts []corev1.VolumeMount, p string) bool {
	for _, m := range mounts {
		if m.MountPath == p {
			return true
		}
	}
	return false
}

func hasContainerPort(ports []corev1.ContainerPort, p v1beta1.NamedPort) bool {
	for _, cp := range ports {
		if cp.ContainerPort == p.ContainerPort && cp.Protocol == p.Protocol && cp.Name == p.Name {
			return true
		}
	}
	return false
}

func servicePortByName(svc *corev1.Service, name string) corev1.ServicePort {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p
		}
	}
	return corev1.ServicePort{}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// checkJarFetch checks that an http(s) jarFile is fetched by the operator's init container, first
// of all, into a volume the main container mounts, and returns the path the JAR is read from.
func checkJarFetch(t *testing.T, job *v1beta1.JobSpec, pod corev1.PodSpec, main string) string {
	t.Helper()
	require.NotEmpty(t, pod.InitContainers)
	fetch := pod.InitContainers[0]
	assert.Equal(t, "fetch-job-jar", fetch.Name, "the JAR is fetched before anything else")
	assert.Equal(t, operatorImage, fetch.Image, "the fetcher runs the operator's image (--jar-fetcher-image)")
	args := strings.Join(fetch.Command, " ")
	assert.Contains(t, args, "fetch-jar --url "+job.JarFile, "job.jarFile")
	if job.JarFileChecksum != "" {
		assert.Contains(t, args, "--checksum "+job.JarFileChecksum, "job.jarFileChecksum")
	}
	require.Len(t, fetch.VolumeMounts, 1)
	dir := fetch.VolumeMounts[0].MountPath
	assert.True(t, hasMountPath(containerNamed(pod.Containers, main).VolumeMounts, dir), "the %s container mounts the fetched JAR", main)
	return dir + "/job.jar"
}
