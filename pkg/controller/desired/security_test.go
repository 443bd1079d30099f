package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// podSpecs are the pod specs of everything the cluster's builders make.
func podSpecs(t *testing.T, fc *v1beta1.FlinkCluster) map[string]corev1.PodSpec {
	t.Helper()
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	out := map[string]corev1.PodSpec{
		"jobmanager":  c.JobManagerDeployment.Spec.Template.Spec,
		"taskmanager": c.TaskManagerDeployment.Spec.Template.Spec,
	}
	if fc.Spec.Job != nil {
		out["submitter"] = Submitter(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"}).Spec.Template.Spec
	}
	return out
}

// restrictedViolations lists what keeps a pod spec from the restricted Pod Security level, for
// the fields the operator is responsible for (the API server's admission has the last word; the
// integration suite runs these pods in a namespace that enforces it).
func restrictedViolations(spec corev1.PodSpec) []string {
	var out []string
	psc := spec.SecurityContext
	podNonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	podSeccomp := psc != nil && psc.SeccompProfile != nil
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		out = append(out, "pod runAsUser 0")
	}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			out = append(out, c.Name+": no securityContext")
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			out = append(out, c.Name+": allowPrivilegeEscalation not false")
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			out = append(out, c.Name+": capabilities not dropped")
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			out = append(out, c.Name+": runAsNonRoot not set")
		}
		if !podSeccomp && sc.SeccompProfile == nil {
			out = append(out, c.Name+": no seccomp profile")
		}
	}
	return out
}

func TestEveryPodPassesRestrictedByDefault(t *testing.T) {
	for name, fc := range map[string]*v1beta1.FlinkCluster{"minimal": base(), "full": full(), "compat": compat(), "session": session()} {
		for component, spec := range podSpecs(t, fc) {
			assert.Empty(t, restrictedViolations(spec), "%s %s", name, component)
			psc := spec.SecurityContext
			assert.Equal(t, v1beta1.FlinkUID, *psc.RunAsUser, "%s %s", name, component)
			assert.Equal(t, v1beta1.FlinkUID, *psc.RunAsGroup, "%s %s", name, component)
			assert.Equal(t, v1beta1.FlinkUID, *psc.FSGroup, "%s %s", name, component)
		}
	}
}

func TestPodSecurityDefaultsNoneKeepsTheSpecAsItIs(t *testing.T) {
	fc := compat()
	fc.Spec.PodSecurityDefaults = ptr.To(v1beta1.PodSecurityNone)
	for component, spec := range podSpecs(t, fc) {
		assert.Equal(t, &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](9999), FSGroup: ptr.To[int64](9999)}, spec.SecurityContext, component)
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			assert.Nil(t, c.SecurityContext, "%s %s", component, c.Name)
		}
	}
}

func TestPodSecurityContextSpecFieldsWin(t *testing.T) {
	restricted := base()
	cases := []struct {
		name string
		user *corev1.PodSecurityContext
		want *corev1.PodSecurityContext
	}{{
		name: "absent",
		want: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](9999), RunAsGroup: ptr.To[int64](9999), FSGroup: ptr.To[int64](9999),
			RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}, {
		name: "another user and group",
		user: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)},
		want: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](9999), FSGroup: ptr.To[int64](2000),
			RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}, {
		// The kubelet refuses runAsNonRoot with uid 0: a pod that asks for root gets root.
		name: "root on purpose",
		user: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)},
		want: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0), RunAsGroup: ptr.To[int64](9999), FSGroup: ptr.To[int64](9999),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}, {
		name: "own seccomp profile and runAsNonRoot false",
		user: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(false), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("flink.json")}},
		want: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](9999), RunAsGroup: ptr.To[int64](9999), FSGroup: ptr.To[int64](9999),
			RunAsNonRoot: ptr.To(false), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("flink.json")}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.user.DeepCopy()
			assert.Equal(t, tc.want, podSecurityContext(restricted, tc.user))
			assert.Equal(t, before, tc.user, "the spec's securityContext must not change")
		})
	}
}

func TestUserContainersGetOnlyTheFieldsTheyLeaveUnset(t *testing.T) {
	restricted := base()
	dropAll := []corev1.Capability{"ALL"}
	cases := []struct {
		name string
		user *corev1.SecurityContext
		want *corev1.SecurityContext
	}{{
		name: "absent",
		want: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: dropAll}},
	}, {
		name: "adds a capability",
		user: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}}},
		want: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: dropAll}},
	}, {
		name: "drops its own list",
		user: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}},
		want: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}},
	}, {
		// allowPrivilegeEscalation false with privileged true is invalid: the API server would
		// refuse the whole Deployment.
		name: "privileged",
		user: &corev1.SecurityContext{Privileged: ptr.To(true)},
		want: &corev1.SecurityContext{Privileged: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: dropAll}},
	}, {
		name: "adds CAP_SYS_ADMIN",
		user: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}},
		want: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}, Drop: dropAll}},
	}, {
		name: "allows escalation",
		user: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(true), RunAsUser: ptr.To[int64](0)},
		want: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(true), RunAsUser: ptr.To[int64](0), Capabilities: &corev1.Capabilities{Drop: dropAll}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := []corev1.Container{{Name: "sidecar", SecurityContext: tc.user}}
			before := spec[0].DeepCopy()
			got := userContainers(restricted, spec)
			assert.Equal(t, tc.want, got[0].SecurityContext)
			assert.Equal(t, *before, spec[0], "the spec's container must not change")
		})
	}
}

// Only absent and Restricted mean the defaults: a stored FlinkCluster without the field is built
// like one that asks for them, so adding the field changed no job's revision.
func TestPodSecurityDefaultsAbsentIsRestricted(t *testing.T) {
	absent := base()
	explicit := base()
	explicit.Spec.PodSecurityDefaults = ptr.To(v1beta1.PodSecurityRestricted)
	a, err := Build(absent, Env{})
	require.NoError(t, err)
	e, err := Build(explicit, Env{})
	require.NoError(t, err)
	assert.Equal(t, a.JobManagerDeployment.Spec.Template, e.JobManagerDeployment.Spec.Template)
	assert.Equal(t, JobRevision(absent), legacyJobRevision(absent))
}
