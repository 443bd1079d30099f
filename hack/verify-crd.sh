#!/usr/bin/env bash
# Fails when deploy/crd/ differs from what hack/update-crd.sh generates from the API types.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

CRD_DIR="${TMP}" bash "${ROOT}/hack/update-crd.sh"
if ! diff -ruN "${ROOT}/deploy/crd" "${TMP}" -x kustomization.yaml >"${TMP}.diff"; then
  echo "deploy/crd is out of date; run 'make generate' and commit:" >&2
  head -50 "${TMP}.diff" >&2
  rm -f "${TMP}.diff"
  exit 1
fi
rm -f "${TMP}.diff"
echo "CRD is up to date"
