#!/usr/bin/env bash
# shipped_configs_pass_veille_check: every file in conf/ passes
# `veille check` (offline: no network is touched), and a broken copy is
# refused with file:line and a suggestion, so the check can fail.
set -uo pipefail
: "${VEILLE_BIN:?}" "${VEILLE_SRC:?}"
veille=$VEILLE_BIN/tools/veille
[ -x "$veille" ] || { echo "FAIL: $veille not built"; exit 1; }
tmp=$(mktemp -d /tmp/veille-52.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Without any network at all when the system allows a private network
# namespace (unshare -rn): proves the check never needs the network.
nonet=""
if unshare -rn true 2>/dev/null; then nonet="unshare -rn"; fi
n=0
for f in "$VEILLE_SRC"/conf/*.conf; do
  n=$((n + 1))
  out=$($nonet "$veille" check "$f" 2>&1); rc=$?
  [ "$rc" -eq 0 ] || { echo "$out"; fail "veille check $(basename "$f") exited $rc"; }
  grep -q ': ok' <<<"$out" || fail "veille check $(basename "$f") did not say ok: $out"
done
[ "$n" -ge 5 ] || fail "expected at least 5 shipped configs, found $n"
"$veille" check "$VEILLE_SRC"/conf/*.conf >/dev/null 2>&1 || fail "checking all files at once failed"

# Negative control: a misspelt key and a bad value in a copy of watch.conf.
sed -e 's/^\(\s*\)interval = 900;/\1intervall = 900;/' \
    -e 's/^\(\s*\)type = "html";/\1type = "htlm";/' \
    "$VEILLE_SRC/conf/watch.conf" >"$tmp/bad.conf"
out=$("$veille" check "$tmp/bad.conf" 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "broken config: exit $rc, expected 2 ($out)"
grep -Eq 'bad\.conf:[0-9]+:.*intervall.*did you mean .interval.' <<<"$out" \
  || fail "no file:line + suggestion for the misspelt key: $out"
grep -Eq 'bad\.conf:[0-9]+:.*type' <<<"$out" || fail "no file:line for the bad enum value: $out"
echo "ok: $n configs valid${nonet:+ (without network)}; broken copy refused"
