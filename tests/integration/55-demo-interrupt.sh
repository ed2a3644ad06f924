#!/usr/bin/env bash
# demo_ctrl_c_stops_every_process: interrupts the demo (SIGINT, as Ctrl-C
# does) once its processes are up and alerts flow; the demo must print its
# summary, exit 130, and leave none of its processes running.
set -uo pipefail
: "${VEILLE_BIN:?}" "${VEILLE_SRC:?}"
tmp=$(mktemp -d /tmp/veille-55.XXXXXX)
demo_pid=""; pids=""
cleanup() {
  [ -n "$demo_pid" ] && kill -KILL "$demo_pid" 2>/dev/null
  for p in $pids; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -40 "$tmp/out"; exit 1; }

py=/usr/bin/python3
NO_COLOR=1 "$py" "$VEILLE_SRC/demo/demo.py" --build "$VEILLE_BIN" --quick \
  --workdir "$tmp/demo" >"$tmp/out" 2>&1 &
demo_pid=$!
# Readiness: the first alert printed by the terminal sink ("seq N" line).
for _ in $(seq 1 600); do
  grep -q '  seq [0-9]' "$tmp/out" && break
  kill -0 "$demo_pid" 2>/dev/null || fail "demo ended before the first alert"
  sleep 0.1
done
grep -q '  seq [0-9]' "$tmp/out" || fail "no alert within 60 s"
kill -INT "$demo_pid"
wait "$demo_pid"; rc=$?
demo_pid=""
[ "$rc" -eq 130 ] || fail "exit status $rc after SIGINT, expected 130"
line=$(grep '^demo-result ' "$tmp/out" | tail -1)
grep -q 'status=interrupted' <<<"$line" || fail "summary: $line"
grep -q 'interrupted after' "$tmp/out" || fail "no interruption notice"
pids=$(sed -n 's/.* pids=\([0-9,]*\).*/\1/p' <<<"$line" | tr ',' ' ')
[ -n "$pids" ] || fail "no pids in: $line"
n=0
for p in $pids; do
  n=$((n + 1))
  if kill -0 "$p" 2>/dev/null; then fail "process $p still running"; fi
done
[ "$n" -eq 4 ] || fail "expected 4 processes (broker, sub, console, watch), got $n"
pids=""
# Every process stopped cleanly on SIGTERM (exit 0).
grep -q 'veille-watch (pid [0-9]*, exit 0), veille-sub (pid [0-9]*, exit 0), veille-console (pid [0-9]*, exit 0), veille-broker (pid [0-9]*, exit 0)' "$tmp/out" \
  || fail "a process did not exit 0: $(grep stopped "$tmp/out")"
echo "ok: $line"
