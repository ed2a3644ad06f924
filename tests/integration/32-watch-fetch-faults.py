#!/usr/bin/env python3
"""32-watch-fetch-faults: fetch failures are errors, never changes.

- etag_304_publishes_nothing: a second poll of an unchanged file gets 304.
- redirect_to_file_refused: a redirect to file:///etc/passwd is an error
  (one error event on _sys.source.redir), no item event.
- http_500_error_once_then_recovered: 500 on every poll -> exactly one
  `error` event after fail_threshold (3) consecutive failures, none after,
  then one `recovered` event when the page comes back.
- body_50mb_capped / gzip_bomb_capped: error "too big", no item event.
Items of failing sources never produce events.
- rejected_event_goes_to_dead_table: an outbox row the broker rejects is
  moved to the dead table."""
import os

from watch_harness import Harness, check, rss

h = Harness("faults")
h.start_fixture()
h.start_broker()
with open(os.path.join(h.www, "a.xml"), "w") as f:
    f.write(rss([("a1", "A one", "x"), ("a2", "A two", "y")]))
with open(os.path.join(h.www, "flaky.xml"), "w") as f:
    f.write(rss([("f1", "F one", "x")]))
src = lambda i, path, **kw: dict({"id": i, "topic": "faults." + i, "url": h.url(path),
                                  "interval": 1}, **kw)
h.write_watch_conf([
    src("etag", "/a.xml"),
    src("flaky", "/flaky.xml", fail_threshold=3),
    src("redir", "/redirect?to=file:///etc/passwd", fail_threshold=1),
    src("gopher", "/redirect?to=gopher://127.0.0.1:70/", fail_threshold=1),
    src("huge", "/huge?bytes=%d" % (50 * 1024 * 1024), fail_threshold=1),
    src("bomb", "/bomb?mb=64", fail_threshold=1),
], max_body_bytes=8 * 1024 * 1024, timeout_s=20, drain_timeout_s=20)

rc, _, s = h.watch_once(expect_rc=1)
check(s.get("errors") == 4 and s.get("recorded") == 3, "run 1: 4 failing sources, 2 baselined")
h.ctl("status?path=/flaky.xml&code=500")
for run in range(2, 6):
    rc, err, s = h.watch_once(expect_rc=1)
    check(s.get("not_modified") == 1, "run %d: unchanged a.xml answered 304" % run)
    check(s.get("errors") == 5 and s.get("new") == 0 and s.get("changed") == 0,
          "run %d: 5 errors, no item event" % run)
h.ctl("status?path=/flaky.xml&code=0")
rc, _, s = h.watch_once(expect_rc=1)
check(s.get("errors") == 4, "run 6: flaky is back")

sysev = h.tail(["_sys.source."], timeout_ms=2500)
per = {}
for e in sysev:
    per.setdefault(e["source"], []).append(e)
flaky = [e["type"] for e in per.get("flaky", [])]
check(flaky == ["error", "recovered"], "flaky: one error then one recovered (got %s)" % flaky)
check(per["flaky"][0]["title"] == "source flaky: HTTP 500",
      "flaky error names the source and says HTTP 500 (%r)" % per["flaky"][0]["title"])
check(per["flaky"][0]["topic"] == "_sys.source.flaky", "on topic _sys.source.flaky")
for sid, what in (("redir", "refused"), ("gopher", "refused"), ("huge", "too big"),
                  ("bomb", "too big")):
    evs = per.get(sid, [])
    check(len(evs) == 1 and evs[0]["type"] == "error", "%s: exactly one error event" % sid)
    check(what in evs[0]["title"], "%s: error says '%s' (%s)" % (sid, what, evs[0]["title"]))
check("etag" not in per, "the healthy source has no _sys event")
items = h.tail(["faults."], timeout_ms=1500)
check(items == [], "no item event at all (errors are not changes; got %d)" % len(items))

# rejected_event_goes_to_dead_table: an outbox row the broker rejects (not
# a valid event) is moved to the dead table, not resent forever.
import sqlite3
db = sqlite3.connect(h.state)
db.execute("insert into outbox (topic, event, created) values ('faults.bad', x'c1c1c1', 0)")
db.commit()
db.close()
rc, _, s = h.watch_once()
check(s.get("outbox") == 0, "the rejected row left the outbox")
db = sqlite3.connect(h.state)
dead = db.execute("select topic, reason from dead").fetchall()
db.close()
check(len(dead) == 1 and dead[0][0] == "faults.bad" and "rejected" in dead[0][1],
      "the rejected row is in the dead table (%s)" % dead)
check(h.tail(["faults."], timeout_ms=1000) == [], "nothing stored for the rejected row")
print("32-watch-fetch-faults: PASS")
