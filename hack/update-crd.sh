#!/usr/bin/env bash
# Generates the FlinkCluster CRD from the kubebuilder markers in pkg/apis into deploy/crd/.
# controller-gen is built from hack/tools (its own module) into bin/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
CRD_DIR="${CRD_DIR:-${ROOT}/deploy/crd}"

"${ROOT}/hack/build-tools.sh" controller-gen crdtrim
mkdir -p "${CRD_DIR}"
# maxDescLen=0 would also drop the FlinkCluster field docs that kubectl explain shows; crdtrim
# instead drops only the docs nested in embedded Kubernetes types (see hack/tools/crdtrim).
"${ROOT}/bin/controller-gen" crd:crdVersions=v1 \
  paths=./pkg/apis/... \
  output:crd:dir="${CRD_DIR}"
"${ROOT}/bin/crdtrim" "${CRD_DIR}"/*.yaml
