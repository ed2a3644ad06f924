#!/usr/bin/env bash
# tools/demo.sh [BUILD_DIR] [--quick] [--workdir DIR]: the offline demo.
# `make demo` runs it after installing missing Debian packages and building.
# Run directly, it builds BUILD_DIR (default build/) first if a binary is
# missing. Quick mode (--quick or VEILLE_DEMO_QUICK=1) skips the pauses
# meant for reading; the test suite uses it. Everything runs on 127.0.0.1
# with ephemeral ports (conf/demo.conf opts in with allow_plaintext_tcp;
# an installed broker uses unix sockets in /run/veille instead), in a
# temporary directory that is kept for inspection (mail and webhook
# captures, logs, configs).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  build=$1; shift
fi
case "$build" in /*) ;; *) build="$top/$build" ;; esac

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ] || ! "$py" -c 'import zmq, msgpack' 2>/dev/null; then
  echo "demo: needs python3 with python3-zmq and python3-msgpack: run 'make deps'" >&2
  exit 2
fi

need_build=0
for b in broker/veille-broker watchers/veille-watch subscribers/veille-sub console/veille-console; do
  [ -x "$build/$b" ] || need_build=1
done
if [ "$need_build" = 1 ]; then
  echo "demo: building in $build" >&2
  [ -f "$build/CMakeCache.txt" ] ||
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >&2
fi
exec "$py" "$top/demo/demo.py" --build "$build" "$@"
