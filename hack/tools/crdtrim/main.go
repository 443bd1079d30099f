// Command crdtrim removes the descriptions nested inside embedded Kubernetes types (containers,
// volumes, resources, ...) from a generated CRD. Those descriptions are Kubernetes' own docs,
// repeated for every embedded copy; without them the CRD fits the 256 KiB annotation that a
// client-side `kubectl apply` writes, while every FlinkCluster field keeps its description for
// `kubectl explain`.
//
// Usage: crdtrim FILE [FILE...]   (rewrites each file in place)
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// embeddedFields are the FlinkCluster fields whose schema is a Kubernetes type. The field's own
// description stays; everything below it loses its description.
var embeddedFields = map[string]bool{
	"envVars": true, "envFrom": true, "pullSecrets": true, "resources": true,
	"volumes": true, "volumeMounts": true, "sidecars": true, "initContainers": true,
	"conditions": true, "tolerations": true, "securityContext": true, "affinity": true,
	"podSecurityContext": true, "livenessProbe": true, "readinessProbe": true,
}

func main() {
	for _, path := range os.Args[1:] {
		if err := trimFile(path); err != nil {
			fmt.Fprintf(os.Stderr, "crdtrim: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func trimFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd map[string]interface{}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return err
	}
	walk(crd, false)
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// walk visits every schema node; below an embedded field it deletes descriptions.
func walk(node interface{}, strip bool) {
	switch n := node.(type) {
	case map[string]interface{}:
		if strip {
			delete(n, "description")
		}
		if props, ok := n["properties"].(map[string]interface{}); ok {
			for name, child := range props {
				if !strip && embeddedFields[name] {
					walkBoundary(child)
				} else {
					walk(child, strip)
				}
			}
		}
		for key, child := range n {
			if key != "properties" {
				walk(child, strip)
			}
		}
	case []interface{}:
		for _, child := range n {
			walk(child, strip)
		}
	}
}

// walkBoundary keeps an embedded field's own description and strips everything below it.
func walkBoundary(child interface{}) {
	m, ok := child.(map[string]interface{})
	if !ok {
		walk(child, true)
		return
	}
	desc, hasDesc := m["description"]
	walk(m, true)
	if hasDesc {
		m["description"] = desc
	}
}
