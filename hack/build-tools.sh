#!/usr/bin/env bash
# Builds the dev-time tools pinned in hack/tools/go.mod into bin/. A tool is rebuilt only when
# hack/tools/go.sum changed since it was built, so repeated calls cost nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
declare -A PACKAGES=(
  [controller-gen]=sigs.k8s.io/controller-tools/cmd/controller-gen
  [crdtrim]=./crdtrim
)
tools=("$@")
[ "${#tools[@]}" -gt 0 ] || tools=("${!PACKAGES[@]}")

mkdir -p "${ROOT}/bin/.stamps"
want="$(cat "${ROOT}/hack/tools/go.sum" "${ROOT}"/hack/tools/crdtrim/*.go | sha256sum | cut -d' ' -f1)"
for tool in "${tools[@]}"; do
  pkg="${PACKAGES[$tool]:?unknown tool $tool}"
  stamp="${ROOT}/bin/.stamps/${tool}"
  if [ -x "${ROOT}/bin/${tool}" ] && [ "$(cat "${stamp}" 2>/dev/null)" = "${want}" ]; then
    continue
  fi
  echo "building ${tool} from hack/tools" >&2
  (cd "${ROOT}/hack/tools" && go build -o "${ROOT}/bin/${tool}" "${pkg}")
  echo "${want}" > "${stamp}"
done
