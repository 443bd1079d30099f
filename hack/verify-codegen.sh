#!/usr/bin/env bash
# Fails when the committed generated code (pkg/generated, zz_generated.*) differs from what
# hack/update-codegen.sh produces now.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

# Generate into a scratch copy of the tree so the working tree is never touched.
mkdir -p "${TMP}/tree"
tar -C "${ROOT}" --exclude=./bin --exclude=./.git -cf - . | tar -C "${TMP}/tree" -xf -
(cd "${TMP}/tree" && bash hack/update-codegen.sh >/dev/null)

status=0
for path in pkg/generated pkg/apis; do
  if ! diff -ruN "${ROOT}/${path}" "${TMP}/tree/${path}" >"${TMP}/diff"; then
    echo "Generated code under ${path} is out of date; run 'make generate' and commit:" >&2
    head -50 "${TMP}/diff" >&2
    status=1
  fi
done
[ "${status}" -eq 0 ] && echo "generated code is up to date"
exit "${status}"
