#!/usr/bin/env bash
# Obtains a runnable Apache Flink distribution for VERSION into bin/flink/VERSION/
# (lib/, opt/, plugins/, bin/bash-java-utils.jar) from the PyPI package
# apache-flink-libraries, which carries exactly those folders of the official
# binary distribution (including lib/flink-dist-VERSION.jar). There is no
# conf/ and no bin/*.sh in it: test/flinkcluster generates the configuration
# and starts the JVMs with `java -cp lib/*` directly (see docs/real-flink.md).
#
# Cached: a second call for the same VERSION returns at once.
#
# Usage: hack/fetch-flink.sh VERSION        e.g. hack/fetch-flink.sh 2.3.0
set -euo pipefail

version=${1:?usage: $0 VERSION (e.g. 2.3.0 or 1.20.5)}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/bin/flink/$version

if [[ -f $dest/.complete ]]; then
  echo "$dest"
  exit 0
fi

pip=(python3 -m pip)
"${pip[@]}" --version >/dev/null 2>&1 || pip=(pip3)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-flink.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

start=$SECONDS
echo "fetch-flink: downloading apache-flink-libraries==$version from PyPI" >&2
# --no-deps: only the distribution itself; PyFlink's Python dependencies are
# not needed to run Java jobs. Both wheels (2.x) and sdists (1.20.x) are
# served; either is just an archive of the distribution's folders.
"${pip[@]}" download --quiet --no-deps \
  "apache-flink-libraries==$version" -d "$tmp/dl" >&2

# The archive's name uses '_' from 1.19 on and '-' before (1.18.1's sdist).
archive=$(ls "$tmp"/dl/apache[-_]flink[-_]libraries-"$version"*)
mkdir -p "$tmp/x"
case $archive in
  *.whl) unzip -q "$archive" 'pyflink/*' -d "$tmp/x"; src=$tmp/x/pyflink ;;
  *.tar.gz) tar -xzf "$archive" -C "$tmp/x"; src=$(echo "$tmp"/x/apache[-_]flink[-_]libraries-*/deps) ;;
  *) echo "fetch-flink: unexpected archive $archive" >&2; exit 1 ;;
esac

if ! ls "$src"/lib/flink-dist*.jar >/dev/null 2>&1; then
  echo "fetch-flink: no lib/flink-dist*.jar in $archive" >&2
  exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
for d in lib opt plugins bin; do
  if [[ -d $src/$d ]]; then
    mv "$src/$d" "$dest/$d"
  fi
done
echo "apache-flink-libraries==$version from PyPI ($(basename "$archive"))" >"$dest/SOURCE"
touch "$dest/.complete"
echo "fetch-flink: $version ready in $((SECONDS - start))s" >&2
echo "$dest"
