package desired

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// restrictedDefaults reports whether the cluster's pods get the restricted security defaults
// (spec.podSecurityDefaults absent or Restricted).
func restrictedDefaults(fc *v1beta1.FlinkCluster) bool {
	return fc.Spec.PodSecurityDefaults == nil || *fc.Spec.PodSecurityDefaults != v1beta1.PodSecurityNone
}

// podSecurityContext is a component's pod-level security context: the spec's, with every field
// it leaves unset taken from the restricted defaults. runAsNonRoot is not defaulted for a spec
// that asks for uid 0 on purpose, since the kubelet would refuse to start such a pod.
func podSecurityContext(fc *v1beta1.FlinkCluster, user *corev1.PodSecurityContext) *corev1.PodSecurityContext {
	if !restrictedDefaults(fc) {
		return user
	}
	out := user.DeepCopy()
	if out == nil {
		out = &corev1.PodSecurityContext{}
	}
	uid := v1beta1.FlinkUID
	setIfNil(&out.RunAsUser, uid)
	setIfNil(&out.RunAsGroup, uid)
	setIfNil(&out.FSGroup, uid)
	if *out.RunAsUser != 0 {
		setIfNil(&out.RunAsNonRoot, true)
	}
	if out.SeccompProfile == nil {
		out.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	return out
}

// ownContainerSecurity is the security context of the containers the operator writes (Flink's
// and its own init containers): nothing to escalate to, no capabilities. Flink needs none with
// its default ports, which are above 1024 (docs/api.md says what a port below needs).
func ownContainerSecurity(fc *v1beta1.FlinkCluster) *corev1.SecurityContext {
	if !restrictedDefaults(fc) {
		return nil
	}
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptrTo(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// userContainers are the user's init containers or sidecars with the restricted container fields
// filled in where the user left them unset. The spec's containers are copied, never changed: they
// belong to the informer's cache.
func userContainers(fc *v1beta1.FlinkCluster, containers []corev1.Container) []corev1.Container {
	if !restrictedDefaults(fc) || len(containers) == 0 {
		return containers
	}
	out := make([]corev1.Container, len(containers))
	for i := range containers {
		out[i] = *containers[i].DeepCopy()
		out[i].SecurityContext = withContainerDefaults(out[i].SecurityContext)
	}
	return out
}

// withContainerDefaults fills the unset container fields of sc. allowPrivilegeEscalation stays
// unset for a privileged container or one that adds CAP_SYS_ADMIN: the API server rejects false
// together with either, and the user asked for them.
func withContainerDefaults(sc *corev1.SecurityContext) *corev1.SecurityContext {
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	if sc.AllowPrivilegeEscalation == nil && !escalates(sc) {
		sc.AllowPrivilegeEscalation = ptrTo(false)
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{}
	}
	if len(sc.Capabilities.Drop) == 0 {
		sc.Capabilities.Drop = []corev1.Capability{"ALL"}
	}
	return sc
}

func escalates(sc *corev1.SecurityContext) bool {
	if sc.Privileged != nil && *sc.Privileged {
		return true
	}
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			if c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN" {
				return true
			}
		}
	}
	return false
}

func setIfNil[T any](p **T, v T) {
	if *p == nil {
		*p = ptrTo(v)
	}
}
