#!/usr/bin/env bash
# Runs the Flink REST contract suite against real Apache Flink: fetches each
# version (hack/fetch-flink.sh, cached in bin/flink/), builds the test job
# (test/flink-job/build.sh, cached in bin/flink-job/), then runs
# `go test -tags flink` on test/flinkcluster, test/contract and test/localnode, which start
# local JobManager/TaskManager JVMs per version. Exits non-zero on failure.
#
# FLINK_VERSIONS selects the versions; the default is the newest patch of every minor from 1.18
# (the first for Java 17) to 2.3, as test/flinkcluster.DefaultVersions lists them.
# The full log is kept in bin/test-flink.log.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export FLINK_VERSIONS=${FLINK_VERSIONS:-2.3.0,2.2.1,2.1.3,2.0.2,1.20.5,1.19.3,1.18.1}
start=$SECONDS

for v in ${FLINK_VERSIONS//,/ }; do
  hack/fetch-flink.sh "$v" >/dev/null
  test/flink-job/build.sh "$v" >/dev/null
done
echo "test-flink: Flink ${FLINK_VERSIONS} and the test job ready after $((SECONDS - start))s"

mkdir -p bin
rc=0
go test -tags flink -count=1 -v -timeout 25m ./test/flinkcluster/... ./test/contract/... ./test/localnode/... 2>&1 |
  tee bin/test-flink.log || rc=$?
echo "test-flink: finished in $((SECONDS - start))s (exit $rc); log in bin/test-flink.log"
exit "$rc"
