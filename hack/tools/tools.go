//go:build tools

// Package tools pins the dev-time tools (code generators) in their own module so that their
// dependencies never leak into the operator's go.mod.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
