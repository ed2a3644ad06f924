#!/usr/bin/env bash
# tests/soak/run.sh BUILD short|long: the crash loop.
#   short (20k events, in `make test` as integration.61-crash-loop-short.sh)
#   long  (1M events, `make soak`)
# Publishers, a watcher and subscribers run while the broker, the watcher
# and a subscriber are kill -9'd and restarted at random moments; at the
# end every sink is compared with what was published and the last line is
# `lost=0 duplicated=0` (exit 0) or the counts with the ids (exit 1).
# SOAK_SEED=n replays a given kill schedule; SOAK_KEEP=1 keeps the logs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
mode=${2:-short}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
for b in broker/veille-broker watchers/veille-watch subscribers/veille-sub; do
  if [ ! -x "$build/$b" ]; then
    echo "soak: $build/$b is missing (build first)" >&2
    exit 1
  fi
done
export VEILLE_BIN="$build"
export PYTHONPATH="$top/tests/helpers${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 "$top/tests/helpers/soak_driver.py" "$mode"
