//go:build flink

package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Flink configuration files the operator writes: flat `key: value` lines.
var flinkConfFiles = []string{"config.yaml", "flink-conf.yaml"}

// addressKeys hold a host that other processes use to reach the JobManager; in a pod they name
// the JobManager Service.
var addressKeys = map[string]bool{"jobmanager.rpc.address": true, "rest.address": true}

// bindKeys are listen addresses: 0.0.0.0 in a pod, the pod's own loopback address here.
var bindKeys = map[string]bool{"jobmanager.bind-host": true, "taskmanager.bind-host": true, "rest.bind-address": true}

// portKeys are ports, each with the address key naming the host it belongs to when it is a
// remote one ("" when the port is only ever the process's own).
var portKeys = map[string]string{
	"jobmanager.rpc.port":   "jobmanager.rpc.address",
	"blob.server.port":      "jobmanager.rpc.address",
	"rest.port":             "rest.address",
	"taskmanager.rpc.port":  "",
	"taskmanager.data.port": "",
}

var confLineRE = regexp.MustCompile(`^([A-Za-z0-9_.$-]+):[ \t]*(.*?)[ \t]*$`)

// localConf copies FLINK_CONF_DIR into the pod directory with the loopback rewrites applied, and
// returns the copy and its settings.
func (r *podRunner) localConf(ctx context.Context, c corev1.Container, env map[string]string, rw *rewrites) (string, map[string]string, error) {
	src := env["FLINK_CONF_DIR"]
	if src == "" {
		return "", nil, fmt.Errorf("FLINK_CONF_DIR is not set: the image's own /opt/flink/conf is not available locally")
	}
	dst := filepath.Join(r.dir, c.Name+"-conf")
	if err := os.RemoveAll(dst); err != nil {
		return "", nil, err
	}
	if err := mkdirAll(dst); err != nil {
		return "", nil, err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", nil, fmt.Errorf("FLINK_CONF_DIR: %w", err)
	}
	conf := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return "", nil, err
		}
		if isFlinkConf(e.Name()) {
			var settings map[string]string
			b, settings = r.rewriteFlinkConf(ctx, c, e.Name(), b, rw)
			for k, v := range settings {
				conf[k] = v
			}
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return "", nil, err
		}
	}
	return dst, conf, nil
}

func isFlinkConf(name string) bool {
	for _, f := range flinkConfFiles {
		if f == name {
			return true
		}
	}
	return false
}

// rewriteFlinkConf applies the loopback rewrites to one configuration file and returns it with its
// (rewritten) settings. Keys are only ever changed, never added: a key the operator forgot stays
// missing.
func (r *podRunner) rewriteFlinkConf(ctx context.Context, c corev1.Container, file string, data []byte, rw *rewrites) ([]byte, map[string]string) {
	lines := strings.Split(string(data), "\n")
	orig := map[string]string{}
	for _, l := range lines {
		if m := confLineRE.FindStringSubmatch(l); m != nil {
			orig[m[1]] = unquote(m[2])
		}
	}
	settings := map[string]string{}
	for i, l := range lines {
		m := confLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		key, value := m[1], unquote(m[2])
		if nv, ok := r.loopbackValue(ctx, c, key, value, orig); ok && nv != value {
			rw.add(fmt.Sprintf("%s: %s: %s -> %s", file, key, value, nv))
			value = nv
			if strings.HasPrefix(m[2], `"`) {
				nv = strconv.Quote(nv)
			}
			lines[i] = key + ": " + nv
		}
		settings[key] = value
	}
	return []byte(strings.Join(lines, "\n")), settings
}

// loopbackValue is the value a network key must have for this process to run on loopback.
func (r *podRunner) loopbackValue(ctx context.Context, c corev1.Container, key, value string, conf map[string]string) (string, bool) {
	switch {
	case addressKeys[key]:
		if r.node.services.serviceForHost(ctx, r.pod.Namespace, value) != nil {
			return loopback, true
		}
	case bindKeys[key]:
		if value == "0.0.0.0" {
			return r.localIP, true
		}
	default:
		addrKey, isPort := portKeys[key]
		if !isPort {
			return "", false
		}
		if local, ok := r.containerPort(c, value); ok {
			return strconv.Itoa(local), true // the process's own port
		}
		port, err := strconv.Atoi(value)
		if err != nil || addrKey == "" {
			return "", false
		}
		if local, ok := r.servicePort(ctx, conf[addrKey], int32(port)); ok {
			return strconv.Itoa(local), true // a port of the Service the address names
		}
	}
	return "", false
}

func unquote(v string) string {
	if strings.HasPrefix(v, `"`) {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
	}
	if len(v) >= 2 && strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	return v
}
