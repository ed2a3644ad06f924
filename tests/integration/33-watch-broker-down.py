#!/usr/bin/env python3
"""33-watch-broker-down: watcher_keeps_events_while_broker_down.

The broker is killed (SIGKILL) before the watcher detects anything. The
watcher daemon detects the items and keeps them in its outbox; once the
broker is back on the same endpoints, the outbox drains by itself and
every event is stored exactly once. The daemon then exits 0 on SIGTERM."""
import os
import signal

from watch_harness import Harness, check, rss, wait_for

h = Harness("brokerdown")
h.start_fixture()
ep = dict(h.start_broker())
with open(os.path.join(h.www, "feed.xml"), "w") as f:
    f.write(rss([("d%d" % i, "Item %d" % i, "Body %d" % i) for i in range(3)]))
h.write_watch_conf([{"id": "down", "topic": "down.feed", "url": h.url("/feed.xml"),
                     "interval": 1}], publish_existing=True, jitter_percent=0)
h.broker.send_signal(signal.SIGKILL)
h.broker.wait()

w = h.start_watch()
wait_for(lambda: h.outbox_count() == 3, 30, "3 events waiting in the outbox")
check(w.poll() is None, "the watcher keeps running without a broker")

h.start_broker(ep)
wait_for(lambda: h.outbox_count() == 0, 60, "the outbox to drain once the broker is back")
evs = h.tail(["down."], count=3, timeout_ms=10000)
check(len(evs) == 3 and len({e["id"] for e in evs}) == 3, "3 distinct events delivered")
check(h.journal_count("down.") == 3, "exactly 3 events stored")
w.send_signal(signal.SIGTERM)
check(w.wait(20) == 0, "daemon exits 0 on SIGTERM")
print("33-watch-broker-down: PASS")
