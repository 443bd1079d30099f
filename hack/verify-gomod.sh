#!/usr/bin/env bash
# Fails when go.mod or go.sum would change under 'go mod tidy' (a dependency added by hand or left
# behind).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
if ! go mod tidy -diff >/dev/null 2>&1; then
  echo "go.mod/go.sum are not tidy; run 'go mod tidy' and commit:" >&2
  go mod tidy -diff >&2 || true
  exit 1
fi
echo "go.mod tidy"
