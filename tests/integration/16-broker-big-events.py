#!/usr/bin/env python3
"""16-broker-big-events: events near the 1 MiB limit, pipelined, fill the
commit buffer and the segments mid-batch (the broker commits early and goes
on): all are STORED in order, fanned out and replayed intact; an event over
EVENT_MAX_BYTES is REJECTED ("event too large"); the journal rolls segments
and reopens cleanly."""
import glob
import os

import msgpack
import zmq

from broker_harness import (Broker, Publisher, Replayer, Subscriber, make_event, workdir,
                            check, STORED, REJECTED)

N = 40
SIZE = 1000 * 1000


def main():
    wd = workdir("b16")
    b = Broker(wd, conf_extra='  segment_bytes = 4194304L;\n  heartbeat_ms = 100;\n  sndhwm = 100000;')
    b.start()
    ctx = zmq.Context()
    sub = Subscriber(ctx, b.subscribe)
    sub.wait(lambda s: s.heartbeats, what="heartbeat")
    pub = Publisher(ctx, b.publish)
    items = [("press.big", make_event(n, "press.big", SIZE)[1]) for n in range(N)]
    check(all(900000 < len(e) <= 1024 * 1024 for _, e in items), "event sizes near the limit")
    acks = pub.publish_many(items, window=N)
    check([a[0] for a in acks] == [STORED] * N, "all stored: %r" % ([a[0] for a in acks],))
    check([a[1] for a in acks] == list(range(1, N + 1)), "seqs in order")

    # one byte over the limit
    eid, ev = make_event(10 ** 6, "press.big", 1024 * 1024 + 50)
    check(len(ev) > 1024 * 1024, "oversized event built")
    pub.send("press.big", ev)
    a = pub.recv_ack()
    check(a is not None and a[1] == REJECTED and "too large" in (a[3] or ""), "oversized: %r" % (a[:3],))

    sub.wait(lambda s: len(s.events) >= N, what="fan-out of big events")
    check([e[1] for e in sub.events] == list(range(1, N + 1)), "fan-out in order")

    segs = glob.glob(os.path.join(b.journal_dir, "*.vlj"))
    check(len(segs) >= N // 4, "segments rolled (%d)" % len(segs))
    rp = Replayer(ctx, b.replay)
    evs, end = rp.replay_all(limit=7)
    check(len(evs) == N and [msgpack.packb(e[2]) == items[i][1] for i, e in enumerate(evs)] == [True] * N,
          "replayed intact")
    rp.close()
    sub.stop()
    pub.close()
    check(b.stop() == 0, "clean stop")
    b.start()
    check(b.head == N and "torn" not in b.log_text(), "clean reopen at head %r" % b.head)
    check(b.stop() == 0, "clean stop 2")
    ctx.term()
    print("ok: %d events of %d bytes in %d segments" % (N, SIZE, len(segs)))


if __name__ == "__main__":
    main()
