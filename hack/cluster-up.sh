#!/usr/bin/env bash
# Starts the local Kubernetes cluster (kwokctl, binary runtime, fake kwok nodes)
# from the binaries that hack/build-cluster-tools.sh builds into bin/.
# Idempotent: if the cluster already runs with the same settings it only
# rewrites the kubeconfig, scales the nodes and waits for readiness.
# stdout gets exactly one line, `export KUBECONFIG=...`, so that
#   eval "$(hack/cluster-up.sh)"
# works; progress goes to stderr. See docs/local-cluster.md.
#
# Environment (defaults in brackets):
#   CLUSTER_NAME        kwokctl cluster name [flink-operator]
#   BIN_DIR             where the binaries are [bin/]
#   KWOK_WORKDIR        kwokctl's working directory [BIN_DIR/kwok-work]
#   KUBECONFIG_OUT      kubeconfig written here [BIN_DIR/kubeconfig]
#   SCALE               1: settings for benchmarks (QPS limits off, more nodes) [0]
#   NODES               number of fake nodes, 110 pods each [3; 20 with SCALE=1]
#   DISABLE_QPS_LIMITS  kwokctl --disable-qps-limits [SCALE]
#   SERVICE_CIDR        Service ClusterIP range [10.96.0.0/16]
#   KCM_API_QPS, KCM_API_BURST
#                       kube-controller-manager --kube-api-qps/--kube-api-burst
#                       [unset: kube defaults 20/30, or kwokctl's unlimited
#                       values with DISABLE_QPS_LIMITS=1]
#   AUDIT_POLICY        an audit policy file: the API server then writes an audit
#                       log to KWOK_WORKDIR/clusters/CLUSTER_NAME/logs/audit.log [unset]
#   EGRESS_SOCKET       a Unix socket path: the API server sends its "cluster"
#                       traffic (Service and pod proxy, kubectl logs) through the
#                       HTTP CONNECT proxy there, as through a konnectivity
#                       server; the local node of make dev serves it [unset]
#   EXTRA_ARGS          more space-separated component=flag=value words for
#                       kwokctl --extra-args, e.g. "kube-apiserver=v=4"
#   WAIT_TIMEOUT        seconds for each wait (create, API ready, nodes) [180]
#   SKIP_BUILD          1: do not run hack/build-cluster-tools.sh [0]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${BIN_DIR:-${ROOT}/bin}
CLUSTER_NAME=${CLUSTER_NAME:-flink-operator}
SCALE=${SCALE:-0}
if [[ ${SCALE} == 1 ]]; then NODES=${NODES:-20}; else NODES=${NODES:-3}; fi
DISABLE_QPS_LIMITS=${DISABLE_QPS_LIMITS:-${SCALE}}
SERVICE_CIDR=${SERVICE_CIDR:-10.96.0.0/16}
KCM_API_QPS=${KCM_API_QPS:-}
KCM_API_BURST=${KCM_API_BURST:-}
EXTRA_ARGS=${EXTRA_ARGS:-}
AUDIT_POLICY=${AUDIT_POLICY:-}
EGRESS_SOCKET=${EGRESS_SOCKET:-}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-180}
SKIP_BUILD=${SKIP_BUILD:-0}

log() { printf '[cluster-up] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  local d=${KWOK_WORKDIR:-}/clusters/${CLUSTER_NAME} f p
  if [[ -n ${KWOK_WORKDIR:-} && -d ${d}/pids ]]; then
    for f in "${d}"/pids/*.pid; do
      [[ -f ${f} ]] || continue
      p=$(cat "${f}")
      if [[ -d /proc/${p} && $(awk '{print $3}' "/proc/${p}/stat" 2>/dev/null) != Z ]]; then
        log "  $(basename "${f}" .pid): running (pid ${p})"
      else
        log "  $(basename "${f}" .pid): NOT running; last log lines:"
        tail -n 15 "${d}/logs/$(basename "${f}" .pid).log" 2>/dev/null | sed 's/^/      /' >&2 || true
      fi
    done
    log "component logs: ${d}/logs/"
  fi
  exit 1
}

[[ ${NODES} =~ ^[0-9]+$ ]] || die "NODES must be a number, got '${NODES}'"
[[ ${WAIT_TIMEOUT} =~ ^[0-9]+$ ]] || die "WAIT_TIMEOUT must be a number of seconds, got '${WAIT_TIMEOUT}'"

start_all=${SECONDS}
if [[ ${SKIP_BUILD} != 1 ]]; then
  BIN_DIR=${BIN_DIR} "${ROOT}/hack/build-cluster-tools.sh"
fi
mkdir -p "${BIN_DIR}"
BIN_DIR=$(cd "${BIN_DIR}" && pwd)
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl; do
  [[ -x ${BIN_DIR}/${b} ]] || die "missing ${BIN_DIR}/${b}: run hack/build-cluster-tools.sh"
done

KWOK_WORKDIR=${KWOK_WORKDIR:-${BIN_DIR}/kwok-work}
KUBECONFIG_OUT=${KUBECONFIG_OUT:-${BIN_DIR}/kubeconfig}
mkdir -p "${KWOK_WORKDIR}" "$(dirname "${KUBECONFIG_OUT}")"
# kwokctl reads KWOK_WORKDIR (default ~/.kwok); it must be absolute.
KWOK_WORKDIR=$(cd "${KWOK_WORKDIR}" && pwd)
export KWOK_WORKDIR
KUBECONFIG_OUT="$(cd "$(dirname "${KUBECONFIG_OUT}")" && pwd)/$(basename "${KUBECONFIG_OUT}")"
# kwokctl has no flag for kubectl; without this it would try to download one.
export KWOK_KUBECTL_BINARY=${BIN_DIR}/kubectl

kwokctl() { timeout "$((WAIT_TIMEOUT + 60))" "${BIN_DIR}/kwokctl" --name "${CLUSTER_NAME}" "$@" 9>&-; }
kubectl() { "${BIN_DIR}/kubectl" --kubeconfig "${KUBECONFIG_OUT}" "$@"; }

# --extra-args component=flag=value. kwokctl v0.8.0 mis-indexes the patches
# when a component that already got a flag is followed by another component
# (it can panic), so give every component its first flag before any second
# one: order the words by their occurrence count per component.
extra=("kube-apiserver=service-cluster-ip-range=${SERVICE_CIDR}"
  "kube-controller-manager=service-cluster-ip-range=${SERVICE_CIDR}")
[[ -n ${KCM_API_QPS} ]] && extra+=("kube-controller-manager=kube-api-qps=${KCM_API_QPS}")
[[ -n ${KCM_API_BURST} ]] && extra+=("kube-controller-manager=kube-api-burst=${KCM_API_BURST}")
if [[ -n ${EGRESS_SOCKET} ]]; then
  # (Over TCP, kube-apiserver always speaks TLS to the proxy; over a Unix socket, plain HTTP.)
  egress_file=${KWOK_WORKDIR}/egress-${CLUSTER_NAME}.yaml
  cat >"${egress_file}" <<EOF
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: ${EGRESS_SOCKET}
EOF
  extra+=("kube-apiserver=egress-selector-config-file=${egress_file}")
fi
for w in ${EXTRA_ARGS}; do
  [[ ${w} == *=*=* ]] || die "EXTRA_ARGS word '${w}' is not component=flag=value"
  extra+=("${w}")
done
declare -A seen=()
ranked=()
for w in "${extra[@]}"; do
  c=${w%%=*}
  seen[${c}]=$((${seen[${c}]:-0} + 1))
  ranked+=("${seen[${c}]} ${w}")
done
extra_flags=()
while read -r _ w; do extra_flags+=(--extra-args "${w}"); done < <(printf '%s\n' "${ranked[@]}" | sort -s -n -k1,1)

# The kwok stages: kwokctl's own defaults for the binary runtime (read from
# the kwok module, never copied here), except that a Job's pod named as a
# JobManager (an application-mode cluster's) keeps running: kwok's default
# completes every pod a Job owns at once, which for a JobManager would mean
# its process exited. Any Stage in --config replaces all of kwokctl's
# defaults, hence the node stages too.
write_stages() {
  local dir
  dir=$(cd "${ROOT}/hack/cluster-tools" && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d ${dir}/kustomize/stage ]] || die "kwok ${KWOK_VERSION} module not found (go mod download)"
  local st=${dir}/kustomize/stage
  {
    cat "${st}/node/fast/node-initialize.yaml"
    echo "---"
    cat "${st}/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
    echo "---"
    cat "${st}/pod/fast/pod-ready.yaml"
    echo "---"
    cat "${st}/pod/fast/pod-delete.yaml"
    echo "---"
    awk '{print} /^    matchExpressions:$/ && !done {
      print "    - key: '"'"'.metadata.labels[\"app.kubernetes.io/component\"]'"'"'"
      print "      operator: '"'"'NotIn'"'"'"
      print "      values:"
      print "      - '"'"'jobmanager'"'"'"
      done=1}' "${st}/pod/fast/pod-complete.yaml"
  } >"$1"
  grep -q "app.kubernetes.io/component" "$1" || die "could not add the JobManager exception to kwok's pod-complete stage"
}
KWOK_VERSION=v0.8.0
stages_file=${KWOK_WORKDIR}/stages-${CLUSTER_NAME}.yaml
write_stages "${stages_file}"

create_args=(
  --runtime binary
  --config "${stages_file}"
  --kube-apiserver-binary "${BIN_DIR}/kube-apiserver"
  --kube-controller-manager-binary "${BIN_DIR}/kube-controller-manager"
  --kube-scheduler-binary "${BIN_DIR}/kube-scheduler"
  --kwok-controller-binary "${BIN_DIR}/kwok"
  --etcd-binary "${BIN_DIR}/etcd"
  --kubeconfig ""
  "${extra_flags[@]}"
)
[[ ${DISABLE_QPS_LIMITS} == 1 ]] && create_args+=(--disable-qps-limits)
if [[ -n ${AUDIT_POLICY} ]]; then
  [[ -f ${AUDIT_POLICY} ]] || die "AUDIT_POLICY ${AUDIT_POLICY} is not a file"
  create_args+=(--kube-audit-policy "$(cd "$(dirname "${AUDIT_POLICY}")" && pwd)/$(basename "${AUDIT_POLICY}")")
fi

# What the running cluster was created with: its flags and its binaries'
# build stamps. A difference means the cluster must be created anew.
fingerprint=$( {
  printf '%s\n' "${create_args[@]}"
  cat "${stages_file}"
  [[ -z ${egress_file:-} ]] || cat "${egress_file}"
  cat "${BIN_DIR}"/.stamps/* 2>/dev/null || true
} | sha256sum | cut -d' ' -f1)
cluster_dir=${KWOK_WORKDIR}/clusters/${CLUSTER_NAME}
fingerprint_file=${cluster_dir}/flink-operator-fingerprint

# cluster_healthy: every process kwokctl started runs (not a zombie) and the
# API server answers /readyz.
cluster_healthy() {
  local f p state n=0 kc
  for f in "${cluster_dir}"/pids/*.pid; do
    [[ -f ${f} ]] || return 1
    p=$(cat "${f}")
    state=$(awk '{print $3}' "/proc/${p}/stat" 2>/dev/null) || return 1
    [[ ${state} != Z ]] || return 1
    n=$((n + 1))
  done
  ((n >= 5)) || return 1
  kc=$(mktemp)
  if kwokctl get kubeconfig >"${kc}" 2>/dev/null &&
    "${BIN_DIR}/kubectl" --kubeconfig "${kc}" get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
    rm -f "${kc}"
    return 0
  fi
  rm -f "${kc}"
  return 1
}
cluster_down() {
  BIN_DIR=${BIN_DIR} KWOK_WORKDIR=${KWOK_WORKDIR} KUBECONFIG_OUT=${KUBECONFIG_OUT} \
    CLUSTER_NAME=${CLUSTER_NAME} "${ROOT}/hack/cluster-down.sh"
}

# kwokctl picks the components' ports by counting down from 32767, skipping
# those of the other clusters in KWOK_WORKDIR: two creates at the same time
# pick the same ports and break each other. Serialize them (and this
# script's check-then-create) with a lock; fd 9 is closed for kwokctl so the
# daemons it starts do not inherit the lock.
exec 9>"${KWOK_WORKDIR}/.create.lock"
flock -w "${WAIT_TIMEOUT}" 9 || die "timed out after ${WAIT_TIMEOUT}s waiting for ${KWOK_WORKDIR}/.create.lock (another cluster-up running?)"

if [[ -d ${cluster_dir} ]]; then
  if [[ ! -f ${fingerprint_file} || $(cat "${fingerprint_file}") != "${fingerprint}" ]]; then
    log "cluster ${CLUSTER_NAME} exists with other settings or binaries: deleting it to create it anew"
    cluster_down
  elif ! cluster_healthy; then
    # E.g. after a reboot, or a component died. kwokctl would restart only
    # the processes it finds dead, which races with ones still shutting down;
    # a fresh cluster is quicker and always consistent.
    log "cluster ${CLUSTER_NAME} exists but is not healthy: deleting it to create it anew"
    cluster_down
  else
    log "cluster ${CLUSTER_NAME} already runs with the same settings"
  fi
fi

log "kwokctl create cluster ${CLUSTER_NAME} (workdir ${KWOK_WORKDIR}, nodes ${NODES}, disable-qps-limits ${DISABLE_QPS_LIMITS}, service CIDR ${SERVICE_CIDR})"
start=${SECONDS}
create_log=${KWOK_WORKDIR}/create-${CLUSTER_NAME}.log
if ! kwokctl create cluster "${create_args[@]}" --timeout "${WAIT_TIMEOUT}s" >"${create_log}" 2>&1; then
  cat "${create_log}" >&2
  die "kwokctl create cluster failed (output above, also in ${create_log})"
fi
if grep -q 'Download' "${create_log}"; then
  cat "${create_log}" >&2
  die "kwokctl tried to download something: a binary was not passed explicitly"
fi
echo "${fingerprint}" >"${fingerprint_file}"
log "kwokctl create cluster done in $((SECONDS - start))s"
exec 9>&- # release the lock: the ports are bound now

tmp=$(mktemp "${KUBECONFIG_OUT}.XXXXXX")
kwokctl get kubeconfig >"${tmp}" || { rm -f "${tmp}"; die "kwokctl get kubeconfig failed"; }
chmod 600 "${tmp}"
mv -f "${tmp}" "${KUBECONFIG_OUT}"

# wait_for DESCRIPTION COMMAND...: retries COMMAND for up to WAIT_TIMEOUT s.
wait_for() {
  local what=$1 deadline=$((SECONDS + WAIT_TIMEOUT))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${WAIT_TIMEOUT}s waiting for ${what}"
    sleep 0.5
  done
}

wait_for "the API server to be ready" kubectl get --raw /readyz --request-timeout=5s
log "API server ready"

kwokctl scale node --replicas "${NODES}" >"${KWOK_WORKDIR}/scale-${CLUSTER_NAME}.log" 2>&1 ||
  { cat "${KWOK_WORKDIR}/scale-${CLUSTER_NAME}.log" >&2; die "kwokctl scale node --replicas ${NODES} failed"; }
nodes_ready() {
  local ready
  ready=$(kubectl get nodes --request-timeout=5s \
    -o jsonpath='{range .items[*]}{range .status.conditions[?(@.type=="Ready")]}{.status}{"\n"}{end}{end}' |
    grep -c '^True$' || true)
  ((ready >= NODES))
}
wait_for "${NODES} Ready nodes" nodes_ready
# Pods cannot be created before the service account controller made the
# namespace's default ServiceAccount.
wait_for "the default ServiceAccount" kubectl -n default get serviceaccount default --request-timeout=5s
log "${NODES} nodes Ready; cluster ${CLUSTER_NAME} up in $((SECONDS - start_all))s (kubeconfig ${KUBECONFIG_OUT})"

echo "export KUBECONFIG=${KUBECONFIG_OUT}"
