package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// TestPodTemplateIsChecked: a template's spec holds PodSpec fields the operator does not own; a
// mistake fails the build with the field named.
func TestPodTemplateIsChecked(t *testing.T) {
	cases := []struct {
		name, spec, wantErr string
	}{
		{"fields of their own", `{"enableServiceLinks":false,"hostUsers":false,"readinessGates":[{"conditionType":"x"}]}`, ""},
		{"empty", `{}`, ""},
		{"a container", `{"containers":[{"name":"x","image":"y"}]}`, `spec.taskManager.podTemplate.spec.containers: not allowed in a pod template, the operator or a field of this API sets it: the operator builds the Flink container; use sidecars`},
		{"volumes", `{"volumes":[]}`, "spec.taskManager.podTemplate.spec.volumes: not allowed in a pod template, the operator or a field of this API sets it: use volumes"},
		{"a named field", `{"affinity":{}}`, "spec.taskManager.podTemplate.spec.affinity: not allowed in a pod template, the operator or a field of this API sets it: use affinity"},
		{"the first owned key in order", `{"volumes":[],"containers":[]}`, "podTemplate.spec.containers:"},
		{"an unknown field", `{"enableServiceLink":false}`, `spec.taskManager.podTemplate.spec: not a Kubernetes PodSpec: json: unknown field "enableServiceLink"`},
		{"a wrong type", `{"enableServiceLinks":"no"}`, "spec.taskManager.podTemplate.spec: not a Kubernetes PodSpec: json: cannot unmarshal string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := base()
			fc.Spec.TaskManager.PodTemplate = &v1beta1.PodTemplate{Spec: &runtime.RawExtension{Raw: []byte(tc.spec)}}
			_, err := Build(fc, Env{})
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestPodTemplateOfEachComponent: the JobManager's, TaskManagers' and submitter's templates are
// each checked under their own path, and each reaches only its own pods.
func TestPodTemplateOfEachComponent(t *testing.T) {
	for _, path := range []string{"spec.jobManager", "spec.taskManager", "spec.job"} {
		fc := base()
		bad := &v1beta1.PodTemplate{Spec: &runtime.RawExtension{Raw: []byte(`{"restartPolicy":"Always"}`)}}
		switch path {
		case "spec.jobManager":
			fc.Spec.JobManager.PodTemplate = bad
		case "spec.taskManager":
			fc.Spec.TaskManager.PodTemplate = bad
		case "spec.job":
			fc.Spec.Job.PodTemplate = bad
		}
		_, err := Build(fc, Env{})
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), path+".podTemplate.spec.restartPolicy", path)
	}

	fc := base()
	fc.Spec.Job.PodTemplate = &v1beta1.PodTemplate{
		Metadata: v1beta1.PodTemplateMetadata{Labels: map[string]string{"app.kubernetes.io/component": "mine", "tier": "submit"}},
		Spec:     &runtime.RawExtension{Raw: []byte(`{"enableServiceLinks":false}`)},
	}
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	assert.Nil(t, c.TaskManagerDeployment.Spec.Template.Spec.EnableServiceLinks, "the job's template is not the TaskManagers'")
	sub := Submitter(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"})
	require.NotNil(t, sub.Spec.Template.Spec.EnableServiceLinks)
	assert.False(t, *sub.Spec.Template.Spec.EnableServiceLinks)
	assert.Equal(t, "submit", sub.Spec.Template.Labels["tier"])
	assert.Equal(t, "submitter", sub.Spec.Template.Labels["app.kubernetes.io/component"], "the operator's labels win")
	assert.Equal(t, "Never", string(sub.Spec.Template.Spec.RestartPolicy))
}
