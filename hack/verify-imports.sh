#!/usr/bin/env bash
# Checks the import rules of docs/architecture.md ("Import rules"): the packages that decide are
# pure (no Kubernetes client, lister, informer, HTTP, Flink REST client, metrics, observer or
# updater, and no wall clock), only observer and updater do I/O, the observer never writes, and
# nothing but cmd/ and tests imports pkg/controller.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mod=$(go list -m)
pure=(fsm retention health state desired decide snapshot names shard)
# Forbidden anywhere in a pure package's dependencies (go list -deps).
forbidden_deps="^(k8s.io/client-go/(kubernetes|listers|informers|tools/cache|tools/record|rest)|${mod}/pkg/(generated|flinkclient)|${mod}/pkg/controller/(observer|updater|metrics))(/|$)"
# Forbidden as a direct import (net/http comes in through apimachinery's utilities, so only a
# direct import is a pure package doing HTTP itself).
forbidden_direct="^(net/http|net)$"
fail=0

for p in "${pure[@]}"; do
  pkg="${mod}/pkg/controller/${p}"
  bad=$(go list -deps "./pkg/controller/${p}" | grep -E "${forbidden_deps}" || true)
  if [ -n "$bad" ]; then
    echo "verify-imports: ${pkg} must stay pure but depends on:"; echo "$bad" | sed 's/^/  /'; fail=1
  fi
  bad=$(go list -f '{{join .Imports "\n"}}' "./pkg/controller/${p}" | grep -E "${forbidden_direct}" || true)
  if [ -n "$bad" ]; then
    echo "verify-imports: ${pkg} must stay pure but imports:"; echo "$bad" | sed 's/^/  /'; fail=1
  fi
  # Time comes in as an argument: no wall clock outside tests.
  bad=$(grep -nE '\btime\.(Now|Since|Until)\(' "pkg/controller/${p}"/*.go 2>/dev/null | grep -v '_test.go:' || true)
  if [ -n "$bad" ]; then
    echo "verify-imports: ${pkg} reads the wall clock (time comes in as an argument):"; echo "$bad" | sed 's/^/  /'; fail=1
  fi
done

if go list -deps ./pkg/controller/observer | grep -qE "^${mod}/pkg/controller/updater$"; then
  echo "verify-imports: the observer must not import the updater (it only reads)"; fail=1
fi

importers=$(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./... | awk -v c="${mod}/pkg/controller" '{for (i = 2; i <= NF; i++) if ($i == c) print $1}' \
  | grep -vE "^${mod}/(cmd|test)/" || true)
if [ -n "$importers" ]; then
  echo "verify-imports: only cmd/ and tests may import ${mod}/pkg/controller; found:"; echo "$importers" | sed 's/^/  /'; fail=1
fi

# The operator links only the API groups it calls (pkg/controller/clients): client-go's clientset,
# informer factory, discovery client and leader election each bring every API group Kubernetes has,
# as do the top-level generated clientsets (through discovery).
binary_forbidden="^(k8s.io/client-go/(kubernetes|informers|discovery|tools/leaderelection)|${mod}/pkg/generated/(informers|clientset/versioned$|kube/clientset$))(/|$)"
bad=$(go list -deps ./cmd/flink-operator | grep -E "${binary_forbidden}" || true)
if [ -n "$bad" ]; then
  echo "verify-imports: the operator binary must not link (it would carry every API group):"; echo "$bad" | sed 's/^/  /'; fail=1
fi

[ "$fail" -eq 0 ] && echo "import rules hold"
exit "$fail"
