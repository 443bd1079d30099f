package desired

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// base is a job cluster with the defaults the API server applies.
func base() *v1beta1.FlinkCluster {
	min := resource.MustParse("600M")
	mem := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("2Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("2Gi")},
	}
	return &v1beta1.FlinkCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "wordcount", Namespace: "flink", UID: "uid-1"},
		Spec: v1beta1.FlinkClusterSpec{
			Image: v1beta1.ImageSpec{Name: "flink:2.1"},
			JobManager: v1beta1.JobManagerSpec{
				AccessScope: v1beta1.AccessScopeCluster,
				Ports:       v1beta1.JobManagerPorts{RPC: ptr.To[int32](6123), Blob: ptr.To[int32](6124), Query: ptr.To[int32](6125), UI: ptr.To[int32](8081)},
				Resources:   *mem.DeepCopy(), MemoryOffHeapRatio: ptr.To[int32](25), MemoryOffHeapMin: &min,
			},
			TaskManager: v1beta1.TaskManagerSpec{
				Replicas:  2,
				Ports:     v1beta1.TaskManagerPorts{Data: ptr.To[int32](6121), RPC: ptr.To[int32](6122), Query: ptr.To[int32](6125)},
				Resources: *mem.DeepCopy(), MemoryOffHeapRatio: ptr.To[int32](25), MemoryOffHeapMin: &min,
			},
			Job: &v1beta1.JobSpec{
				JarFile: "/opt/flink/examples/streaming/WordCount.jar", ClassName: "org.apache.flink.streaming.examples.wordcount.WordCount",
				Parallelism: ptr.To[int32](1), AllowNonRestoredState: ptr.To(false), NoLoggingToStdout: ptr.To(false),
				RestartPolicy: ptr.To(v1beta1.JobRestartPolicyNever), TakeSavepointOnUpdate: ptr.To(true),
				CleanupPolicy: &v1beta1.CleanupPolicy{AfterJobSucceeds: "DeleteCluster", AfterJobFails: "KeepCluster", AfterJobCancelled: "DeleteCluster"},
			},
		},
	}
}

// full sets every Part 1 field that shapes a child object.
func full() *v1beta1.FlinkCluster {
	fc := base()
	fc.Spec.Image = v1beta1.ImageSpec{Name: "registry.example.com/flink:1.20.1-java17", PullPolicy: corev1.PullAlways,
		PullSecrets: []corev1.LocalObjectReference{{Name: "registry-creds"}}}
	jm := &fc.Spec.JobManager
	jm.Ports = v1beta1.JobManagerPorts{RPC: ptr.To[int32](16123), Blob: ptr.To[int32](16124), Query: ptr.To[int32](16125), UI: ptr.To[int32](18081)}
	jm.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: ptr.To("{{$clusterName}}.flink.example.com"),
		Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx"}, UseTLS: ptr.To(true), TLSSecretName: ptr.To("flink-tls")}
	jm.MemoryOffHeapRatio = ptr.To[int32](30)
	jm.Volumes = []corev1.Volume{{Name: "jm-cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	jm.VolumeMounts = []corev1.VolumeMount{{Name: "jm-cache", MountPath: "/cache"}}
	tm := &fc.Spec.TaskManager
	tm.Replicas = 3
	tm.Ports = v1beta1.TaskManagerPorts{Data: ptr.To[int32](16121), RPC: ptr.To[int32](16122), Query: ptr.To[int32](16126)}
	tm.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("4Gi")
	tm.Volumes = []corev1.Volume{{Name: "tm-cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	tm.VolumeMounts = []corev1.VolumeMount{{Name: "tm-cache", MountPath: "/cache"}}
	tm.Sidecars = []corev1.Container{{Name: "log-shipper", Image: "fluent/fluent-bit:3.0"}}
	job := fc.Spec.Job
	job.Args = []string{"--input", "gs://bucket/in", "--output", "gs://bucket/out"}
	job.FromSavepoint = ptr.To("gs://bucket/savepoints/savepoint-1")
	job.AllowNonRestoredState = ptr.To(true)
	job.SavepointsDir = ptr.To("gs://bucket/savepoints")
	job.AutoSavepointSeconds = ptr.To[int32](300)
	job.Parallelism = ptr.To[int32](4)
	job.NoLoggingToStdout = ptr.To(true)
	job.Volumes = []corev1.Volume{{Name: "jars", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	job.VolumeMounts = []corev1.VolumeMount{{Name: "jars", MountPath: "/jars"}}
	job.InitContainers = []corev1.Container{
		{Name: "download", Image: "curlimages/curl", Command: []string{"curl", "-o", "/jars/job.jar", "https://example.com/job.jar"}},
		{Name: "own-mount", Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/jars"}}},
	}
	fc.Spec.EnvVars = []corev1.EnvVar{{Name: "ENVIRONMENT", Value: "production"}}
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"taskmanager.numberOfTaskSlots": "2", "state.backend.type": "rocksdb"}
	fc.Spec.HadoopConfig = &v1beta1.HadoopConfig{ConfigMapName: "hadoop-conf", MountPath: "/etc/hadoop/conf"}
	fc.Spec.GCPConfig = &v1beta1.GCPConfig{ServiceAccount: &v1beta1.GCPServiceAccount{SecretName: "gcp-key", KeyFile: "key.json", MountPath: "/etc/gcp"}}
	return fc
}

func session() *v1beta1.FlinkCluster {
	fc := base()
	fc.Name = "session"
	fc.Spec.Job = nil
	return fc
}

// highlyAvailable is a job cluster with Kubernetes HA and a standby JobManager.
func highlyAvailable() *v1beta1.FlinkCluster {
	fc := base()
	fc.Spec.HighAvailability = &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes}
	fc.Spec.JobManager.Replicas = ptr.To[int32](2)
	fc.Spec.ServiceAccountName = ptr.To("flink-ha")
	fc.Spec.Job.SavepointsDir = ptr.To("s3://bucket/flink/savepoints")
	return fc
}

// scheduled is a job cluster with every scheduling field on each component, a disruption budget
// that narrows the cluster's pods further, and a TaskManager autoscaler.
func scheduled() *v1beta1.FlinkCluster {
	fc := base()
	fc.Name = "scheduled"
	spread := func(component string) v1beta1.PodScheduling {
		return v1beta1.PodScheduling{
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100,
					PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{
						MatchLabels: map[string]string{"app.kubernetes.io/instance": "scheduled", "app.kubernetes.io/component": component}}}}}}},
			HostAliases:       []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"metastore.internal"}}},
			PriorityClassName: ptr.To("streaming-" + component),
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
				WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"app.kubernetes.io/instance": "scheduled", "app.kubernetes.io/component": component}}}},
			TerminationGracePeriodSeconds: ptr.To[int64](90),
			DNSPolicy:                     corev1.DNSNone,
			DNSConfig:                     &corev1.PodDNSConfig{Nameservers: []string{"10.0.0.10"}, Searches: []string{"svc.cluster.local"}},
			RuntimeClassName:              ptr.To("gvisor"),
			SchedulerName:                 ptr.To("zone-aware"),
		}
	}
	fc.Spec.JobManager.PodScheduling = spread("jobmanager")
	fc.Spec.TaskManager.PodScheduling = spread("taskmanager")
	fc.Spec.Job.PodScheduling = spread("submitter")
	fc.Spec.TaskManager.PodTemplate = &v1beta1.PodTemplate{
		Metadata: v1beta1.PodTemplateMetadata{Labels: map[string]string{"team": "payments"}, Annotations: map[string]string{"example.com/owner": "payments"}},
		Spec:     &runtime.RawExtension{Raw: []byte(`{"enableServiceLinks":false,"readinessGates":[{"conditionType":"example.com/warm"}],"os":{"name":"linux"}}`)},
	}
	fc.Spec.TaskManager.PodLabels = map[string]string{"team": "streaming"} // wins over the template's
	fc.Spec.PodDisruptionBudget = &policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "streaming"}}}
	fc.Spec.TaskManager.HorizontalPodAutoscaler = &v1beta1.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}}}
	return fc
}

// application is the full job cluster in application mode, its job restored from a savepoint.
func application() *v1beta1.FlinkCluster {
	fc := full()
	fc.Name = "application"
	fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
	fc.Spec.Job.ClassPath = []string{"file:///jars/lib-a.jar", "file:///jars/lib-b.jar"}
	return fc
}

// withRESTTLS is shaped like deploy/samples/job-cluster-rest-tls.yaml: Flink's keystores mounted
// from the Secret in the JobManager and the submitter, which read the same configuration.
func withRESTTLS() *v1beta1.FlinkCluster {
	fc := base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{
		RESTSSLEnabledKey:                          "true",
		"security.ssl.rest.authentication-enabled": "true",
		"security.ssl.rest.keystore":               "/opt/flink/rest-tls/keystore.p12",
		"security.ssl.rest.truststore":             "/opt/flink/rest-tls/truststore.p12",
	}
	fc.Spec.JobManager.RESTTLS = &v1beta1.RESTTLSSpec{SecretName: "flink-rest-tls"}
	volume := corev1.Volume{Name: "rest-tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "flink-rest-tls"}}}
	mount := corev1.VolumeMount{Name: "rest-tls", MountPath: "/opt/flink/rest-tls", ReadOnly: true}
	fc.Spec.JobManager.Volumes, fc.Spec.JobManager.VolumeMounts = []corev1.Volume{volume}, []corev1.VolumeMount{mount}
	fc.Spec.Job.Volumes, fc.Spec.Job.VolumeMounts = []corev1.Volume{volume}, []corev1.VolumeMount{mount}
	return fc
}

// withBuiltInPlugins is a job cluster that enables the image's S3 filesystem as the official
// image's entrypoint would, with a quota-style resource on the TaskManager.
func withBuiltInPlugins() *v1beta1.FlinkCluster {
	fc := base()
	fc.Spec.EnvVars = []corev1.EnvVar{{Name: BuiltInPluginsEnv, Value: "flink-s3-fs-hadoop-2.3.0.jar"}}
	fc.Spec.TaskManager.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}
	// A plugin of the user's own, downloaded by their init container into a volume mounted in
	// the image's plugins directory: the plugins init container runs after it and mounts it too.
	fc.Spec.TaskManager.Volumes = []corev1.Volume{{Name: "custom-plugin", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	fc.Spec.TaskManager.VolumeMounts = []corev1.VolumeMount{{Name: "custom-plugin", MountPath: "/opt/flink/plugins/metrics-custom"}}
	fc.Spec.TaskManager.InitContainers = []corev1.Container{{Name: "download-plugin", Image: "curlimages/curl",
		VolumeMounts: []corev1.VolumeMount{{Name: "custom-plugin", MountPath: "/plugin"}}}}
	return fc
}

func withScope(scope v1beta1.AccessScope) *v1beta1.FlinkCluster {
	fc := session()
	fc.Spec.JobManager.AccessScope = scope
	return fc
}

func TestBuildGolden(t *testing.T) {
	cases := map[string]*v1beta1.FlinkCluster{
		"minimal":         base(),
		"full":            full(),
		"session":         session(),
		"access-vpc":      withScope(v1beta1.AccessScopeVPC),
		"access-external": withScope(v1beta1.AccessScopeExternal),
		"ha":              highlyAvailable(),
		"application":     application(),
		"scheduling":      scheduled(),
		"plugins":         withBuiltInPlugins(),
		"rest-tls":        withRESTTLS(),
	}
	for name, fc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Build(fc, Env{})
			require.NoError(t, err)
			objs := []interface{}{c.ConfigMap}
			if c.JobManagerDeployment != nil {
				objs = append(objs, c.JobManagerDeployment)
			}
			objs = append(objs, c.JobManagerService)
			if c.JobManagerIngress != nil {
				objs = append(objs, c.JobManagerIngress)
			}
			objs = append(objs, c.TaskManagerDeployment)
			if fc.Spec.Job != nil {
				objs = append(objs, Submitter(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef", FromSavepoint: deref(fc.Spec.Job.FromSavepoint, "")}))
			}
			if c.PodDisruptionBudget != nil {
				objs = append(objs, c.PodDisruptionBudget)
			}
			if c.TaskManagerAutoscaler != nil {
				objs = append(objs, c.TaskManagerAutoscaler)
			}
			assertGolden(t, name, objs)
		})
	}
}

func assertGolden(t *testing.T, name string, objs []interface{}) {
	t.Helper()
	var docs []string
	for _, o := range objs {
		data, err := yaml.Marshal(o)
		require.NoError(t, err)
		docs = append(docs, string(data))
	}
	got := "---\n" + strings.Join(docs, "---\n")
	path := filepath.Join("testdata", name+".golden.yaml")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./pkg/controller/desired -update to create the golden files")
	assert.Equal(t, string(want), got, "run go test ./pkg/controller/desired -update and review the diff")
}

func TestFlinkProcessMemory(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name   string
		limit  string
		req    string
		ratio  int32
		min    string
		wantMi int64
		err    bool
	}{
		{"min wins over ratio", "2Gi", "", 25, "600M", (2147483648 - 600000000) / mebibyte, false},
		{"ratio wins over min", "8Gi", "", 25, "600M", 6144, false},
		{"ratio 0 uses min", "4Gi", "", 0, "572Mi", 4096 - 572, false},
		{"exponent notation", "2Gi", "", 25, "600e6", (2147483648 - 600000000) / mebibyte, false},
		{"request when no limit", "", "3Gi", 25, "600M", 2304, false},
		{"limit smaller than off-heap", "512Mi", "", 25, "600M", 0, true},
		{"no memory at all", "", "", 25, "600M", 0, true},
		{"ratio 100 leaves nothing", "2Gi", "", 100, "0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := corev1.ResourceRequirements{Limits: corev1.ResourceList{}, Requests: corev1.ResourceList{}}
			if tt.limit != "" {
				res.Limits[corev1.ResourceMemory] = q(tt.limit)
			}
			if tt.req != "" {
				res.Requests[corev1.ResourceMemory] = q(tt.req)
			}
			min := q(tt.min)
			got, err := flinkProcessMemory(res, &tt.ratio, &min, nil)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantMi, got)
		})
	}
}

func TestMemoryKeysFollowFlinkVersion(t *testing.T) {
	tests := []struct {
		image   string
		wantKey string
		absent  string
	}{
		{"flink:2.1", "taskmanager.memory.process.size", "taskmanager.heap.size"},
		{"flink:1.20.1-scala_2.12-java17", "taskmanager.memory.process.size", "taskmanager.heap.size"},
		{"flink:1.10", "taskmanager.memory.process.size", "taskmanager.heap.size"},
		{"flink:1.9.3", "taskmanager.heap.size", "taskmanager.memory.process.size"},
		{"registry:5000/team/flink:1.8", "taskmanager.heap.size", "taskmanager.memory.process.size"},
		{"my-flink-image:latest", "taskmanager.memory.process.size", "taskmanager.heap.size"},
		{"flink@sha256:abc", "taskmanager.memory.process.size", "taskmanager.heap.size"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			fc := base()
			fc.Spec.Image.Name = tt.image
			conf := flinkConfig(fc, 1000, 2000)
			assert.Contains(t, conf, tt.wantKey)
			assert.NotContains(t, conf, tt.absent)
		})
	}
}

// TestJDKModuleOptions: the operator's FLINK_CONF_DIR hides the image's default configuration,
// so the --add-opens flags Flink needs on Java 17 must come from the operator (the end-to-end
// test's `flink run` failed without them), except where the key does not exist or the JVM is 8.
func TestJDKModuleOptions(t *testing.T) {
	tests := []struct {
		image   string
		version string
		want    bool
	}{
		{image: "flink:2.3.0", want: true},
		{image: "flink:1.20", want: true},
		{image: "flink:1.19.1-scala_2.12-java11", want: true},
		{image: "flink:1.20.1-scala_2.12-java8", want: false},
		{image: "flink:1.18", want: false},
		{image: "my-flink-image:latest", want: true},
		{image: "my-flink-image:latest", version: "1.17", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.image+"/"+tt.version, func(t *testing.T) {
			fc := base()
			fc.Spec.Image.Name, fc.Spec.FlinkVersion = tt.image, tt.version
			opts, ok := flinkConfig(fc, 1000, 2000)[DefaultJVMOptionsKey]
			assert.Equal(t, tt.want, ok)
			if tt.want {
				assert.Contains(t, opts, "--add-opens=java.base/java.util=ALL-UNNAMED")
			}
		})
	}
	fc := base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{DefaultJVMOptionsKey: "-Dmine=1"}
	assert.Equal(t, "-Dmine=1", flinkConfig(fc, 1000, 2000)[DefaultJVMOptionsKey], "flinkProperties may override it")
}

// TestJDKModuleOptionsOnFlink118: 1.18 has no env.java.default-opts.all (the contract suite found
// its image's flags in env.java.opts.all), so they go first in env.java.opts.all, before a
// user's; not for Java 8 images, not on other versions.
func TestJDKModuleOptionsOnFlink118(t *testing.T) {
	tests := []struct {
		image, user string
		wantPrefix  bool
		wantSuffix  string
	}{
		{image: "flink:1.18.1-java17", wantPrefix: true},
		{image: "flink:1.18", user: "-Dmine=1", wantPrefix: true, wantSuffix: " -Dmine=1"},
		{image: "flink:1.18-scala_2.12-java8", user: "-Dmine=1", wantSuffix: "-Dmine=1"},
		{image: "flink:1.20", user: "-Dmine=1", wantSuffix: "-Dmine=1"},
		{image: "flink:2.3.0"},
	}
	for _, tt := range tests {
		t.Run(tt.image+"/"+tt.user, func(t *testing.T) {
			fc := base()
			fc.Spec.Image.Name = tt.image
			if tt.user != "" {
				fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{JVMOptionsKey: v1beta1.FlinkPropertyValue(tt.user)}
			}
			opts := flinkConfig(fc, 1000, 2000)[JVMOptionsKey]
			if tt.wantPrefix {
				assert.True(t, strings.HasPrefix(opts, jdkModuleOptions), opts)
				assert.Equal(t, jdkModuleOptions+tt.wantSuffix, opts)
				return
			}
			assert.Equal(t, tt.wantSuffix, opts)
		})
	}
}

func TestFlinkPropertiesWinExceptOwnedKeys(t *testing.T) {
	fc := base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"taskmanager.memory.process.size": "999m", "rest.port": "1", "parallelism.default": "3"}
	conf := flinkConfig(fc, 1000, 2000)
	assert.Equal(t, "999m", conf["taskmanager.memory.process.size"], "flinkProperties win")
	assert.Equal(t, "3", conf["parallelism.default"])
	assert.Equal(t, "8081", conf["rest.port"], "an operator-owned key keeps the spec's value")
}

func TestJobClustersKeepSavepointResultsAnHour(t *testing.T) {
	fc := base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{AsyncOperationStoreKey: "1 min"}
	assert.Equal(t, "3600s", flinkConfig(fc, 1000, 2000)[AsyncOperationStoreKey], "a stop's result outlives the savepoint timeout")
	fc.Spec.Job = nil
	assert.NotContains(t, flinkConfig(fc, 1000, 2000), AsyncOperationStoreKey, "session clusters keep Flink's default (no roll on upgrade)")
}

// TestOwnedKeysMatchTheCRDRule keeps the CEL rule that rejects owned keys in flinkProperties in
// step with the list the builder ignores.
func TestOwnedKeysMatchTheCRDRule(t *testing.T) {
	crd, err := os.ReadFile("../../../deploy/crd/flinkoperator.k8s.io_flinkclusters.yaml")
	require.NoError(t, err)
	flat := strings.Join(strings.Fields(string(crd)), " ")
	for _, k := range OperatorOwnedKeys {
		assert.Contains(t, flat, "''"+k+"''", "the flinkProperties CEL rule must reject %s", k)
	}
}

func TestIngressHost(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		{"{{$clusterName}}.example.com", "wordcount.example.com"},
		{"flink-{{$clusterName}}.apps.example.com", "flink-wordcount.apps.example.com"},
		{"static.example.com", "static.example.com"},
		{"{{$clusterName}}-{{$clusterName}}.example.com", "wordcount-wordcount.example.com"},
	}
	for _, tt := range tests {
		fc := base()
		fc.Spec.JobManager.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: &tt.format}
		assert.Equal(t, tt.want, IngressHost(fc), tt.format)
	}
	fc := base()
	fc.Spec.JobManager.Ingress = &v1beta1.JobManagerIngressSpec{}
	assert.Equal(t, "", IngressHost(fc))
	assert.Nil(t, IngressURLs(fc), "no host, no URL")
	fc.Spec.JobManager.Ingress = &v1beta1.JobManagerIngressSpec{HostFormat: ptr.To("{{$clusterName}}.x.io"), UseTLS: ptr.To(true), TLSSecretName: ptr.To("s")}
	assert.Equal(t, []string{"https://wordcount.x.io"}, IngressURLs(fc))
}

func TestReplicasOnlyChangeKeepsPodTemplate(t *testing.T) {
	a, err := Build(base(), Env{})
	require.NoError(t, err)
	scaled := base()
	scaled.Spec.TaskManager.Replicas = 5
	b, err := Build(scaled, Env{})
	require.NoError(t, err)
	assert.Equal(t, a.TaskManagerDeployment.Spec.Template, b.TaskManagerDeployment.Spec.Template)
	assert.Equal(t, a.TaskManagerDeployment.Annotations[SpecHashAnnotation], b.TaskManagerDeployment.Annotations[SpecHashAnnotation],
		"replicas are compared on their own, not through the hash")
	assert.Equal(t, int32(5), *b.TaskManagerDeployment.Spec.Replicas)
	assert.Equal(t, a.JobManagerDeployment.Annotations[SpecHashAnnotation], b.JobManagerDeployment.Annotations[SpecHashAnnotation])
}

func TestConfigChangeRollsPods(t *testing.T) {
	a, err := Build(base(), Env{})
	require.NoError(t, err)
	changed := base()
	changed.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"taskmanager.numberOfTaskSlots": "4"}
	b, err := Build(changed, Env{})
	require.NoError(t, err)
	assert.NotEqual(t, a.TaskManagerDeployment.Spec.Template.Annotations[ConfigHashAnnotation], b.TaskManagerDeployment.Spec.Template.Annotations[ConfigHashAnnotation])
	assert.NotEqual(t, a.JobManagerDeployment.Spec.Template.Annotations[ConfigHashAnnotation], b.JobManagerDeployment.Spec.Template.Annotations[ConfigHashAnnotation])
}

func TestBuildRejectsMemoryBelowOffHeap(t *testing.T) {
	fc := base()
	fc.Spec.TaskManager.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("500Mi")
	_, err := Build(fc, Env{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.taskManager.resources")
}

func TestSubmitCommand(t *testing.T) {
	fc := base()
	fc.Spec.Job.Args = []string{"--x", "1"}
	fc.Spec.Job.AllowNonRestoredState = ptr.To(true)
	id := "0123456789abcdef0123456789abcdef"
	assert.Equal(t, []string{"/opt/flink/bin/flink", "run", "--detached", "-D$internal.pipeline.job-id=" + id, "--parallelism", "1",
		"--class", fc.Spec.Job.ClassName, fc.Spec.Job.JarFile, "--x", "1"}, SubmitCommand(fc, SubmitterInput{JobID: id}),
		"allowNonRestoredState only matters with a savepoint")
	assert.Equal(t, []string{"/opt/flink/bin/flink", "run", "--detached", "-D$internal.pipeline.job-id=" + id, "--parallelism", "1",
		"--fromSavepoint", "/sp/1", "--allowNonRestoredState", "--class", fc.Spec.Job.ClassName, fc.Spec.Job.JarFile, "--x", "1"},
		SubmitCommand(fc, SubmitterInput{JobID: id, FromSavepoint: "/sp/1"}))
}

func TestJobRevision(t *testing.T) {
	rev := JobRevision(base())
	same := []func(*v1beta1.FlinkCluster){
		func(fc *v1beta1.FlinkCluster) { fc.Spec.TaskManager.Replicas = 9 },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointGeneration = 3 },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.CancelRequested = ptr.To(true) },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.AutoSavepointSeconds = ptr.To[int32](60) },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.SavepointsDir = ptr.To("/elsewhere") },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.FromSavepoint = ptr.To("/sp") },
		func(fc *v1beta1.FlinkCluster) {
			fc.Spec.Job.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
		},
		func(fc *v1beta1.FlinkCluster) {
			fc.Spec.Job.TakeSavepointOnUpdate, fc.Spec.Job.TakeSavepointOnUpgrade = nil, ptr.To(false)
		},
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeDetached) },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.RecreateOnUpdate = ptr.To(true) },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.JobManager.Replicas = ptr.To[int32](1) },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.TaskManager.DeploymentType = "Deployment" },
	}
	for i, change := range same {
		fc := base()
		change(fc)
		assert.Equal(t, rev, JobRevision(fc), "change %d must not restart the job", i)
	}
	changed := []func(*v1beta1.FlinkCluster){
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Parallelism = ptr.To[int32](2) },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Job.Args = []string{"--x"} },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.Image.Name = "flink:2.2" },
		func(fc *v1beta1.FlinkCluster) {
			fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"a": "b"}
		},
		func(fc *v1beta1.FlinkCluster) { fc.Spec.TaskManager.NodeSelector = map[string]string{"pool": "x"} },
		func(fc *v1beta1.FlinkCluster) { fc.Spec.LogConfig = map[string]string{Log4jKey: "x"} },
	}
	for i, change := range changed {
		fc := base()
		change(fc)
		assert.NotEqual(t, rev, JobRevision(fc), "change %d must roll out", i)
	}
}

// legacyJobRevision is JobRevision as it was written before v1beta1.SpecFieldEffects declared
// the fields: the revision of every running job must stay the same, or an operator upgrade would
// roll them all out.
func legacyJobRevision(fc *v1beta1.FlinkCluster) string {
	spec := fc.Spec.DeepCopy()
	spec.TaskManager.Replicas = 0
	spec.RecreateOnUpdate = nil
	spec.JobManager.Replicas = nil
	spec.TaskManager.DeploymentType = ""
	if job := spec.Job; job != nil {
		job.SavepointGeneration = 0
		job.CancelRequested = nil
		job.AutoSavepointSeconds = nil
		job.SavepointsDir = nil
		job.RestartPolicy = nil
		job.CleanupPolicy = nil
		job.TakeSavepointOnUpdate = nil
		job.TakeSavepointOnUpgrade = nil
		job.Mode = nil
		job.FromSavepoint = nil
	}
	return hashOf(spec)
}

func TestJobRevisionIsUnchangedByTheFieldTable(t *testing.T) {
	everything := func() *v1beta1.FlinkCluster {
		fc := full()
		j := fc.Spec.Job
		j.SavepointGeneration, j.CancelRequested, j.AutoSavepointSeconds = 4, ptr.To(true), ptr.To[int32](30)
		j.RestartPolicy = ptr.To(v1beta1.JobRestartPolicyFromSavepointOnFailure)
		j.CleanupPolicy = &v1beta1.CleanupPolicy{AfterJobSucceeds: "KeepCluster"}
		j.TakeSavepointOnUpdate, j.TakeSavepointOnUpgrade, j.Mode = ptr.To(true), ptr.To(true), ptr.To(v1beta1.JobModeDetached)
		fc.Spec.RecreateOnUpdate, fc.Spec.JobManager.Replicas = ptr.To(true), ptr.To[int32](1)
		fc.Spec.TaskManager.DeploymentType = "Deployment"
		return fc
	}
	session := base()
	session.Spec.Job = nil
	for name, fc := range map[string]*v1beta1.FlinkCluster{"base": base(), "full": full(), "compat": compat(), "every field set": everything(), "session": session} {
		assert.Equal(t, legacyJobRevision(fc), JobRevision(fc), name)
	}
}

// nastyValues are values that a naive writer of Flink's configuration gets wrong.
var nastyValues = []string{
	`plain`, ``, `with "quotes" and 'apostrophes'`, `back\slash \n not a newline`, `a: b`, `key: value # not a comment`,
	`#leading-hash`, `{"json": [1, 2]}`, `[a, b]`, `*alias`, `&anchor`, `!tag`, `%directive`, `@at`, "`tick`",
	`yes`, `no`, `on`, `off`, `null`, `~`, `0x1F`, `1e3`, `007`, `-`, `- item`, `? key`, `|`, `>`,
	"\ttab", "trailing space ", " leading space", "unicode: ünïcødé ✓ 日本", "line\u2028separator", "nel\u0085char",
	"bell\x07control", "del\x7f", "bom\ufeff", `s3://bucket/path?x=1&y=2`, `-Dfoo=bar -Xmx1g`,
}

func TestConfigYAMLIsReadBackExactly(t *testing.T) {
	conf := map[string]string{}
	for i, v := range nastyValues {
		conf[fmt.Sprintf("k%02d.value", i)] = v
	}
	var back map[string]string
	require.NoError(t, yaml.Unmarshal([]byte(renderYAML(conf)), &back))
	assert.Equal(t, conf, back)
}

func TestFlinkPropertiesThatFlinkWouldNotReadBackAreRefused(t *testing.T) {
	tests := []struct {
		name, image, key, value, want string
	}{
		{"a line break injects a key", "flink:2.1", "parallelism.default", "1\nrest.port: 1", "single line"},
		{"a carriage return too", "flink:1.20", "parallelism.default", "1\rrest.port: 1", "single line"},
		{"a key with a colon", "flink:2.1", "rest.port: 1\nx", "y", "plain Flink key"},
		{"a key with spaces", "flink:2.1", "rest.port ", "1", "plain Flink key"},
		{"1.x: '#' ends the value", "flink:1.20", "env.java.opts.all", "-Da=1 #x", "'#'"},
		{"1.x: surrounding spaces are trimmed", "flink:1.18", "pipeline.name", " job ", "trims spaces"},
		{"an image without a version is held to 1.x", "registry.example.com/app:latest", "pipeline.name", "a#b", "set spec.flinkVersion"},
		{"2.x: '#' is quoted", "flink:2.1", "pipeline.name", "a # b", ""},
		{"2.x: spaces are quoted", "flink:2.1", "pipeline.name", " a ", ""},
		{"1.x: ': ' in a value is fine", "flink:1.20", "pipeline.name", "a: b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := base()
			fc.Spec.Image.Name = tt.image
			fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{tt.key: v1beta1.FlinkPropertyValue(tt.value)}
			_, err := Build(fc, Env{})
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.flinkProperties[")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("spec.flinkVersion says 2 for an image without a version", func(t *testing.T) {
		fc := base()
		fc.Spec.Image.Name = "registry.example.com/app:latest"
		fc.Spec.FlinkVersion = "2.1"
		fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{"pipeline.name": "a # b"}
		_, err := Build(fc, Env{})
		assert.NoError(t, err)
	})
}

func TestServiceRedirected(t *testing.T) {
	built, err := Build(base(), Env{})
	require.NoError(t, err)
	tests := []struct {
		name string
		edit func(*corev1.Service)
		want string
	}{
		{"as built", func(*corev1.Service) {}, ""},
		{"a port number changed with the spec (a held change)", func(s *corev1.Service) { s.Spec.Ports[3].Port = 18081 }, ""},
		{"a type changed with accessScope", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }, ""},
		{"ExternalName", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "evil.example.com"
		}, "ExternalName"},
		{"another selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "evil"} }, "selector"},
		{"a selector with an extra label", func(s *corev1.Service) { s.Spec.Selector["extra"] = "x" }, "selector"},
		{"the ui port at a number", func(s *corev1.Service) { s.Spec.Ports[3].TargetPort = intstr.FromInt32(9999) }, "ui port"},
		{"no ui port", func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[:3] }, "no ui port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := built.JobManagerService.DeepCopy()
			tt.edit(live)
			got := ServiceRedirected(base(), live)
			if tt.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.want)
			}
		})
	}
}

func TestJarFileIsNeverAnOption(t *testing.T) {
	fc := base()
	fc.Spec.Job.JarFile = "-Drest.port=1"
	_, err := Build(fc, Env{})
	assert.ErrorContains(t, err, "spec.job.jarFile")
}

func TestAConfigMapTooLargeForTheAPIServerIsRefused(t *testing.T) {
	fc := base()
	fc.Spec.LogConfig = map[string]string{"log4j-console.properties": strings.Repeat("#\n", 600*1024)}
	_, err := Build(fc, Env{})
	assert.ErrorContains(t, err, `spec.logConfig["log4j-console.properties"] is too large`)

	fc = base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{}
	for i := 0; i < 40; i++ {
		fc.Spec.FlinkProperties[fmt.Sprintf("k%d", i)] = v1beta1.FlinkPropertyValue(strings.Repeat("v", 16*1024))
	}
	_, err = Build(fc, Env{})
	assert.ErrorContains(t, err, "spec.flinkProperties is too large", "40 values of 16 KiB, written twice")

	fc = base()
	fc.Spec.LogConfig = map[string]string{"log4j-console.properties": strings.Repeat("#\n", 200*1024)}
	_, err = Build(fc, Env{})
	assert.NoError(t, err, "400 KiB of logging configuration fits")
}
