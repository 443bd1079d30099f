#!/usr/bin/env bash
# Builds the contract tests' job for one Flink version into
# bin/flink-job/VERSION/flink-test-job.jar. Cached: rebuilt only when a file
# under test/flink-job/ is newer than the jar. ~/.m2 caches Maven downloads.
#
# Usage: test/flink-job/build.sh VERSION        e.g. 2.3.0 or 1.20.5
set -euo pipefail

version=${1:?usage: $0 FLINK_VERSION}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/bin/flink-job/$version
jar=$out/flink-test-job.jar

if [[ -f $jar ]] && [[ -z $(find "$here" -path "$here/target" -prune -o -type f -newer "$jar" -print -quit) ]]; then
  echo "$jar"
  exit 0
fi

start=$SECONDS
mkdir -p "$out"
# (sed: Debian's Maven 3.8 prints bare colour resets even in batch mode.)
extra=()
case $version in 1.18.*) extra=(-DbundleDatagen) ;; esac # no datagen connector in 1.18's lib/
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dflink.version="$version" -DbuildDir="$out/target" "${extra[@]}" package 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g' >&2
cp "$out/target/flink-test-job.jar" "$jar.tmp"
mv "$jar.tmp" "$jar"
echo "flink-job: built for Flink $version in $((SECONDS - start))s" >&2
echo "$jar"
