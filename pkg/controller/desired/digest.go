package desired

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ObservedDigestAnnotation holds, on the informer cache's copy of a child only, the digest of
// what matters in the live object (Digest), computed by the cache transform before it drops the
// pod template or the data. The updater never writes it back.
const ObservedDigestAnnotation = "flinkoperator.k8s.io/observed-digest"

// Digest is a hash of what matters in a child and that the API server does not default: for a
// Deployment, which code runs with which identity and privileges (containers' images, commands,
// arguments and security contexts, the pod's security context, service account, host
// namespaces and volume sources); for a ConfigMap, its data; for an Ingress, its routes; for a
// NetworkPolicy, its rules. A writer can keep the spec-hash annotation while changing these;
// comparing digests catches it. "" for other kinds (a Service is checked by ServiceRedirected).
func Digest(obj metav1.Object) string {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return hashOf(templateEssentials(&o.Spec.Template.Spec))
	case *corev1.ConfigMap:
		return hashOf([]interface{}{o.Data, o.BinaryData})
	case *networkingv1.Ingress:
		// Where traffic goes; ingressClassName is left out, since a default-class admission
		// plugin may set it on create.
		return hashOf([]interface{}{o.Spec.Rules, o.Spec.TLS, o.Spec.DefaultBackend})
	case *networkingv1.NetworkPolicy:
		return hashOf(o.Spec)
	}
	return ""
}

type containerEssentials struct {
	Name            string
	Image           string
	Command, Args   []string
	SecurityContext *corev1.SecurityContext
}

type volumeEssentials struct {
	Name                            string
	HostPath, ConfigMap, Secret     string
	PVC, EmptyDir, Projected, Other bool
}

func templateEssentials(spec *corev1.PodSpec) interface{} {
	psc := spec.SecurityContext
	if psc != nil && equality.Semantic.DeepEqual(psc, &corev1.PodSecurityContext{}) {
		psc = nil // the API server stores an absent pod securityContext as {}
	}
	return struct {
		Init, Main                    []containerEssentials
		SecurityContext               *corev1.PodSecurityContext
		ServiceAccount                string
		HostNetwork, HostPID, HostIPC bool
		Volumes                       []volumeEssentials
	}{containers(spec.InitContainers), containers(spec.Containers), psc, spec.ServiceAccountName,
		spec.HostNetwork, spec.HostPID, spec.HostIPC, volumes(spec.Volumes)}
}

func containers(cs []corev1.Container) []containerEssentials {
	out := make([]containerEssentials, len(cs))
	for i, c := range cs {
		out[i] = containerEssentials{Name: c.Name, Image: c.Image, Command: nilIfEmpty(c.Command), Args: nilIfEmpty(c.Args),
			SecurityContext: c.SecurityContext}
	}
	return out
}

// volumes are the volumes' names and sources; the sources' other fields get defaults (modes).
func volumes(vs []corev1.Volume) []volumeEssentials {
	out := make([]volumeEssentials, len(vs))
	for i, v := range vs {
		e := volumeEssentials{Name: v.Name}
		switch {
		case v.HostPath != nil:
			e.HostPath = v.HostPath.Path
		case v.ConfigMap != nil:
			e.ConfigMap = v.ConfigMap.Name
		case v.Secret != nil:
			e.Secret = v.Secret.SecretName
		case v.PersistentVolumeClaim != nil:
			e.PVC = true
		case v.EmptyDir != nil:
			e.EmptyDir = true
		case v.Projected != nil:
			e.Projected = true
		default:
			e.Other = true
		}
		out[i] = e
	}
	return out
}

// nilIfEmpty: the API server does not keep an empty list, so the desired side's [] must hash
// like the live side's absent one.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
