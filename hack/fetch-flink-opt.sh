#!/usr/bin/env bash
# Puts one of Flink's optional jars (a filesystem plugin such as flink-s3-fs-hadoop) into
# bin/flink/VERSION/opt/ from Maven Central, where the official image carries it but the
# PyPI package hack/fetch-flink.sh unpacks does not. Cached: a second call returns at once.
#
# Usage: hack/fetch-flink-opt.sh VERSION ARTIFACT   e.g. hack/fetch-flink-opt.sh 2.3.0 flink-s3-fs-hadoop
set -euo pipefail

version=${1:?usage: $0 VERSION ARTIFACT}
artifact=${2:?usage: $0 VERSION ARTIFACT}
root=$(cd "$(dirname "$0")/.." && pwd)
opt=$(bash "$root/hack/fetch-flink.sh" "$version")/opt
jar=$opt/$artifact-$version.jar

if [[ -f $jar ]]; then
  echo "$jar"
  exit 0
fi
start=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-flink-opt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# (sed: Debian's Maven 3.8 prints bare colour resets even in batch mode.)
mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="org.apache.flink:$artifact:$version" \
  -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
mkdir -p "$opt"
mv "$tmp/$artifact-$version.jar" "$jar"
echo "fetch-flink-opt: $artifact $version in $((SECONDS - start))s" >&2
echo "$jar"
