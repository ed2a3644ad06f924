#!/usr/bin/env python3
"""31-watch-kill9: watcher_kill9_during_burst_delivers_each_item_once.

A generated feed of 1500 items, published on the first poll
(--publish-existing). A `veille tail` is listening from the start. The
broker is frozen (SIGSTOP) so the watcher commits every event to its
outbox and sends them, but gets no ack; the watcher is then killed with
SIGKILL and the broker resumed: it stores what had reached its socket,
acks lost with the dead watcher. The watcher restarted with --once resends
the whole outbox: the tail receives every item exactly once (the broker
recognises resends by event id), and the journal holds 1500 events for
the topic, no more. Freezing the broker makes the kill land with a full
outbox every run, however fast the drain is."""
import signal

from watch_harness import Harness, check, wait_for

N = 1500
h = Harness("kill9")
h.start_fixture()
h.start_broker()
h.write_watch_conf([{"id": "burst", "topic": "burst.feed", "url": h.url("/feed?n=%d&tag=b" % N),
                     "interval": 3600}], drain_timeout_s=60)
tail = h.start_tail(["burst."], count=N, timeout_ms=120000)

h.broker.send_signal(signal.SIGSTOP)
w = h.start_watch("--publish-existing")
n = wait_for(lambda: h.outbox_count() == N and N, 60, "the outbox to fill")
w.send_signal(signal.SIGKILL)
w.wait()
h.broker.send_signal(signal.SIGCONT)
left = h.outbox_count()
check(left == N, "watcher killed with all %d events in the outbox, none acked" % left)

rc, _, s = h.watch_once("--publish-existing", expect_rc=0)
check(s.get("outbox") == 0, "restart drained the outbox")
check(s.get("new") == 0, "restart found nothing new (state survived the kill)")

check(tail.wait(120) == 0, "tail received %d events" % N)
evs = h.tail_events(tail)
ids = [e["id"] for e in evs]
urls = [e["url"] for e in evs]
check(len(evs) == N, "tail printed exactly %d events (got %d)" % (N, len(evs)))
check(len(set(ids)) == N, "no duplicate event id")
check(len(set(urls)) == N, "every item exactly once")
stored = h.journal_count("burst.")
check(stored == N, "the broker journal holds exactly %d events (got %d)" % (N, stored))
print("31-watch-kill9: PASS")
