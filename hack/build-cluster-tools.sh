#!/usr/bin/env bash
# Builds the binaries of the local kwok cluster into ${BIN_DIR:-bin/}, from Go
# modules only (no binary is downloaded):
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#       k8s.io/kubernetes v1.37.2 via the tools module hack/cluster-tools
#   etcd
#       go.etcd.io/etcd/server/v3/etcdmain, at the version k8s.io/kubernetes pins
#       (same tools module)
#   kwok, kwokctl
#       sigs.k8s.io/kwok v0.8.0 (go install pkg@version: kwok's own go.mod/go.sum)
#
# Idempotent: a binary is rebuilt only if its stamp file (BIN_DIR/.stamps/NAME)
# does not record the same inputs (go version, module files, main.go, ldflags).
# Set FORCE=1 to rebuild everything. See docs/local-cluster.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${BIN_DIR:-${ROOT}/bin}
TOOLS_DIR=${ROOT}/hack/cluster-tools
FORCE=${FORCE:-0}

KUBE_VERSION=v1.37.2
KWOK_VERSION=v0.8.0

# Static binaries, no go.work interference, no VCS stamping (the sources come
# from the module cache).
export CGO_ENABLED=0 GOWORK=off
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

log() { printf '[build-cluster-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH"
[[ -f ${TOOLS_DIR}/go.mod ]] || die "missing ${TOOLS_DIR}/go.mod"
mkdir -p "${BIN_DIR}/.stamps"
BIN_DIR=$(cd "${BIN_DIR}" && pwd)

GO_VERSION=$(go env GOVERSION)
GO_PLATFORM="$(go env GOOS)/$(go env GOARCH)"

kube_major=${KUBE_VERSION#v}; kube_major=${kube_major%%.*}
kube_minor=${KUBE_VERSION#v*.}; kube_minor=${kube_minor%%.*}
# The same version variables the Kubernetes release build (hack/lib/version.sh)
# sets, so `--version` and `kubectl version` report v1.37.2 (kwokctl parses
# `kube-apiserver --version` to pick flags for that version).
KUBE_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  KUBE_LDFLAGS+=" -X ${pkg}.gitVersion=${KUBE_VERSION}"
  KUBE_LDFLAGS+=" -X ${pkg}.gitMajor=${kube_major}"
  KUBE_LDFLAGS+=" -X ${pkg}.gitMinor=${kube_minor}"
  KUBE_LDFLAGS+=" -X ${pkg}.gitTreeState=clean"
  KUBE_LDFLAGS+=" -X ${pkg}.gitCommit=module-k8s.io/kubernetes@${KUBE_VERSION}"
done
# kwokctl's defaults (used only for flags/config generation here: every binary
# is passed explicitly by hack/cluster-up.sh, so nothing is downloaded).
KWOK_LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}"
KWOK_LDFLAGS+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBE_VERSION}"
KWOK_LDFLAGS+=" -X sigs.k8s.io/kwok/pkg/consts.PreRelease=GA"

hash_of() { sha256sum | cut -d' ' -f1; }

# stamp_key NAME: the inputs that determine binary NAME.
stamp_key() {
  local name=$1
  {
    echo "schema=1 go=${GO_VERSION} platform=${GO_PLATFORM} cgo=${CGO_ENABLED}"
    case ${name} in
      kwok | kwokctl)
        echo "module=sigs.k8s.io/kwok@${KWOK_VERSION} ldflags=${KWOK_LDFLAGS}"
        ;;
      *)
        echo "ldflags=${KUBE_LDFLAGS}"
        cat "${TOOLS_DIR}/go.mod" "${TOOLS_DIR}/go.sum" "${TOOLS_DIR}/cmd/${name}/main.go"
        ;;
    esac
  } | hash_of
}

up_to_date() {
  local name=$1
  [[ ${FORCE} != 1 && -x ${BIN_DIR}/${name} && -f ${BIN_DIR}/.stamps/${name} ]] &&
    [[ $(cat "${BIN_DIR}/.stamps/${name}") == "$(stamp_key "${name}")" ]]
}

write_stamp() { stamp_key "$1" >"${BIN_DIR}/.stamps/$1"; }

elapsed() { echo "$((SECONDS - $1))s"; }

total_start=${SECONDS}

# --- kube-* and etcd: the tools module --------------------------------------
tools_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd)
stale=()
for b in "${tools_bins[@]}"; do
  if up_to_date "${b}"; then log "up to date: ${b}"; else stale+=("${b}"); fi
done
if ((${#stale[@]} > 0)); then
  log "building ${stale[*]} (k8s.io/kubernetes ${KUBE_VERSION}, etcd from go.etcd.io/etcd/server/v3) with ${GO_VERSION}; a cold build takes many minutes on 2 cores"
  start=${SECONDS}
  pkgs=()
  for b in "${stale[@]}"; do
    rm -f "${BIN_DIR}/.stamps/${b}"
    pkgs+=("./cmd/${b}")
  done
  # One go build: the packages shared by the binaries are compiled once and
  # the links run in parallel. -o DIR/ writes one binary per main package.
  (cd "${TOOLS_DIR}" && go build -trimpath -ldflags "${KUBE_LDFLAGS}" -o "${BIN_DIR}/" "${pkgs[@]}") ||
    die "go build of ${stale[*]} failed"
  for b in "${stale[@]}"; do
    [[ -x ${BIN_DIR}/${b} ]] || die "go build did not produce ${BIN_DIR}/${b}"
    write_stamp "${b}"
  done
  log "built ${stale[*]} in $(elapsed "${start}")"
fi

# --- kwok, kwokctl: go install pkg@version ----------------------------------
stale=()
for b in kwok kwokctl; do
  if up_to_date "${b}"; then log "up to date: ${b}"; else stale+=("${b}"); fi
done
if ((${#stale[@]} > 0)); then
  log "building ${stale[*]} (sigs.k8s.io/kwok ${KWOK_VERSION})"
  start=${SECONDS}
  pkgs=()
  for b in "${stale[@]}"; do
    rm -f "${BIN_DIR}/.stamps/${b}"
    pkgs+=("sigs.k8s.io/kwok/cmd/${b}@${KWOK_VERSION}")
  done
  # pkg@version builds with kwok's own go.mod and go.sum (checked against the
  # checksum database), independent of any local module.
  (cd "${BIN_DIR}" && GOBIN="${BIN_DIR}" go install -trimpath -ldflags "${KWOK_LDFLAGS}" "${pkgs[@]}") ||
    die "go install of ${stale[*]} failed"
  for b in "${stale[@]}"; do
    [[ -x ${BIN_DIR}/${b} ]] || die "go install did not produce ${BIN_DIR}/${b}"
    write_stamp "${b}"
  done
  log "built ${stale[*]} in $(elapsed "${start}")"
fi

log "all binaries ready in ${BIN_DIR} ($(elapsed "${total_start}"))"
