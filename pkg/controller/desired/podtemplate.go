package desired

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// templateOwnedKeys are the PodSpec keys a pod template may not set, with what sets them instead:
// a template that set one would be silently overridden, or would fight a field of this API.
var templateOwnedKeys = map[string]string{
	"containers":                    "the operator builds the Flink container; use sidecars for more containers",
	"initContainers":                "use initContainers",
	"ephemeralContainers":           "they are added to running pods (kubectl debug), not templates",
	"volumes":                       "use volumes",
	"serviceAccountName":            "use spec.serviceAccountName",
	"serviceAccount":                "use spec.serviceAccountName",
	"imagePullSecrets":              "use spec.image.pullSecrets",
	"restartPolicy":                 "the operator sets it for each kind of pod",
	"nodeSelector":                  "use nodeSelector",
	"tolerations":                   "use tolerations",
	"securityContext":               "use securityContext",
	"affinity":                      "use affinity",
	"hostAliases":                   "use hostAliases",
	"priorityClassName":             "use priorityClassName",
	"topologySpreadConstraints":     "use topologySpreadConstraints",
	"terminationGracePeriodSeconds": "use terminationGracePeriodSeconds",
	"dnsPolicy":                     "use dnsPolicy",
	"dnsConfig":                     "use dnsConfig",
	"runtimeClassName":              "use runtimeClassName",
	"schedulerName":                 "use schedulerName",
}

// checkPodTemplates checks each component's podTemplate.spec: PodSpec fields only, none that the
// operator or a named field owns. The API server stores the spec schemaless (its schema would not
// fit the CRD three times over), so this is where a mistake is named.
func checkPodTemplates(fc *v1beta1.FlinkCluster) error {
	templates := map[string]*v1beta1.PodTemplate{
		"spec.jobManager":  fc.Spec.JobManager.PodTemplate,
		"spec.taskManager": fc.Spec.TaskManager.PodTemplate,
	}
	if fc.Spec.Job != nil {
		templates["spec.job"] = fc.Spec.Job.PodTemplate
	}
	for _, path := range []string{"spec.jobManager", "spec.taskManager", "spec.job"} {
		if _, err := templatePodSpec(templates[path], path+".podTemplate.spec"); err != nil {
			return err
		}
	}
	return nil
}

// templatePodSpec decodes a pod template's spec; nil or empty is the zero PodSpec.
func templatePodSpec(t *v1beta1.PodTemplate, path string) (corev1.PodSpec, error) {
	var spec corev1.PodSpec
	if t == nil || t.Spec == nil || len(t.Spec.Raw) == 0 {
		return spec, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(t.Spec.Raw, &keys); err != nil {
		return spec, fmt.Errorf("%s: %v", path, err)
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if instead, owned := templateOwnedKeys[k]; owned {
			return spec, fmt.Errorf("%s.%s: not allowed in a pod template, the operator or a field of this API sets it: %s", path, k, instead)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(t.Spec.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("%s: not a Kubernetes PodSpec: %v", path, err)
	}
	return spec, nil
}

// underTemplate fills every field of pod that the operator left unset from the template's spec:
// the operator's fields win. The template cannot set the fields the operator sets
// (checkPodTemplates), so in practice they meet nowhere.
func underTemplate(pod *corev1.PodSpec, t *v1beta1.PodTemplate) {
	base, err := templatePodSpec(t, "")
	if err != nil {
		return // Build reports it before any pod is built
	}
	own, user := reflect.ValueOf(pod).Elem(), reflect.ValueOf(&base).Elem()
	for i := 0; i < own.NumField(); i++ {
		if own.Field(i).IsZero() {
			own.Field(i).Set(user.Field(i))
		}
	}
}

// templateMetadata is the template's labels and annotations (nil without a template).
func templateMetadata(t *v1beta1.PodTemplate) (labels, annotations map[string]string) {
	if t == nil {
		return nil, nil
	}
	return t.Metadata.Labels, t.Metadata.Annotations
}
