#!/usr/bin/env bash
# every_binary_has_help_version_and_actionable_exit_codes: for
# veille-broker, veille-watch, veille-sub (and veille): --help lists the
# options and exits 0, --version exits 0, a bad option or a missing -c exits
# 2, a missing file / syntax error / missing required key exits 2 with
# "file:line" and the key; a runtime failure (the broker's port taken)
# exits 1 naming the endpoint. The veille CLI links no daemon code.
set -uo pipefail
: "${VEILLE_BIN:?}" "${VEILLE_SRC:?}"
tmp=$(mktemp -d /tmp/veille-54.XXXXXX)
holder=""
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

run() { # run EXPECTED_RC CMD... -> output in $out
  out=$("${@:2}" 2>&1); local rc=$?
  [ "$rc" -eq "$1" ] || fail "'${*:2}' exited $rc, expected $1: $out"
}

printf 'broker = { publish = "x"\n watch = {\n' >"$tmp/syntax.conf"
printf '# empty sections\nbroker = { };\nwatch = { };\nsub = { };\n' >"$tmp/required.conf"

for pair in broker:broker/veille-broker watch:watchers/veille-watch sub:subscribers/veille-sub; do
  sec=${pair%%:*}; bin=$VEILLE_BIN/${pair#*:}; name=$(basename "$bin")
  [ -x "$bin" ] || fail "$bin not built"
  run 0 "$bin" --help
  for opt in -c --help --version --log-level --log-json; do
    grep -q -- "$opt" <<<"$out" || fail "$name --help does not list $opt"
  done
  run 0 "$bin" --version
  grep -Eq "^$name [0-9]+\.[0-9]+" <<<"$out" || fail "$name --version: $out"
  run 2 "$bin" --no-such-option
  run 2 "$bin"
  run 2 "$bin" -c "$tmp/missing.conf"
  grep -q "missing.conf" <<<"$out" || fail "$name: missing file not named: $out"
  run 2 "$bin" -c "$tmp/syntax.conf"
  grep -Eq "syntax\.conf:[0-9]+" <<<"$out" || fail "$name: syntax error without file:line: $out"
  run 2 "$bin" -c "$tmp/required.conf"
  grep -Eq "required\.conf:[0-9]+: $sec.*(required|missing)" <<<"$out" \
    || fail "$name: missing required key not reported with file:line: $out"
done

# Runtime failure: the broker's publish port is taken -> exit 1, endpoint named.
port_file=$tmp/port
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(120)' "$port_file" &
holder=$!
for _ in $(seq 1 100); do [ -s "$port_file" ] && break; sleep 0.05; done
port=$(cat "$port_file")
cat >"$tmp/busy.conf" <<EOC
broker = {
  publish = "tcp://127.0.0.1:$port";
  subscribe = "tcp://127.0.0.1:*";
  replay = "tcp://127.0.0.1:*";
  journal_dir = "$tmp/journal";
  allow_plaintext_tcp = true;
};
EOC
run 1 timeout 60 "$VEILLE_BIN/broker/veille-broker" -c "$tmp/busy.conf"
grep -q "127.0.0.1:$port" <<<"$out" || fail "port-in-use failure does not name the endpoint: $out"

# The CLI.
veille=$VEILLE_BIN/tools/veille
[ -x "$veille" ] || fail "$veille not built"
run 0 "$veille" --help
top_help=$out
for sub in tail pub check keygen stats status; do
  grep -q "$sub" <<<"$top_help" || fail "veille --help does not list $sub"
  run 0 "$veille" "$sub" --help
done
run 0 "$veille" --version
grep -Eq "^veille [0-9]+\.[0-9]+" <<<"$out" || fail "veille --version: $out"
run 2 "$veille" no-such-command

# veille is a client: it links core and the key tables of the three
# sections (veille check), none of the daemons (issue #16).
command -v nm >/dev/null || fail "nm (binutils) not found"
daemon=$(nm "$veille" | grep -E 'broker_new|journal_|dedup_|auth_|dispatch_')
[ -z "$daemon" ] || fail "veille links daemon code: $(head -5 <<<"$daemon")"
echo "ok: help, version and exit codes of every binary"
