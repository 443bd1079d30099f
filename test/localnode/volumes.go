//go:build flink

package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
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

// projected writes the ConfigMap and Secret sources of a projected volume. The service account
// token and the downward API are left out: nothing the operator runs reads them, and no API
// server credentials belong on a test machine's disk.
func (r *podRunner) projected(ctx context.Context, p *corev1.ProjectedVolumeSource) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, src := range p.Sources {
		var part map[string][]byte
		switch {
		case src.ConfigMap != nil:
			cm, err := r.node.opts.Kube.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, src.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				if src.ConfigMap.Optional != nil && *src.ConfigMap.Optional {
					continue
				}
				// kube-root-ca.crt is published by a controller this cluster may not run yet.
				if src.ConfigMap.Name == "kube-root-ca.crt" {
					continue
				}
				return nil, err
			}
			part = project(stringsToBytes(cm.Data), src.ConfigMap.Items)
		case src.Secret != nil:
			s, err := r.node.opts.Kube.CoreV1().Secrets(r.pod.Namespace).Get(ctx, src.Secret.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			part = project(s.Data, src.Secret.Items)
		}
		for k, v := range part {
			files[k] = v
		}
	}
	return files, nil
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
