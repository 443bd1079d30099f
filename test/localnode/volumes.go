//go:build flink

package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// materializeVolumes writes the pod's volumes into its directory and returns volume name → local
// directory. ConfigMaps and Secrets are written key by key (or item by item), as the kubelet's
// projection does; emptyDir is an empty directory; hostPath is the path itself. Anything else
// fails the pod with a message naming the volume.
func (r *podRunner) materializeVolumes(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range r.pod.Spec.Volumes {
		dir := filepath.Join(r.dir, "volumes", v.Name)
		var files map[string][]byte
		switch {
		case v.ConfigMap != nil:
			cm, err := r.node.opts.Kube.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("volume %s: ConfigMap %s: %w", v.Name, v.ConfigMap.Name, err)
			}
			files = project(stringsToBytes(cm.Data), v.ConfigMap.Items)
		case v.Secret != nil:
			s, err := r.node.opts.Kube.CoreV1().Secrets(r.pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("volume %s: Secret %s: %w", v.Name, v.Secret.SecretName, err)
			}
			files = project(s.Data, v.Secret.Items)
		case v.Projected != nil:
			var err error
			if files, err = r.projected(ctx, v.Projected); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.EmptyDir != nil:
			files = map[string][]byte{}
		case v.HostPath != nil:
			out[v.Name] = v.HostPath.Path
			continue
		default:
			return nil, fmt.Errorf("volume %s: only configMap, secret, projected, emptyDir and hostPath volumes run locally", v.Name)
		}
		if err := mkdirAll(dir); err != nil {
			return nil, err
		}
		for name, data := range files {
			p := filepath.Join(dir, name)
			if err := mkdirAll(filepath.Dir(p)); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return nil, err
			}
		}
		if err := r.setVolumeOwnership(dir, v.EmptyDir != nil); err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		out[v.Name] = dir
	}
	return out, nil
}

// setVolumeOwnership makes an emptyDir world-writable, as the kubelet creates it, and applies
// the pod's fsGroup to every volume the node wrote.
func (r *podRunner) setVolumeOwnership(dir string, emptyDir bool) error {
	if emptyDir {
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
	}
	if psc := r.pod.Spec.SecurityContext; psc != nil && psc.FSGroup != nil {
		return applyFSGroup(dir, *psc.FSGroup, emptyDir)
	}
	return nil
}

// projected writes the sources of a projected volume as the kubelet does, including the
// service account volume every pod gets (a token for the pod's ServiceAccount, bound to the pod,
// the API server's CA and the namespace): Flink's Kubernetes HA services authenticate with it,
// so a missing permission shows here as it would in a cluster.
func (r *podRunner) projected(ctx context.Context, p *corev1.ProjectedVolumeSource) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, src := range p.Sources {
		var part map[string][]byte
		var err error
		switch {
		case src.ConfigMap != nil:
			cm, err := r.configMapFor(ctx, src.ConfigMap.Name)
			if err != nil {
				if src.ConfigMap.Optional != nil && *src.ConfigMap.Optional {
					continue
				}
				return nil, err
			}
			part = project(stringsToBytes(cm.Data), src.ConfigMap.Items)
		case src.ServiceAccountToken != nil:
			part, err = r.serviceAccountToken(ctx, src.ServiceAccountToken)
		case src.DownwardAPI != nil:
			part, err = r.downwardAPI(src.DownwardAPI.Items)
		case src.Secret != nil:
			s, err := r.node.opts.Kube.CoreV1().Secrets(r.pod.Namespace).Get(ctx, src.Secret.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			part = project(s.Data, src.Secret.Items)
		}
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			files[k] = v
		}
	}
	return files, nil
}

// configMapFor reads a ConfigMap a volume projects. kube-root-ca.crt is published by the
// controller manager shortly after a namespace appears, so it is waited for (as the kubelet
// retries a volume it cannot mount yet).
func (r *podRunner) configMapFor(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		cm, err := r.node.opts.Kube.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil || name != rootCAConfigMap || !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			return cm, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

const rootCAConfigMap = "kube-root-ca.crt"

// serviceAccountToken requests a token for the pod's ServiceAccount, bound to the pod (deleting
// the pod invalidates it), as the kubelet does for the projected token.
func (r *podRunner) serviceAccountToken(ctx context.Context, src *corev1.ServiceAccountTokenProjection) (map[string][]byte, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: r.pod.Name, UID: r.pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	sa := r.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tok, err := r.node.opts.Kube.CoreV1().ServiceAccounts(r.pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for ServiceAccount %s: %w", sa, err)
	}
	return map[string][]byte{src.Path: []byte(tok.Status.Token)}, nil
}

// downwardAPI writes the pod fields a downward API projection names.
func (r *podRunner) downwardAPI(items []corev1.DownwardAPIVolumeFile) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, it := range items {
		if it.FieldRef == nil {
			return nil, fmt.Errorf("downward API file %s: only fieldRef runs locally", it.Path)
		}
		v, err := r.fieldValue(it.FieldRef.FieldPath)
		if err != nil {
			return nil, err
		}
		out[it.Path] = []byte(v)
	}
	return out, nil
}

func stringsToBytes(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// project selects the files of a ConfigMap or Secret volume: every key, or only the listed items.
func project(data map[string][]byte, items []corev1.KeyToPath) map[string][]byte {
	if len(items) == 0 {
		return data
	}
	out := map[string][]byte{}
	for _, it := range items {
		if d, ok := data[it.Key]; ok {
			out[it.Path] = d
		}
	}
	return out
}
