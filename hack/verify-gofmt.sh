#!/usr/bin/env bash
# Fails when any Go file outside bin/ is not gofmt-clean.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
bad="$(find . -name '*.go' -not -path './bin/*' -not -path './.git/*' -print0 | xargs -0 gofmt -l)"
if [ -n "${bad}" ]; then
  echo "gofmt would change these files; run 'gofmt -w' on them:" >&2
  echo "${bad}" >&2
  exit 1
fi
echo "gofmt clean"
