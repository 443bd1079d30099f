#!/usr/bin/env bash
# `make dev`: the local cluster, the CRD and the operator in one command. The operator runs in the
# foreground (Ctrl-C stops it); the cluster keeps running until `make cluster-down`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
export KUBECONFIG="${ROOT}/bin/kubeconfig"

KUBECONFIG_OUT="${KUBECONFIG}" hack/cluster-up.sh >/dev/null
bin/kubectl apply -f deploy/crd/ >/dev/null
bin/kubectl wait --for condition=Established --timeout=60s crd/flinkclusters.flinkoperator.k8s.io >/dev/null
go build -o bin/flink-operator ./cmd/flink-operator

cat <<MSG

The local cluster is up and the FlinkCluster CRD is installed. The operator starts below.
In another terminal:

  export KUBECONFIG=${KUBECONFIG}
  export PATH=${ROOT}/bin:\$PATH
  kubectl apply -f deploy/samples/session-cluster.yaml
  kubectl get flinkclusters
  kubectl explain flinkcluster.spec.job

Stop the operator with Ctrl-C, the cluster with 'make cluster-down'.

MSG
exec bin/flink-operator --kubeconfig "${KUBECONFIG}" \
  --health-probe-bind-address=127.0.0.1:8081 --metrics-bind-address=127.0.0.1:8080 "$@"
