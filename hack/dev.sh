#!/usr/bin/env bash
# `make dev`: the local cluster, the CRD, the simulated JobManager and the operator in one command.
# The operator runs in the foreground (Ctrl-C stops it and the simulator); the cluster keeps
# running until `make cluster-down`.
#
# Pods on the local cluster are simulated by kwok, so no Flink process runs in them: the
# simulated JobManager (test/cmd/flink-sim) answers the operator's Flink REST calls for every
# FlinkCluster and "runs" each submitter's flink run command line. SIM_PORT changes its port.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
export KUBECONFIG="${ROOT}/bin/kubeconfig"
SIM_PORT="${SIM_PORT:-8990}"

KUBECONFIG_OUT="${KUBECONFIG}" hack/cluster-up.sh >/dev/null
hack/install-crd.sh >/dev/null
go build -o bin/flink-operator ./cmd/flink-operator
go build -o bin/flink-sim ./test/cmd/flink-sim
go build -o bin/kubectl-flink ./cmd/kubectl-flink

bin/flink-sim --listen "127.0.0.1:${SIM_PORT}" --kubeconfig "${KUBECONFIG}" >bin/dev-sim.log 2>&1 &
SIM_PID=$!
trap 'kill ${SIM_PID} 2>/dev/null || true' EXIT

cat <<MSG

The local cluster is up, the FlinkCluster CRD is installed and the simulated JobManager listens on
127.0.0.1:${SIM_PORT} (log: bin/dev-sim.log). The operator starts below. In another terminal:

  export KUBECONFIG=${KUBECONFIG}
  export PATH=${ROOT}/bin:\$PATH
  kubectl apply -f deploy/samples/job-cluster-savepoints.yaml
  kubectl get flinkclusters -w
  kubectl flink savepoint state-machine-savepoints    # the kubectl plugin, docs/kubectl-flink.md
  kubectl flink status state-machine-savepoints
  kubectl describe fc state-machine-savepoints

Stop the operator with Ctrl-C, the cluster with 'make cluster-down'.

MSG
bin/flink-operator --kubeconfig "${KUBECONFIG}" \
  --health-probe-bind-address=127.0.0.1:8081 --metrics-bind-address=127.0.0.1:8080 \
  --jobmanager-url-template="http://127.0.0.1:${SIM_PORT}/clusters/{{.Namespace}}/{{.Name}}" "$@"
