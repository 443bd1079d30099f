package desired

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// compat sets every field added for manifests written for the original operator.
func compat() *v1beta1.FlinkCluster {
	fc := base()
	fc.Name = "compat"
	fc.Spec.ServiceAccountName = ptr.To("flink")
	fc.Spec.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "job-env"}}}}
	fc.Spec.LogConfig = map[string]string{Log4jKey: "rootLogger.level = DEBUG\n", "logback-console.xml": "<configuration/>\n"}
	fc.Spec.RevisionHistoryLimit = ptr.To[int32](3)
	fc.Spec.RecreateOnUpdate = ptr.To(true)
	user := corev1.PodSecurityContext{RunAsUser: ptr.To[int64](9999), FSGroup: ptr.To[int64](9999)}
	toleration := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "flink", Effect: corev1.TaintEffectNoSchedule}}

	jm := &fc.Spec.JobManager
	jm.Replicas = ptr.To[int32](1)
	jm.AccessScope = v1beta1.AccessScopeNodePort
	jm.ServiceAnnotations = map[string]string{"prometheus.io/scrape": "true"}
	jm.ServiceLabels = map[string]string{"team": "data"}
	jm.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: ptr.To("{{$clusterName}}.example.com"), UseTls: ptr.To(true), TLSSecretName: ptr.To("tls")}
	jm.ExtraPorts = []v1beta1.NamedPort{{Name: "prom", ContainerPort: 9249, Protocol: corev1.ProtocolTCP}, {ContainerPort: 8125, Protocol: corev1.ProtocolUDP}}
	jm.InitContainers = []corev1.Container{{Name: "fetch-plugins", Image: "busybox"}}
	jm.Sidecars = []corev1.Container{{Name: "log-shipper", Image: "fluent/fluent-bit:3.0"}}
	jm.NodeSelector = map[string]string{"pool": "flink-jm"}
	jm.Tolerations = toleration
	jm.PodAnnotations = map[string]string{"prometheus.io/port": "9249"}
	jm.PodLabels = map[string]string{"team": "data"}
	jm.SecurityContext = user.DeepCopy()
	jm.LivenessProbe = &corev1.Probe{InitialDelaySeconds: 60}
	jm.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/overview", Port: intstr.FromString("ui")}}}

	tm := &fc.Spec.TaskManager
	tm.DeploymentType = "Deployment"
	tm.MemoryProcessRatio = ptr.To[int32](80)
	tm.ExtraPorts = []v1beta1.NamedPort{{Name: "prom", ContainerPort: 9249, Protocol: corev1.ProtocolTCP}}
	tm.InitContainers = []corev1.Container{{Name: "fetch-plugins", Image: "busybox"}}
	tm.NodeSelector = map[string]string{"pool": "flink-tm"}
	tm.Tolerations = toleration
	tm.PodAnnotations = map[string]string{"prometheus.io/port": "9249"}
	tm.PodLabels = map[string]string{"team": "data"}
	tm.SecurityContext = user.DeepCopy()
	tm.ReadinessProbe = &corev1.Probe{PeriodSeconds: 15}

	job := fc.Spec.Job
	job.ClassPath = []string{"file:///opt/flink/lib-extra/udfs.jar"}
	job.Mode = ptr.To(v1beta1.JobModeDetached)
	job.TakeSavepointOnUpdate, job.TakeSavepointOnUpgrade = nil, ptr.To(true)
	job.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	job.SecurityContext = user.DeepCopy()
	job.NodeSelector = map[string]string{"pool": "flink-submit"}
	job.Tolerations = toleration
	job.PodAnnotations = map[string]string{"sidecar.istio.io/inject": "false"}
	job.PodLabels = map[string]string{"team": "data"}
	return fc
}

func withHeadless() *v1beta1.FlinkCluster {
	fc := session()
	fc.Spec.JobManager.AccessScope = v1beta1.AccessScopeHeadless
	return fc
}

func TestBuildGoldenCompat(t *testing.T) {
	for name, fc := range map[string]*v1beta1.FlinkCluster{"compat": compat(), "access-headless": withHeadless()} {
		t.Run(name, func(t *testing.T) {
			c, err := Build(fc, Env{})
			require.NoError(t, err)
			objs := []interface{}{c.ConfigMap, c.JobManagerDeployment, c.JobManagerService}
			if c.JobManagerIngress != nil {
				objs = append(objs, c.JobManagerIngress)
			}
			objs = append(objs, c.TaskManagerDeployment)
			if fc.Spec.Job != nil {
				objs = append(objs, Submitter(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"}))
			}
			assertGolden(t, name, objs)
		})
	}
}

func TestCompatFieldsReachTheChildren(t *testing.T) {
	fc := compat()
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	sub := Submitter(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"})
	for name, pod := range map[string]corev1.PodTemplateSpec{
		"jobmanager": c.JobManagerDeployment.Spec.Template, "taskmanager": c.TaskManagerDeployment.Spec.Template, "submitter": sub.Spec.Template,
	} {
		assert.Equal(t, "flink", pod.Spec.ServiceAccountName, name)
		assert.Equal(t, int64(9999), *pod.Spec.SecurityContext.RunAsUser, name)
		assert.Equal(t, "dedicated", pod.Spec.Tolerations[0].Key, name)
		assert.Equal(t, "data", pod.Labels["team"], name)
		assert.Equal(t, fc.Name, pod.Labels[names.LabelCluster], name)
		assert.Equal(t, "job-env", pod.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name, name)
	}
	assert.Equal(t, "flink-jm", c.JobManagerDeployment.Spec.Template.Spec.NodeSelector["pool"])
	assert.Equal(t, "flink-tm", c.TaskManagerDeployment.Spec.Template.Spec.NodeSelector["pool"])
	assert.Equal(t, "flink-submit", sub.Spec.Template.Spec.NodeSelector["pool"])
	assert.Equal(t, "false", sub.Spec.Template.Annotations["sidecar.istio.io/inject"])
	assert.Equal(t, "9249", c.TaskManagerDeployment.Spec.Template.Annotations["prometheus.io/port"])
	assert.NotEmpty(t, c.TaskManagerDeployment.Spec.Template.Annotations[ConfigHashAnnotation])
	assert.Equal(t, int32(3), *c.JobManagerDeployment.Spec.RevisionHistoryLimit)
	assert.Equal(t, int32(3), *c.TaskManagerDeployment.Spec.RevisionHistoryLimit)

	jmPod := c.JobManagerDeployment.Spec.Template.Spec
	assert.Equal(t, []string{"jobmanager", "log-shipper"}, containerNames(jmPod.Containers))
	assert.Equal(t, []string{"fetch-plugins"}, containerNames(jmPod.InitContainers))
	assert.Contains(t, jmPod.Containers[0].Ports, corev1.ContainerPort{Name: "prom", ContainerPort: 9249, Protocol: corev1.ProtocolTCP})
	assert.Equal(t, int32(60), jmPod.Containers[0].LivenessProbe.InitialDelaySeconds, "the user's timing")
	assert.NotNil(t, jmPod.Containers[0].LivenessProbe.TCPSocket, "the operator's handler stays")
	assert.Equal(t, "/overview", jmPod.Containers[0].ReadinessProbe.HTTPGet.Path, "the user's handler")
	assert.Equal(t, int32(5), jmPod.Containers[0].ReadinessProbe.PeriodSeconds, "the operator's timing stays")
	tmPod := c.TaskManagerDeployment.Spec.Template.Spec
	assert.Equal(t, []string{"fetch-plugins"}, containerNames(tmPod.InitContainers))
	assert.Equal(t, int32(15), tmPod.Containers[0].ReadinessProbe.PeriodSeconds)
	assert.Equal(t, "1Gi", sub.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String())

	svc := c.JobManagerService
	assert.Equal(t, corev1.ServiceTypeNodePort, svc.Spec.Type)
	assert.Equal(t, "true", svc.Annotations["prometheus.io/scrape"])
	assert.Equal(t, "data", svc.Labels["team"])
	assert.Contains(t, svc.Spec.Ports, corev1.ServicePort{Name: "prom", Port: 9249, TargetPort: intstr.FromString("prom"), Protocol: corev1.ProtocolTCP})
	assert.Contains(t, svc.Spec.Ports, corev1.ServicePort{Name: "port-8125-udp", Port: 8125, TargetPort: intstr.FromInt32(8125), Protocol: corev1.ProtocolUDP})
	assert.Len(t, c.JobManagerIngress.Spec.TLS, 1, "useTls is the alias of useTLS")

	cm := c.ConfigMap.Data
	assert.Equal(t, "rootLogger.level = DEBUG\n", cm[Log4jKey], "logConfig replaces the default")
	assert.Equal(t, "<configuration/>\n", cm["logback-console.xml"], "other logConfig files are added")
	assert.Contains(t, cm[Log4jCLIKey], "rootLogger.level = INFO", "the CLI default stays")
	// 2Gi × 80 % = 1638 MiB for the TaskManagers (memoryProcessRatio); the JobManager keeps the off-heap rule.
	assert.Contains(t, cm[FlinkConfV2Key], `taskmanager.memory.process.size: "1638m"`)
	assert.Contains(t, cm[FlinkConfV2Key], `jobmanager.memory.process.size: "1475m"`)

	assert.Contains(t, strings.Join(sub.Spec.Template.Spec.Containers[0].Command, " "), "--classpath file:///opt/flink/lib-extra/udfs.jar --class ")
}

func TestOperatorLabelsWin(t *testing.T) {
	fc := session()
	fc.Spec.TaskManager.PodLabels = map[string]string{names.LabelComponent: "evil", "team": "data"}
	fc.Spec.TaskManager.PodAnnotations = map[string]string{ConfigHashAnnotation: "x"}
	fc.Spec.JobManager.ServiceLabels = map[string]string{names.LabelCluster: "other"}
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	tmpl := c.TaskManagerDeployment.Spec.Template
	assert.Equal(t, names.ComponentTaskManager, tmpl.Labels[names.LabelComponent])
	assert.Equal(t, "data", tmpl.Labels["team"])
	assert.NotEqual(t, "x", tmpl.Annotations[ConfigHashAnnotation])
	assert.Equal(t, fc.Name, c.JobManagerService.Labels[names.LabelCluster])
}

func TestServiceAccessScopes(t *testing.T) {
	c, err := Build(withHeadless(), Env{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ClusterIPNone, c.JobManagerService.Spec.ClusterIP)
	assert.Equal(t, corev1.ServiceTypeClusterIP, c.JobManagerService.Spec.Type)
	vpc := withScope(v1beta1.AccessScopeVPC)
	vpc.Spec.JobManager.ServiceAnnotations = map[string]string{"networking.gke.io/load-balancer-type": "Internal", "team": "data"}
	c, err = Build(vpc, Env{})
	require.NoError(t, err)
	assert.Equal(t, "data", c.JobManagerService.Annotations["team"])
	assert.Equal(t, "true", c.JobManagerService.Annotations["service.beta.kubernetes.io/aws-load-balancer-internal"])
}

func TestTLSAlias(t *testing.T) {
	for _, tt := range []struct {
		useTLS, useTls *bool
		want           bool
	}{
		{nil, nil, false}, {ptr.To(true), nil, true}, {nil, ptr.To(true), true}, {ptr.To(false), nil, false},
		{nil, ptr.To(false), false}, {ptr.To(true), ptr.To(true), true},
	} {
		ing := &v1beta1.JobManagerIngressSpec{UseTLS: tt.useTLS, UseTls: tt.useTls}
		assert.Equal(t, tt.want, ing.TLSEnabled())
	}
	assert.False(t, (*v1beta1.JobManagerIngressSpec)(nil).TLSEnabled())
}

func TestSavepointOnUpdateAlias(t *testing.T) {
	for _, tt := range []struct {
		update, upgrade *bool
		want            bool
	}{
		{nil, nil, true}, {ptr.To(false), nil, false}, {nil, ptr.To(false), false}, {nil, ptr.To(true), true}, {ptr.To(true), ptr.To(true), true},
	} {
		assert.Equal(t, tt.want, (&v1beta1.JobSpec{TakeSavepointOnUpdate: tt.update, TakeSavepointOnUpgrade: tt.upgrade}).SavepointOnUpdate())
	}
}

func TestFlinkVersionFieldWinsOverTag(t *testing.T) {
	fc := base()
	fc.Spec.Image.Name = "registry.example.com/team/flink-job:latest"
	fc.Spec.FlinkVersion = "1.9"
	conf := flinkConfig(fc, 1000, 2000)
	assert.Contains(t, conf, "taskmanager.heap.size")
	fc.Spec.FlinkVersion = ""
	assert.Contains(t, flinkConfig(fc, 1000, 2000), "taskmanager.memory.process.size")
}

func TestMemoryProcessRatio(t *testing.T) {
	res := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")}}
	min := resource.MustParse("600M")
	got, err := flinkProcessMemory(res, ptr.To[int32](25), &min, ptr.To[int32](80))
	require.NoError(t, err)
	assert.Equal(t, int64(4096*80/100), got)
}

// TestOperatorLabelKeysMatchTheCRDRule keeps the CEL rules that reject the operator's label keys
// in podLabels, podTemplate.metadata.labels and ServiceLabels in step with the labels the
// builders set.
func TestOperatorLabelKeysMatchTheCRDRule(t *testing.T) {
	crd, err := os.ReadFile("../../../deploy/crd/flinkoperator.k8s.io_flinkclusters.yaml")
	require.NoError(t, err)
	flat := strings.Join(strings.Fields(string(crd)), " ")
	rule := "''" + strings.Join(OperatorLabelKeys, "'', ''") + "''"
	assert.Equal(t, 7, strings.Count(flat, rule), "jobManager, taskManager and job podLabels and podTemplate labels, and ServiceLabels, must reject exactly %s", rule)
	for _, k := range OperatorLabelKeys {
		assert.Contains(t, names.ComponentLabels("x", "y"), k)
	}
}

func containerNames(cs []corev1.Container) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// TestUnsetCompatFieldsKeepTheRevision: the fields added for the original operator's manifests
// are left out of the spec's JSON while unset, so the JobRevision of a cluster created before
// they existed stays the same and an operator upgrade restarts no job.
func TestUnsetCompatFieldsKeepTheRevision(t *testing.T) {
	for _, fc := range []*v1beta1.FlinkCluster{base(), full(), session()} {
		data, err := json.Marshal(fc.Spec)
		require.NoError(t, err)
		for _, key := range []string{"flinkVersion", "serviceAccountName", "batchSchedulerName", "batchScheduler", "envFrom",
			"logConfig", "revisionHistoryLimit", "recreateOnUpdate", "ServiceAnnotations", "ServiceLabels", "extraPorts",
			"memoryProcessRatio", "nodeSelector", "tolerations", "podAnnotations", "podLabels", "securityContext",
			"livenessProbe", "readinessProbe", "volumeClaimTemplates", "deploymentType", "classPath", "mode", "pyFile",
			"pythonFile", "maxStateAgeToRestoreSeconds", "takeSavepointOnUpgrade", "useTls"} {
			assert.NotContains(t, string(data), "\""+key, "%s: %s appears while unset", fc.Name, key)
		}
		var spec struct {
			Job map[string]interface{} `json:"job"`
		}
		require.NoError(t, json.Unmarshal(data, &spec))
		assert.NotContains(t, spec.Job, "resources", "%s: job.resources appears while unset", fc.Name)
	}
}

// TestIngressClassAndDefaultCertificate: ingressClassName reaches the Ingress, and TLS without
// tlsSecretName asks for the controller's default certificate (a TLS entry without a secret).
func TestIngressClassAndDefaultCertificate(t *testing.T) {
	fc := base()
	fc.Spec.JobManager.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: ptr.To("{{$clusterName}}.example.com"),
		IngressClassName: ptr.To("nginx"), UseTLS: ptr.To(true)}
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	ing := c.JobManagerIngress
	assert.Equal(t, ptr.To("nginx"), ing.Spec.IngressClassName)
	assert.Equal(t, []networkingv1.IngressTLS{{Hosts: []string{fc.Name + ".example.com"}}}, ing.Spec.TLS)
	assert.Equal(t, []string{"https://" + fc.Name + ".example.com"}, IngressURLs(fc))

	fc.Spec.JobManager.Ingress.IngressClassName = nil
	c, err = Build(fc, Env{})
	require.NoError(t, err)
	assert.Nil(t, c.JobManagerIngress.Spec.IngressClassName, "the cluster's default class")
}
