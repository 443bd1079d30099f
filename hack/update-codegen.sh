#!/usr/bin/env bash
# Regenerates deepcopy, register, clientset, listers and informers for pkg/apis into
# pkg/generated with k8s.io/code-generator's kube_codegen.sh (the version pinned in go.mod).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
MODULE="github.com/flink-operator/flink-operator"
# Generated code is written relative to OUTPUT_ROOT, so verify-codegen.sh can point it at a copy.
OUTPUT_ROOT="${OUTPUT_ROOT:-${ROOT}}"

# `go list -m` reports an empty Dir for a module not yet in the module cache (a fresh machine):
# download it first.
go mod download k8s.io/code-generator
CODEGEN_PKG="$(go list -m -f '{{.Dir}}' k8s.io/code-generator)"
[[ -n ${CODEGEN_PKG} ]] || { echo "update-codegen: k8s.io/code-generator not found in the module cache" >&2; exit 1; }
# The generators are installed into the project's bin/, never into the user's GOPATH.
export GOBIN="${ROOT}/bin/codegen"
mkdir -p "${GOBIN}"
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
  --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
  "${ROOT}/pkg/apis"

kube::codegen::gen_register \
  --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
  "${ROOT}/pkg/apis"

kube::codegen::gen_client \
  --with-watch \
  --output-dir "${OUTPUT_ROOT}/pkg/generated" \
  --output-pkg "${MODULE}/pkg/generated" \
  --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
  "${ROOT}/pkg/apis"

# Typed clients for the Kubernetes API groups the operator calls, with a scheme that registers
# only these groups. client-go's own typed clients register every group Kubernetes has (about
# fifty) through k8s.io/client-go/kubernetes/scheme, which was the bulk of the operator's binary
# and of its resident memory (docs/benchmarks.md). autoscaling/v1 is here for the Scale
# subresource of Deployments. kube::codegen::gen_client above installed client-gen.
KUBE_GROUPS=(core/v1 apps/v1 batch/v1 networking/v1 policy/v1 autoscaling/v1 autoscaling/v2 discovery/v1 coordination/v1 authorization/v1)
rm -rf "${OUTPUT_ROOT}/pkg/generated/kube"
inputs=()
for group in "${KUBE_GROUPS[@]}"; do inputs+=(--input "${group}"); done
"${GOBIN}/client-gen" \
  --go-header-file "${ROOT}/hack/boilerplate.go.txt" \
  --output-dir "${OUTPUT_ROOT}/pkg/generated/kube" \
  --output-pkg "${MODULE}/pkg/generated/kube" \
  --clientset-name clientset \
  --input-base k8s.io/api \
  --plural-exceptions "Endpoints:Endpoints" \
  --prefers-protobuf \
  "${inputs[@]}"
