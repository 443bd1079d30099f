#!/usr/bin/env bash
# Deletes the local kwokctl cluster started by hack/cluster-up.sh: stops its
# processes (etcd, kube-*, kwok) and removes its working directory and the
# kubeconfig. Idempotent: no error if the cluster does not exist.
# Environment: CLUSTER_NAME [flink-operator], BIN_DIR [bin/],
# KWOK_WORKDIR [BIN_DIR/kwok-work], KUBECONFIG_OUT [BIN_DIR/kubeconfig],
# WAIT_TIMEOUT [180].
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${BIN_DIR:-${ROOT}/bin}
CLUSTER_NAME=${CLUSTER_NAME:-flink-operator}
KWOK_WORKDIR=${KWOK_WORKDIR:-${BIN_DIR}/kwok-work}
if [[ -d ${KWOK_WORKDIR} ]]; then KWOK_WORKDIR=$(cd "${KWOK_WORKDIR}" && pwd); fi
export KWOK_WORKDIR
KUBECONFIG_OUT=${KUBECONFIG_OUT:-${BIN_DIR}/kubeconfig}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-180}

log() { printf '[cluster-down] %s\n' "$*" >&2; }

# Removes KUBECONFIG_OUT only if it is this cluster's (kwokctl names the
# context kwok-NAME): several clusters may share BIN_DIR, and a down of one
# must not delete the kubeconfig of another.
remove_kubeconfig() {
  if [[ -f ${KUBECONFIG_OUT} ]] && grep -qx "current-context: kwok-${CLUSTER_NAME}" "${KUBECONFIG_OUT}"; then
    rm -f "${KUBECONFIG_OUT}"
  fi
}

cluster_dir=${KWOK_WORKDIR}/clusters/${CLUSTER_NAME}
if [[ ! -d ${cluster_dir} ]]; then
  log "cluster ${CLUSTER_NAME} does not exist (no ${cluster_dir})"
  remove_kubeconfig
  exit 0
fi
[[ -x ${BIN_DIR}/kwokctl ]] || { log "ERROR: ${BIN_DIR}/kwokctl missing: run hack/build-cluster-tools.sh"; exit 1; }

start=${SECONDS}
remove_kubeconfig
# The cluster's processes (etcd, kube-*, kwok-controller), as kwokctl recorded
# them; kwokctl SIGKILLs them and returns at once: wait for them to be gone.
pids=()
for f in "${cluster_dir}"/pids/*.pid; do
  [[ -f ${f} ]] && pids+=("$(cat "${f}")")
done
# kwokctl removes the cluster's context from the --kubeconfig file; its
# default is ~/.kube/config, which must not be touched, and "" is refused, so
# point it at a scratch file.
scratch=$(mktemp)
trap 'rm -f "${scratch}"' EXIT
delete_log=${KWOK_WORKDIR}/delete-${CLUSTER_NAME}.log
if ! timeout "${WAIT_TIMEOUT}" "${BIN_DIR}/kwokctl" --name "${CLUSTER_NAME}" delete cluster \
  --kubeconfig "${scratch}" --force >"${delete_log}" 2>&1; then
  cat "${delete_log}" >&2
  log "ERROR: kwokctl delete cluster failed (output above); processes may still run, see ${cluster_dir}/pids (if any)"
  exit 1
fi
# alive PID: PID runs a binary of this cluster and has not exited (a zombie
# waiting for init to reap it has exited).
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${state} != Z ]] || return 1
  local argv0
  IFS= read -r -d '' argv0 <"/proc/$1/cmdline" 2>/dev/null || [[ -n ${argv0:-} ]] || return 1
  [[ ${argv0} == "${cluster_dir}/bin/"* ]]
}
deadline=$((SECONDS + 30))
for p in "${pids[@]}"; do
  while alive "${p}"; do
    if ((SECONDS >= deadline)); then
      log "process ${p} did not exit in 30s: killing it"
      kill -KILL "${p}" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.2
  done
done
log "cluster ${CLUSTER_NAME} deleted in $((SECONDS - start))s"
