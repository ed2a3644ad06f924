#!/usr/bin/env python3
"""30-watch-e2e: fixture server + broker + veille-watch + veille tail.

watch_once_baseline_then_new_and_changed: a first --once records the feed
silently; after the served file is edited (one item added, one item's text
changed), a second --once publishes exactly one `new` and one `changed`
(with prev_hash and a diff), which `veille tail --json` receives; a third
--once gets a 304 and publishes nothing.
watch_daemon_detects_edit: the daemon with a 1 s interval picks up a later
edit by itself and exits 0 on SIGTERM.
watch_config_edit_rebaselines: editing how a source is parsed records its
items again without publishing anything."""
import os
import signal

from watch_harness import Harness, check, rss, wait_for

h = Harness("e2e")
h.start_fixture()
h.start_broker()
feed = os.path.join(h.www, "feed.xml")
items = [("g1", "Premier communiqué", "Texte un."),
         ("g2", "Deuxième communiqué", "Texte deux."),
         ("g3", "Troisième communiqué", "Texte trois.")]
with open(feed, "w") as f:
    f.write(rss(items))
h.write_watch_conf([{"id": "e2e-feed", "topic": "e2e.press", "url": h.url("/feed.xml"),
                     "interval": 1}], jitter_percent=0, drain_timeout_s=20)

rc, _, s = h.watch_once(expect_rc=0)
check(s.get("recorded") == 3 and s.get("new") == 0, "first pass is a silent baseline")

items[1] = ("g2", "Deuxième communiqué", "Texte deux, corrigé.")
items.append(("g4", "Quatrième communiqué", "Texte quatre."))
with open(feed, "w") as f:
    f.write(rss(items))
rc, _, s = h.watch_once(expect_rc=0)
check(s.get("new") == 1 and s.get("changed") == 1 and s.get("outbox") == 0,
      "second pass: one new, one changed, outbox drained")

evs = h.tail(["e2e."], count=2, timeout_ms=10000)
check(len(evs) == 2, "tail got 2 events (got %d)" % len(evs))
by_type = {e["type"]: e for e in evs}
check(set(by_type) == {"new", "changed"}, "one new and one changed")
check(by_type["new"]["title"] == "Quatrième communiqué", "new is the added item")
check(by_type["new"]["url"] == "http://127.0.0.1/i/g4", "new has the item link")
ch = by_type["changed"]
check(ch["title"] == "Deuxième communiqué" and ch.get("prev_hash") and
      ch["prev_hash"] != ch["hash"], "changed has prev_hash != hash")
check("corrigé" in ch.get("diff", ""), "changed carries a diff with the edit")
check(all(e["topic"] == "e2e.press" and e["source"] == "e2e-feed" for e in evs),
      "topic and source as configured")

rc, _, s = h.watch_once(expect_rc=0)
check(s.get("not_modified") == 1 and s.get("new") == 0 and s.get("changed") == 0,
      "third pass: 304, nothing published")

# Daemon mode: a later edit is found without --once.
w = h.start_watch()
items.append(("g5", "Cinquième communiqué", "Texte cinq."))
with open(feed, "w") as f:
    f.write(rss(items))
evs = wait_for(lambda: [e for e in h.tail(["e2e."], timeout_ms=500) if e["url"].endswith("/g5")],
               60, "the daemon to publish g5")
check(len(evs) == 1 and evs[0]["type"] == "new", "daemon published g5 once as new")
w.send_signal(signal.SIGTERM)
check(w.wait(20) == 0, "daemon exits 0 on SIGTERM")
check(any("pass polled=" in l for l in w.lines), "daemon prints a progress line per pass")
all_evs = h.tail(["e2e."], timeout_ms=1500)
check(len(all_evs) == 3, "exactly 3 events in the journal for e2e. (got %d)" % len(all_evs))

# A configuration edit that changes every item's text (here a forced,
# wrong charset) re-records the source silently instead of 5 `changed`.
h.write_watch_conf([{"id": "e2e-feed", "topic": "e2e.press", "url": h.url("/feed.xml"),
                     "interval": 1, "charset": "iso-8859-1"}], jitter_percent=0,
                   drain_timeout_s=20)
rc, _, s = h.watch_once(expect_rc=0)
check(s.get("recorded") == 5 and s.get("changed") == 0 and s.get("new") == 0,
      "config edit: items re-recorded silently (not 304, not changed)")
all_evs = h.tail(["e2e."], timeout_ms=1500)
check(len(all_evs) == 3, "still exactly 3 events for e2e. (got %d)" % len(all_evs))
print("30-watch-e2e: PASS")
