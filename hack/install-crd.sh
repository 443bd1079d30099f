#!/usr/bin/env bash
# Applies the CRD to the cluster of $KUBECONFIG and waits (at most 60 s) until it is Established.
# (kubectl wait fails at once while the new CRD has no conditions yet, hence the loop.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KUBECTL="${KUBECTL:-${ROOT}/bin/kubectl}"
# Server-side: the CRD is larger than the last-applied annotation a client-side apply writes.
"${KUBECTL}" apply --server-side --force-conflicts -f "${ROOT}/deploy/crd/" >/dev/null
for _ in $(seq 1 60); do
  status="$("${KUBECTL}" get crd flinkclusters.flinkoperator.k8s.io \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null || true)"
  if [ "${status}" = "True" ]; then
    echo "CRD flinkclusters.flinkoperator.k8s.io established"
    exit 0
  fi
  sleep 1
done
echo "CRD flinkclusters.flinkoperator.k8s.io not Established after 60 s" >&2
exit 1
