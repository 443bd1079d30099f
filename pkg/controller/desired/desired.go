// Package desired builds every child object of a FlinkCluster from its spec. It is pure: no
// client, no clock, no I/O; the same FlinkCluster always gives the same objects, so the updater
// can compare them by hash.
package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// Annotations the operator puts on children.
const (
	// SpecHashAnnotation holds the hash of the desired object; the updater updates a child only
	// when it differs, never by comparing a live object with server-side defaults.
	SpecHashAnnotation = "flinkoperator.k8s.io/spec-hash"
	// ConfigHashAnnotation on pod templates rolls the pods when the Flink configuration changes.
	ConfigHashAnnotation = "flinkoperator.k8s.io/config-hash"
)

// SpecDrifted reports whether a live child was built from another spec than want: its spec-hash
// annotation differs. It is the one definition of a child's drift: status (state.ChildrenMatch),
// the changes held back from a running job (state.Drifted) and the updater's writes all use it. A
// child is never compared field by field with the server's copy, whose defaults always differ.
//
// The annotation alone can be kept by a writer who changes the object, so what matters is
// compared too (Digest): from the live object, or for the kinds whose cached copy is slimmed, from
// the digest the cache recorded before (ObservedDigestAnnotation).
func SpecDrifted(live, want metav1.Object) bool {
	if live.GetAnnotations()[SpecHashAnnotation] != want.GetAnnotations()[SpecHashAnnotation] {
		return true
	}
	observed, ok := live.GetAnnotations()[ObservedDigestAnnotation]
	if !ok {
		observed = Digest(live) // a kind the cache keeps whole
	}
	return observed != Digest(want)
}

// Cluster holds the desired children of a FlinkCluster; Ingress is nil when the spec has none.
// The submitter is built separately (Submitter), because when it exists is the state machine's
// decision; so is an application's JobManager (JobManagerDeployment is nil in application mode).
type Cluster struct {
	ConfigMap             *corev1.ConfigMap
	JobManagerDeployment  *appsv1.Deployment
	JobManagerService     *corev1.Service
	JobManagerIngress     *networkingv1.Ingress
	TaskManagerDeployment *appsv1.Deployment
	// NetworkPolicy is nil unless spec.networkPolicy enables it.
	NetworkPolicy *networkingv1.NetworkPolicy
	// PodDisruptionBudget is nil unless spec.podDisruptionBudget is set.
	PodDisruptionBudget *policyv1.PodDisruptionBudget
	// TaskManagerAutoscaler is nil unless taskManager.horizontalPodAutoscaler is set.
	TaskManagerAutoscaler *autoscalingv2.HorizontalPodAutoscaler
	// Checkpoints is how the cluster's Flink configuration retains checkpoints for a job whose
	// policies resume from the latest state (zero otherwise).
	Checkpoints CheckpointRetention
}

// Components says which parts of a cluster should exist: after a job ends, its cleanup policy may
// remove the JobManager side (Deployment, Service, Ingress) or the TaskManagers.
type Components struct {
	JobManager  bool
	TaskManager bool
}

// AllComponents wants every component.
var AllComponents = Components{JobManager: true, TaskManager: true}

// Build returns the desired children. It fails only for a spec the CRD cannot reject by itself,
// such as a memory limit smaller than the off-heap margin.
func Build(fc *v1beta1.FlinkCluster, env Env) (*Cluster, error) {
	if err := checkFlinkProperties(fc); err != nil {
		return nil, err
	}
	if job := fc.Spec.Job; job != nil && strings.HasPrefix(job.JarFile, "-") {
		// The CRD rejects it too; this covers FlinkClusters stored before that rule.
		return nil, fmt.Errorf("spec.job.jarFile %q: must not start with '-', flink run would read it as an option", job.JarFile)
	}
	if err := checkApplication(fc); err != nil {
		return nil, err
	}
	if err := checkRemoteJar(fc, env); err != nil {
		return nil, err
	}
	if err := checkPodTemplates(fc); err != nil {
		return nil, err
	}
	if err := checkImageEnv(fc); err != nil {
		return nil, err
	}
	if err := checkRESTTLS(fc); err != nil {
		return nil, err
	}
	jmMemory, err := flinkProcessMemory(fc.Spec.JobManager.Resources, fc.Spec.JobManager.MemoryOffHeapRatio, fc.Spec.JobManager.MemoryOffHeapMin, fc.Spec.JobManager.MemoryProcessRatio)
	if err != nil {
		return nil, fmt.Errorf("spec.jobManager.resources: %w", err)
	}
	tmMemory, err := flinkProcessMemory(fc.Spec.TaskManager.Resources, fc.Spec.TaskManager.MemoryOffHeapRatio, fc.Spec.TaskManager.MemoryOffHeapMin, fc.Spec.TaskManager.MemoryProcessRatio)
	if err != nil {
		return nil, fmt.Errorf("spec.taskManager.resources: %w", err)
	}
	conf := flinkConfig(fc, jmMemory, tmMemory)
	retention := checkpointConfig(fc, conf, env.recordInterval())
	cm := configMap(fc, conf)
	if err := checkConfigMapSize(fc, cm); err != nil {
		return nil, err
	}
	configHash := hashOf(cm.Data)
	c := &Cluster{
		ConfigMap:             cm,
		JobManagerService:     jobManagerService(fc),
		JobManagerIngress:     jobManagerIngress(fc),
		TaskManagerDeployment: taskManagerDeployment(fc, configHash),
		NetworkPolicy:         networkPolicy(fc, env),
		PodDisruptionBudget:   podDisruptionBudget(fc),
		TaskManagerAutoscaler: taskManagerAutoscaler(fc),
		Checkpoints:           retention,
	}
	if !fc.Spec.Job.ApplicationMode() {
		// In application mode the JobManager belongs to one attempt of the job: the state
		// machine creates it (Submitter), never the children's reconciliation.
		c.JobManagerDeployment = jobManagerDeployment(fc, configHash)
	}
	c.stampHashes()
	return c, nil
}

// stampHashes writes each object's hash annotation, computed before the annotation exists.
func (c *Cluster) stampHashes() {
	stamp(&c.ConfigMap.ObjectMeta, c.ConfigMap)
	// The JobManagers' hash leaves out replicas as well (standbys come and go in place); it is
	// taken at 1 replica, which keeps the hash of a Deployment built before standbys existed.
	if c.JobManagerDeployment != nil {
		jm := c.JobManagerDeployment.DeepCopy()
		jm.Spec.Replicas = ptr.To[int32](1)
		stamp(&c.JobManagerDeployment.ObjectMeta, jm)
	}
	stamp(&c.JobManagerService.ObjectMeta, c.JobManagerService)
	// The TaskManagers' hash leaves out replicas: scaling is compared on its own, so that a
	// replica change is never mistaken for a change that restarts pods.
	unscaled := c.TaskManagerDeployment.DeepCopy()
	unscaled.Spec.Replicas = nil
	stamp(&c.TaskManagerDeployment.ObjectMeta, unscaled)
	if c.JobManagerIngress != nil {
		stamp(&c.JobManagerIngress.ObjectMeta, c.JobManagerIngress)
	}
	if c.NetworkPolicy != nil {
		stamp(&c.NetworkPolicy.ObjectMeta, c.NetworkPolicy)
	}
	if c.PodDisruptionBudget != nil {
		stamp(&c.PodDisruptionBudget.ObjectMeta, c.PodDisruptionBudget)
	}
	if c.TaskManagerAutoscaler != nil {
		stamp(&c.TaskManagerAutoscaler.ObjectMeta, c.TaskManagerAutoscaler)
	}
}

// stamp sets the spec-hash annotation in meta, the metadata of obj, hashing obj before the
// annotation is there.
func stamp(meta *metav1.ObjectMeta, obj interface{}) {
	hash := hashOf(obj)
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[SpecHashAnnotation] = hash
}

// hashOf is a short, stable hash of v's JSON (encoding/json sorts map keys).
func hashOf(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("desired: hashing %T: %v", v, err)) // only plain API structs are hashed
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:16]
}

// configMap holds the Flink configuration and the logging files; spec.logConfig replaces the
// operator's logging files of the same name and adds others (the CRD keeps it off the
// configuration files).
func configMap(fc *v1beta1.FlinkCluster, conf map[string]string) *corev1.ConfigMap {
	data := map[string]string{
		Log4jKey:    defaultLog4j,
		Log4jCLIKey: cliLog4j(fc),
	}
	for name, content := range fc.Spec.LogConfig {
		data[name] = content
	}
	data[FlinkConfV1Key] = renderFlat(conf)
	data[FlinkConfV2Key] = renderYAML(conf)
	cm := &corev1.ConfigMap{
		ObjectMeta: objectMeta(fc, names.ConfigMap(fc.Name), names.ComponentConfig),
		Data:       data,
	}
	if RESTTLSEnabled(fc) {
		cm.Annotations = map[string]string{RESTTLSAnnotation: "true"}
	}
	return cm
}
