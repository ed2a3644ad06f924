#!/usr/bin/env bash
# make test: build and run the whole suite normally, then under ASan+UBSan,
# then the threaded part (ctest -L tsan: the modules that start threads and
# the integration tests driving them) under ThreadSanitizer, which cannot
# share a build with ASan. Every build here treats warnings as errors
# (VEILLE_WERROR=ON, the CI setting; a plain `make build` does not).
# The last lines are ctest's own summaries for the three passes.
set -uo pipefail
build=${1:-build}; asan=${2:-build-asan}; jobs=${3:-2}; tsan=${4:-build-tsan}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# configure_build DIR CMAKE-ARGS...: configures (warnings are errors) and builds DIR.
configure_build () {
  local dir=$1; shift
  cmake -S . -B "$dir" -DVEILLE_WERROR=ON "$@" >/dev/null || return 1
  cmake --build "$dir" -j "$jobs"
}
configure_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo || exit 1
configure_build "$asan" -DCMAKE_BUILD_TYPE=Debug -DVEILLE_SANITIZE=ON || exit 1
configure_build "$tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEILLE_TSAN=ON || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# TSAN_OPTIONS (suppressions, report directory) come from tests/CMakeLists.txt.
# Most integration tests spend their time waiting on processes and sockets,
# so ctest runs twice as many tests as there are cores.
ctest_jobs=$((jobs * 2))
rc=0
summary=()
# run_pass DIR NAME CTEST-ARGS...: one ctest pass, its last count kept for the summary.
run_pass () {
  local dir=$1 name=$2; shift 2
  echo "=== ctest in $dir${*:+ ($*)} ==="
  local log="$dir/ctest-summary.log"
  (cd "$dir" && ctest --output-on-failure -j "$ctest_jobs" --timeout 300 "$@") | tee "$log"
  [ "${PIPESTATUS[0]}" -ne 0 ] && rc=1
  summary+=("$name: $(grep -E 'tests passed|tests failed' "$log" | tail -1)")
}
run_pass "$build" "$build"
run_pass "$asan" "$asan"
run_pass "$tsan" "$tsan (-L tsan)" -L tsan
echo
echo "=== summary ==="
for s in "${summary[@]}"; do echo "$s"; done
exit $rc
