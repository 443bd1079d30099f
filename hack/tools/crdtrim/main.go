// Command crdtrim post-processes a generated CRD:
//
//   - it removes the descriptions nested inside embedded Kubernetes types (containers, volumes,
//     resources, ...). Those descriptions are Kubernetes' own docs, repeated for every embedded
//     copy; without them the CRD is a third of the size (it is installed with server-side apply,
//     being larger than a client-side apply's annotation can hold even so), while every
//     FlinkCluster field keeps its description for `kubectl explain`;
//   - it bounds every string, list and map under spec that has no bound of its own (the
//     embedded Kubernetes types have none, and their Go types cannot carry markers): the API
//     server then knows the largest spec it can be sent, which keeps CEL cost estimates honest
//     and no single field can take the whole request. The defaults are in bounds below and in
//     docs/api.md; FlinkCluster's own fields are sized one by one with markers.
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
	"hostAliases": true, "topologySpreadConstraints": true, "dnsConfig": true, "metrics": true,
	"behavior": true, "podDisruptionBudget": true,
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
	if err := boundSpec(crd); err != nil {
		return err
	}
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

// Default bounds of spec nodes without their own. Strings in command lines and file contents
// (a shell script in args, a logging configuration) get the long bound.
const (
	defaultMaxLength     = 4096
	longMaxLength        = 65536
	defaultMaxItems      = 256
	defaultMaxProperties = 256
)

// longStrings are the fields whose strings (or list items, or map values) get longMaxLength.
var longStrings = map[string]bool{"command": true, "args": true, "logConfig": true, "annotations": true,
	"podAnnotations": true, "ServiceAnnotations": true, "value": true, "script": true}

func boundSpec(crd map[string]interface{}) error {
	versions, _ := nested(crd, "spec", "versions").([]interface{})
	if len(versions) == 0 {
		return fmt.Errorf("no spec.versions")
	}
	for _, v := range versions {
		spec, ok := nested(v, "schema", "openAPIV3Schema", "properties", "spec").(map[string]interface{})
		if !ok {
			return fmt.Errorf("no spec schema")
		}
		bound(spec, "spec")
	}
	return nil
}

func nested(node interface{}, keys ...string) interface{} {
	for _, k := range keys {
		m, ok := node.(map[string]interface{})
		if !ok {
			return nil
		}
		node = m[k]
	}
	return node
}

// bound adds the default bound to node when it has none, then visits its children; field is
// the name of the property node belongs to (list items and map values inherit it).
func bound(node map[string]interface{}, field string) {
	switch node["type"] {
	case "string":
		_, hasMax := node["maxLength"]
		_, isEnum := node["enum"]
		if !hasMax && !isEnum {
			node["maxLength"] = defaultMaxLength
			if longStrings[field] {
				node["maxLength"] = longMaxLength
			}
		}
	case "array":
		if _, ok := node["maxItems"]; !ok {
			node["maxItems"] = defaultMaxItems
		}
	case "object":
		if _, isMap := node["additionalProperties"].(map[string]interface{}); isMap {
			if _, ok := node["maxProperties"]; !ok {
				node["maxProperties"] = defaultMaxProperties
			}
		}
	}
	if props, ok := node["properties"].(map[string]interface{}); ok {
		for name, child := range props {
			if c, ok := child.(map[string]interface{}); ok {
				bound(c, name)
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if c, ok := node[key].(map[string]interface{}); ok {
			bound(c, field)
		}
	}
}
