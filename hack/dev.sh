#!/usr/bin/env bash
# `make dev`: the local cluster, the CRD and the operator in one command, with real Flink.
#
# Real mode (the default when Java 17 or newer is on PATH and this runs as root): the local
# node of the e2e tier (test/cmd/flink-node) is the cluster's only node and runs the pods the
# operator creates as Flink processes of the distribution in bin/flink/VERSION; the sample
# (bin/dev/counter.yaml) runs the project's stateful counter job, built once into bin/flink-job/.
# Savepoints, the job's output and every container's log land under bin/dev/. `kubectl proxy`
# runs on 127.0.0.1:8001 so that the dashboard URL that `kubectl flink ui` and the operator's
# status report opens in a browser.
#
# Simulated mode (DEV_MODE=sim, or without Java 17 or root): pods sit on kwok's fake nodes and the
# simulated JobManager (test/cmd/flink-sim) answers the operator's REST calls; nothing runs.
#
# The operator runs in the foreground; Ctrl-C stops it and the node (and with it every Flink
# process). The cluster keeps running until `make cluster-down`. docs/dev.md has the details.
#
# Environment: DEV_MODE real|sim [real when possible], DEV_FLINK_VERSION [2.3.0],
# SIM_PORT [8990], NODE_PROXY_PORT [8991], KUBE_PROXY_PORT [8001]; and for a second instance
# (the test of this script, test/dev): CLUSTER_NAME [flink-operator], DEV_KUBECONFIG
# [bin/kubeconfig], DEV_DIR [bin/dev], DEV_POD_NETWORK [244: pod IPs 10.244.x.y]. Arguments go to the operator (after the script's flags).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
export KUBECONFIG="${DEV_KUBECONFIG:-${ROOT}/bin/kubeconfig}"
export CLUSTER_NAME="${CLUSTER_NAME:-flink-operator}"
DEV_DIR="${DEV_DIR:-${ROOT}/bin/dev}"
SIM_PORT="${SIM_PORT:-8990}"
NODE_PROXY_PORT="${NODE_PROXY_PORT:-8991}"
KUBE_PROXY_PORT="${KUBE_PROXY_PORT:-8001}"
FLINK_VERSION="${DEV_FLINK_VERSION:-2.3.0}"

# java_major prints the major version of the java on PATH (nothing without one).
java_major() {
  command -v java >/dev/null || return 0
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}

mode=${DEV_MODE:-}
if [[ -z ${mode} ]]; then
  major=$(java_major)
  if [[ -z ${major} || ${major} -lt 17 ]]; then
    mode=sim
    echo "make dev: simulated Flink (no Java 17 or newer on PATH; see docs/dev.md)" >&2
  elif [[ $(id -u) != 0 ]]; then
    mode=sim
    echo "make dev: simulated Flink (real Flink needs root to run pods as their users; see docs/dev.md)" >&2
  else
    mode=real
  fi
fi
[[ ${mode} == real || ${mode} == sim ]] || { echo "DEV_MODE must be real or sim, got '${mode}'" >&2; exit 2; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "${p}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "${p}" 2>/dev/null || true; done
}
trap cleanup EXIT
# Every process runs in the background and the script waits for the operator, so Ctrl-C or
# SIGTERM reaches the script at once (a trap waits while a foreground child runs) and cleanup
# stops the operator, the node (and with it every Flink process) and kubectl proxy with SIGTERM;
# kubectl proxy, started with & by a script, would ignore Ctrl-C's SIGINT itself.
trap 'exit 130' INT
trap 'exit 143' TERM

# port_free PORT NAME: fail unless nothing listens on 127.0.0.1:PORT (a port held by someone
# else would answer wait_port for a process that could not bind it).
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "make dev: port $1 ($2) is in use; stop what holds it or set the variable in docs/dev.md" >&2
    exit 1
  fi
}

# wait_port PORT PID NAME LOG: until PID listens on 127.0.0.1:PORT (30 s).
wait_port() {
  for _ in $(seq 60); do
    kill -0 "$2" 2>/dev/null || break
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "make dev: $3 did not start; its log: $4" >&2
  tail -20 "$4" >&2
  exit 1
}

go build -o bin/flink-operator ./cmd/flink-operator
go build -o bin/kubectl-flink ./cmd/kubectl-flink

if [[ ${mode} == sim ]]; then
  KUBECONFIG_OUT="${KUBECONFIG}" hack/cluster-up.sh >/dev/null
  hack/install-crd.sh >/dev/null
  go build -o bin/flink-sim ./test/cmd/flink-sim
  bin/flink-sim --listen "127.0.0.1:${SIM_PORT}" --kubeconfig "${KUBECONFIG}" >bin/dev-sim.log 2>&1 &
  pids+=($!)
  sample=deploy/samples/job-cluster-savepoints.yaml
  name=state-machine-savepoints
  jm_url="http://127.0.0.1:${SIM_PORT}/clusters/{{.Namespace}}/{{.Name}}"
  where="The simulated JobManager listens on 127.0.0.1:${SIM_PORT} (log: bin/dev-sim.log); no Flink process runs."
  operator_args=()
  also=
else
  # No kwok nodes: the local node is the only place the scheduler can put pods (see
  # test/e2e/main_test.go for why kwok is told to leave it alone).
  mkdir -p "${DEV_DIR}"
  DEV_DIR=$(cd "${DEV_DIR}" && pwd -P) # savepointsDir and the job's output are absolute paths
  egress=${DEV_DIR}/egress.sock
  KUBECONFIG_OUT="${KUBECONFIG}" NODES=0 EGRESS_SOCKET="${egress}" \
    EXTRA_ARGS="kwok-controller=manage-all-nodes=false kwok-controller=manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" \
    hack/cluster-up.sh >/dev/null
  hack/install-crd.sh >/dev/null
  hack/fetch-flink.sh "${FLINK_VERSION}" >/dev/null
  jar=$(test/flink-job/build.sh "${FLINK_VERSION}")
  go build -tags flink -o bin/flink-node ./test/cmd/flink-node
  port_free "${NODE_PROXY_PORT}" NODE_PROXY_PORT
  port_free "${KUBE_PROXY_PORT}" KUBE_PROXY_PORT
  mkdir -p "${DEV_DIR}/savepoints" "${DEV_DIR}/output"
  chmod 0777 "${DEV_DIR}/savepoints" "${DEV_DIR}/output" # written by the pods' user, uid 9999
  bin/flink-node --kubeconfig "${KUBECONFIG}" --work-dir "${DEV_DIR}" --pod-network "${DEV_POD_NETWORK:-244}" \
    --service-proxy "127.0.0.1:${NODE_PROXY_PORT}" --egress "${egress}" \
    --operator-image flink-operator:dev --operator-binary "${ROOT}/bin/flink-operator" \
    --log "${DEV_DIR}/node.log" 2>>"${DEV_DIR}/node-stderr.log" &
  pids+=($!)
  wait_port "${NODE_PROXY_PORT}" $! "the local node" "${DEV_DIR}/node-stderr.log"
  bin/kubectl proxy --port "${KUBE_PROXY_PORT}" >"${DEV_DIR}/kubectl-proxy.log" 2>&1 &
  pids+=($!)
  wait_port "${KUBE_PROXY_PORT}" $! "kubectl proxy" "${DEV_DIR}/kubectl-proxy.log"
  name=counter
  sample=${DEV_DIR}/counter.yaml
  write_sample() {
    cat <<EOF
# The project's stateful counter job (test/flink-job) on Flink ${FLINK_VERSION}, run by the local node:
# four keys counted at 20 records/s, the counts written to ${DEV_DIR}/output/counts.txt, a savepoint
# every 60 s into ${DEV_DIR}/savepoints. Written by hack/dev.sh.
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: ${name}
spec:
  image:
    name: flink:${FLINK_VERSION}
  jobManager: {}
  taskManager:
    replicas: 1
  job:
    jarFile: ${jar}
    className: org.flinkoperator.testjob.CounterJob
    args: ["--out", "${DEV_DIR}/output/counts.txt", "--rate", "20", "--keys", "4"]
    parallelism: 1
    savepointsDir: file://${DEV_DIR}/savepoints
    autoSavepointSeconds: 60
    restartPolicy: FromSavepointOnFailure
  flinkProperties:
    taskmanager.numberOfTaskSlots: "2"
EOF
  }
  write_sample >"${sample}"
  cat >"${DEV_DIR}/session.yaml" <<EOF
# A session cluster on Flink ${FLINK_VERSION}: submit jobs to it yourself (its dashboard has an upload
# page). Written by hack/dev.sh.
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata:
  name: session
spec:
  image:
    name: flink:${FLINK_VERSION}
  jobManager: {}
  taskManager:
    replicas: 1
EOF
  jm_url="http://127.0.0.1:${NODE_PROXY_PORT}/services/{{.Namespace}}/{{.Service}}/{{.Port}}"
  where="The local node runs pods as Flink ${FLINK_VERSION} processes (log: ${DEV_DIR}/node.log; pods: ${DEV_DIR}/pods/);
kubectl proxy serves the API on 127.0.0.1:${KUBE_PROXY_PORT}, which is how the dashboard URL opens."
  also="
  kubectl apply -f ${DEV_DIR}/session.yaml  # a session cluster; kubectl flink ui session"
  operator_args=(--jar-fetcher-image=flink-operator:dev
    "--dashboard-url-template=http://127.0.0.1:${KUBE_PROXY_PORT}/api/v1/namespaces/{{.Namespace}}/services/{{.Service}}:ui/proxy/")
fi

cat <<MSG

The local cluster is up and the FlinkCluster CRD is installed. ${where}
The operator starts below (Ctrl-C stops it). In another terminal:

  export KUBECONFIG=${KUBECONFIG}
  export PATH=${ROOT}/bin:\$PATH
  kubectl apply -f ${sample}
  kubectl get flinkclusters -w
  kubectl flink ui ${name}              # the dashboard's URL
  kubectl logs -l app.kubernetes.io/component=taskmanager
  kubectl flink savepoint ${name}       # prints the savepoint's location
  kubectl flink status ${name}${also}

Stop the operator with Ctrl-C, the cluster with 'make cluster-down'.

MSG
bin/flink-operator --kubeconfig "${KUBECONFIG}" \
  --health-probe-bind-address=127.0.0.1:8081 --metrics-bind-address=127.0.0.1:8080 \
  --jobmanager-url-template="${jm_url}" "${operator_args[@]}" "$@" &
operator=$!
pids=("${operator}" "${pids[@]}")
wait "${operator}"
