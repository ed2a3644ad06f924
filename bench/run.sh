#!/usr/bin/env bash
# bench/run.sh BUILD full|quick: builds the load generators and the raw zmq
# peer in BUILD (they are not part of `all`), checks the peers are installed,
# then runs bench/bench.py, which prints one table per section and writes
# bench/results.md. `make bench` / `make bench-quick` call this after
# installing the Debian packages (deps-bench).
set -euo pipefail
BUILD=${1:-build}
MODE=${2:-quick}
case "$MODE" in quick|full) ;; *) echo "usage: bench/run.sh BUILD quick|full" >&2; exit 2 ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"

# Optional helpers: perf for the profile section, gnuplot for the plot.
# Installed here because the Makefile's BENCH_DEPS does not list them.
if [ "$MODE" = full ]; then
  tools/install-deps.sh linux-perf gnuplot-nox >/dev/null 2>&1 \
    || echo "bench: perf/gnuplot not installed; no profile, no plot" >&2
fi
for tool in nginx mosquitto urlwatch /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool missing (make deps-bench)" >&2; exit 1; }
done

[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
# the servers too, so that bench/run.sh alone never measures stale binaries
cmake --build "$BUILD" --target bench_tools veille-broker veille-watch veille-sub \
  -j "$(nproc 2>/dev/null || echo 2)"

exec /usr/bin/python3 bench/bench.py "$BUILD" "$MODE"
