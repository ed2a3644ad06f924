#!/usr/bin/env bash
# console_cli_exit_codes: veille-console --help lists its options and exits
# 0, --version names it, a bad option / no --archive / a bad address / a
# non-loopback address without a token / a short token exit 2 with the
# reason; an archive it cannot create and a port already taken exit 1.
set -uo pipefail
: "${VEILLE_BIN:?}"
bin=$VEILLE_BIN/console/veille-console
tmp=$(mktemp -d /tmp/veille-98.XXXXXX)
holder=""
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

run() { # run EXPECTED_RC CMD... -> output in $out
  out=$(timeout 60 "${@:2}" 2>&1 </dev/null); local rc=$?
  [ "$rc" -eq "$1" ] || fail "'${*:2}' exited $rc, expected $1: $out"
}

[ -x "$bin" ] || fail "$bin not built"
run 0 "$bin" --help
for opt in --archive --listen --subscribe --replay --prefix --watch-state --token-file \
           --token-env --curve-secret --log-level --version; do
  grep -q -- "$opt" <<<"$out" || fail "--help does not list $opt"
done
run 0 "$bin" --version
grep -Eq '^veille-console [0-9]+\.[0-9]+' <<<"$out" || fail "--version: $out"
run 2 "$bin" --no-such-option
run 2 "$bin"
run 2 "$bin" --archive "$tmp/a.db" --listen nonsense
run 2 "$bin" --archive "$tmp/a.db" --listen 0.0.0.0:0
grep -q "token is required" <<<"$out" || fail "no reason given: $out"
run 2 env VL_TOK=short "$bin" --archive "$tmp/a.db" --listen 127.0.0.1:0 --token-env VL_TOK
grep -q "token must be" <<<"$out" || fail "short token accepted: $out"
run 1 "$bin" --archive "$tmp/no/such/dir/a.db" --listen 127.0.0.1:0
/usr/bin/python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(120)' >"$tmp/port" &
holder=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
run 1 "$bin" --archive "$tmp/b.db" --listen "127.0.0.1:$port"
grep -q "cannot listen on 127.0.0.1:$port" <<<"$out" || fail "port taken not named: $out"
echo "ok: veille-console exit codes"
