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
export KWOK_WORKDIR=${KWOK_WORKDIR:-${BIN_DIR}/kwok-work}
KUBECONFIG_OUT=${KUBECONFIG_OUT:-${BIN_DIR}/kubeconfig}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-180}

log() { printf '[cluster-down] %s\n' "$*" >&2; }

cluster_dir=${KWOK_WORKDIR}/clusters/${CLUSTER_NAME}
if [[ ! -d ${cluster_dir} ]]; then
  log "cluster ${CLUSTER_NAME} does not exist (no ${cluster_dir})"
  rm -f "${KUBECONFIG_OUT}"
  exit 0
fi
[[ -x ${BIN_DIR}/kwokctl ]] || { log "ERROR: ${BIN_DIR}/kwokctl missing: run hack/build-cluster-tools.sh"; exit 1; }

start=${SECONDS}
# --kubeconfig: kwokctl removes the cluster's context from that file (default
# ~/.kube/config, which must not be touched); the file is removed below anyway.
if ! timeout "${WAIT_TIMEOUT}" "${BIN_DIR}/kwokctl" --name "${CLUSTER_NAME}" delete cluster \
  --kubeconfig "${KUBECONFIG_OUT}" --force >&2; then
  log "ERROR: kwokctl delete cluster failed; processes may still run, see ${cluster_dir}/pids (if any)"
  exit 1
fi
rm -f "${KUBECONFIG_OUT}"
log "cluster ${CLUSTER_NAME} deleted in $((SECONDS - start))s"
