#!/usr/bin/env bash
# demo_quick_mode_delivers_new_and_changed_and_noise_stays_silent:
# runs `tools/demo.sh --quick` (the `make demo` story without the pauses)
# against the build under test and checks its summary: the events of the
# first poll and of the midway edits, none from the RFI noise, every sink
# got what the broker stored for it, the windows-1252 feed arrived as proper
# UTF-8, and no process it started is left behind.
set -uo pipefail
: "${VEILLE_BIN:?}" "${VEILLE_SRC:?}"
tmp=$(mktemp -d /tmp/veille-50.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- demo output:"; cat "$tmp/out" 2>/dev/null | tail -60; exit 1; }

NO_COLOR=1 timeout 240 bash "$VEILLE_SRC/tools/demo.sh" "$VEILLE_BIN" --quick \
  --workdir "$tmp/demo" >"$tmp/out" 2>&1
rc=$?
line=$(grep '^demo-result ' "$tmp/out" | tail -1)
[ -n "$line" ] || fail "no demo-result line (exit $rc)"
pids=$(sed -n 's/.* pids=\([0-9,]*\).*/\1/p' <<<"$line" | tr ',' ' ')
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
[ "$rc" -eq 0 ] || fail "demo exited $rc"
[ "$(get status)" = ok ] || fail "status $(get status)"

# The story of demo/site and demo/steps: 11 items at the first poll (after
# the keyword filters), then 2 new (a communiqué, a UN document), 2
# changed (the UN page, the Stratégies article) and 1 removed (a withdrawn
# communiqué), and nothing from the noise.
expect() {
  local v; v=$(get "$1")
  [ "$v" = "$2" ] || fail "$1=$v, expected $2"
}
expect first_poll 11
expect midway_new 2
expect midway_changed 2
expect midway_removed 1
expect noise 0
expect events 16
# Deliveries per sink equal what the broker stored under each sink's filters.
expect expect_terminal 16
expect sink_terminal 16
expect expect_desk-mail 11
expect sink_desk-mail 11
expect expect_press-webhook 5
expect sink_press-webhook 5

# Captures on disk match the counts.
n=$(ls "$tmp/demo/mail"/*.eml 2>/dev/null | wc -l)
[ "$n" -eq 11 ] || fail "$n mails captured, expected 11"
n=$(ls "$tmp/demo/webhook"/*.json 2>/dev/null | wc -l)
[ "$n" -ge 5 ] || fail "$n webhook posts captured, expected 5"

# The windows-1252 feed arrives as UTF-8: curly apostrophe and accents intact,
# no replacement character.
/usr/bin/python3 - "$tmp/demo/webhook" <<'PY' || fail "webhook payloads"
import glob, json, sys
evs = [json.load(open(p, encoding="utf-8")) for p in sorted(glob.glob(sys.argv[1] + "/*.json"))]
strat = [e for e in evs if e.get("source") == "press-strategies"]
assert strat, "no press-strategies payload"
text = " ".join((e.get("title") or "") + " " + (e.get("summary") or "") for e in strat)
for word in ("accéder", "métadonnées", "d\u2019accès"):
    assert word in text, "missing %r in %r" % (word, text[:200])
assert "\ufffd" not in text, "replacement character in the windows-1252 feed"
changed = [e for e in strat if e.get("type") == "changed"]
assert changed and "G7" in (changed[0].get("diff") or ""), "changed event without the edit in its diff"
assert all(e.get("topic", "").startswith("press.") for e in evs), "webhook got a non-press topic"
PY

# No process left behind.
[ -n "$pids" ] || fail "no pids reported"
for p in $pids; do
  if kill -0 "$p" 2>/dev/null; then fail "process $p still running after the demo"; fi
done
pids=""
echo "ok: $line"
