#!/usr/bin/env bash
# Benchmarks the operator at scale on the local control plane and writes docs/benchmarks.md.
# See docs/benchmarks.md for the method and the definition of every number.
#
#   hack/bench.sh [--n 100,1000] [--with-5000] [--with-sharded-10000] [--ci] [-- HARNESS FLAGS...]
#
#   --n LIST      FlinkClusters in the burst, one run (fresh cluster) per number [100,1000]
#   --with-5000   add a run at N = 5,000
#   --with-sharded-10000
#                 add a run of 10,000 job clusters over two operator processes (--shard), with a
#                 wall-clock cap of 45 min from the first create; each shard runs with
#                 --workers=8 --flink-poll-interval=30s, sized for 5,000 clusters a process
#   --ci          CI-sized: N = 50, 60 s idle window, no throughput sweep, no profiles, no doc;
#                 exits non-zero if idle clusters make API writes, a cold restart writes, or Flink
#                 REST polls exceed 60 / poll interval per cluster and minute (+15%)
#   -- ...        more flags for the harness (go run ./test/bench --help), e.g.
#                 -- --idle 2m --operator-args "--kube-api-qps=500 --kube-api-burst=1000"
#
# The local cluster is named flink-operator-bench (env BENCH_CLUSTER_NAME) so it never disturbs
# `make dev` or the integration suite; it is deleted at the end. Logs, profiles and the summary go
# to bin/bench/ (bin/bench-ci/ with --ci).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"

n=100,1000
with5000=0
ci=0
harness=()
orig=("$@")
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --n) n=${2:?--n needs a value}; shift 2 ;;
    --n=*) n=${1#*=}; shift ;;
    --with-5000) with5000=1; shift ;;
    --with-sharded-10000) harness+=(--sharded 10000 --shards 2 --sharded-cap 45m --shard-workers 8 --shard-poll-interval 30s); shift ;;
    --ci) ci=1; shift ;;
    --) shift; harness+=("$@"); break ;;
    -h | --help) usage; exit 0 ;;
    *) echo "hack/bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
((with5000)) && n="${n},5000"

cluster_name=${BENCH_CLUSTER_NAME:-flink-operator-bench}
out=${ROOT}/bin/bench
((ci)) && out=${ROOT}/bin/bench-ci
mkdir -p "${out}"

# The cluster tools are built once (cached in bin/); the harness starts and stops the cluster.
hack/build-cluster-tools.sh >&2

cleanup() {
  # The harness deletes the cluster itself; this is for when it was killed.
  CLUSTER_NAME=${cluster_name} KUBECONFIG_OUT=${out}/kubeconfig hack/cluster-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

go build -o "${out}/bench" ./test/bench
args=(--n "${n}" --cluster-name "${cluster_name}" --out "${out}" --skip-cluster-build
  --command "hack/bench.sh${orig[*]:+ ${orig[*]}}")
((ci)) && args+=(--ci)
start=${SECONDS}
"${out}/bench" "${args[@]}" "${harness[@]}"
echo "hack/bench.sh: done in $((SECONDS - start)) s; logs and profiles in ${out}/" >&2
