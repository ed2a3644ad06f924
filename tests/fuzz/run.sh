#!/usr/bin/env bash
# make fuzz: builds every tests/fuzz/fuzz_*.c as a libFuzzer binary with clang
# (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60) on a copy of its
# seed corpus. Crashes land in tests/fuzz/artifacts/: turn each into a
# corpus file (so `make test` replays it forever) and fix the bug.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
build="$top/build-fuzz"
CC=clang cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DVEILLE_FUZZ=ON \
  -DVEILLE_WERROR=OFF -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
targets=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
cmake --build "$build" -j "$(nproc)" --target $targets
mkdir -p "$top/tests/fuzz/artifacts"
export LSAN_OPTIONS=suppressions=$top/tests/fuzz/lsan.supp   # library leaks known upstream
for t in $targets; do
  work=$(mktemp -d)
  cp -r "$top/tests/fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  echo "== $t for ${secs}s"
  "$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
     -artifact_prefix="$top/tests/fuzz/artifacts/$t-" "$work" 2>&1 | tail -3
  rm -rf "$work"
done
