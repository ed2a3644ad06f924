#!/usr/bin/env bash
# make test: build and run the whole suite normally, then under ASan+UBSan.
# The last lines are ctest's own summaries for both passes.
set -uo pipefail
build=${1:-build}; asan=${2:-build-asan}; jobs=${3:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$build" -j "$jobs" || exit 1
cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DVEILLE_SANITIZE=ON >/dev/null || exit 1
cmake --build "$asan" -j "$jobs" || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Most integration tests spend their time waiting on processes and sockets,
# so ctest runs twice as many tests as there are cores.
ctest_jobs=$((jobs * 2))
rc=0
summary=()
for dir in "$build" "$asan"; do
  echo "=== ctest in $dir ==="
  log="$dir/ctest-summary.log"
  (cd "$dir" && ctest --output-on-failure -j "$ctest_jobs" --timeout 300) | tee "$log"
  r=${PIPESTATUS[0]}
  [ "$r" -ne 0 ] && rc=1
  summary+=("$dir: $(grep -E 'tests passed|tests failed' "$log" | tail -1)")
done
echo
echo "=== summary ==="
for s in "${summary[@]}"; do echo "$s"; done
exit $rc
