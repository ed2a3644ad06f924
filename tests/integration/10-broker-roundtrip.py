#!/usr/bin/env python3
"""10-broker-roundtrip: 100k events of ~512 B published pipelined over tcp
(wildcard ports) reach a subscriber, none lost, none duplicated, seqs
strictly increasing; every publish is acked STORED; a resend is DUPLICATE
with the original seq; bad messages are REJECTED with a reason; the
heartbeat and stats carry the head; SIGTERM exits 0 and a restart keeps
the head."""
import struct
import sys
import time

import msgpack
import zmq

from broker_harness import (Broker, Publisher, Replayer, Subscriber, make_event, workdir,
                            check, STORED, DUPLICATE, REJECTED)

N = 100000


def main():
    wd = workdir("b10")
    b = Broker(wd, conf_extra='  sndhwm = 1000000;\n  heartbeat_ms = 100;\n  stats_interval_s = 1;')
    b.start()
    ctx = zmq.Context()
    sub = Subscriber(ctx, b.subscribe)
    # subscription is live once a heartbeat arrives (no fixed sleep)
    sub.wait(lambda s: s.heartbeats, what="first heartbeat")
    check(sub.heartbeats[0][1]["type"] == "heartbeat" and sub.heartbeats[0][1]["head"] == 0,
          "heartbeat body: %r" % (sub.heartbeats[0],))

    pub = Publisher(ctx, b.publish)
    topics = ["un.ctitf", "gov.fr.interieur", "press.rfi", "_sys.source.feed1"]
    items, ids = [], []
    for n in range(N):
        eid, ev = make_event(n, topics[n % len(topics)])
        items.append((topics[n % len(topics)], ev))
        ids.append(eid)
    t0 = time.time()
    acks = pub.publish_many(items, window=5000)
    print("published and acked %d events in %.2f s" % (N, time.time() - t0))
    bad = [a for a in acks if a[0] != STORED]
    check(not bad, "every publish acked STORED (first bad: %r)" % (bad[:3],))
    seqs = [a[1] for a in acks]
    check(all(seqs[i] < seqs[i + 1] for i in range(N - 1)), "ack seqs strictly increasing")
    check(seqs[0] == 1 and seqs[-1] == N, "seqs 1..N (%d..%d)" % (seqs[0], seqs[-1]))

    sub.wait(lambda s: len(s.events) >= N, timeout=120, what="%d events" % N)
    ev = sub.events
    check(len(ev) == N, "subscriber got exactly N events (%d)" % len(ev))
    check(all(ev[i][1] < ev[i + 1][1] for i in range(N - 1)), "fan-out seqs strictly increasing")
    got_ids = [e[2] for e in ev]
    check(len(set(got_ids)) == N, "no duplicate on the subscriber")
    check(got_ids == ids, "every event in publish order, none lost")
    check(all(ev[i][1] == seqs[i] for i in range(N)), "fan-out seq == ack seq")
    check(all(ev[i][0] == items[i][0] for i in range(N)), "topic frame preserved")

    # a resend of an acked event: DUPLICATE with the original seq
    t = pub.send(items[1234][0], items[1234][1])
    a = pub.recv_ack()
    check(a is not None and a[0] == t and a[1] == DUPLICATE and a[2] == seqs[1234],
          "resend acked DUPLICATE with the original seq: %r" % (a,))

    # rejections, each with a reason frame
    eid, good = make_event(10 ** 9, "un.x")
    cases = [
        ("bad topic", [struct.pack(">Q", 1), b"UN.X", good], "invalid topic"),
        ("reserved topic", [struct.pack(">Q", 2), b"_sys.heartbeat", good], "reserved"),
        ("topic mismatch", [struct.pack(">Q", 3), b"un.y", good], "differs"),
        ("garbage event", [struct.pack(">Q", 4), b"un.x", b"\xc1garbage"], "invalid event"),
        ("missing field", [struct.pack(">Q", 5), b"un.x", msgpack.packb({"v": 1, "id": eid})], "invalid event"),
        ("two frames", [struct.pack(">Q", 6), b"un.x"], "3 frames"),
        ("short token", [b"abc", b"un.x", good], "token"),
    ]
    for name, frames, why in cases:
        pub.send_frames(frames)
        a = pub.recv_ack()
        check(a is not None and a[1] == REJECTED and a[3] and why in a[3],
              "%s: REJECTED with reason containing %r: %r" % (name, why, a))

    # heartbeat and stats carry the head
    sub.wait(lambda s: s.heartbeats and s.heartbeats[-1][0] == N, what="heartbeat at head N")
    check(sub.heartbeats[-1][1]["head"] == N, "heartbeat body head")
    sub.wait(lambda s: s.stats and s.stats[-1][1]["rejected"] >= len(cases),
             what="stats after the rejections")
    st = sub.stats[-1][1]
    check(st["duplicates"] == 1 and st["rejected"] == len(cases) and st["head"] == N
          and st["stored"] == N and st["received"] == N + 1 + len(cases),
          "stats counters: %r" % (st,))

    # count through the replay endpoint agrees
    rp = Replayer(ctx, b.replay)
    kind, _, end = rp.request({"op": "count", "prefixes": ["un."]})
    check(kind == "END" and end["count"] == N // 4, "count under un.: %r" % (end,))
    rp.close()

    sub.stop()
    pub.close()
    rc = b.stop()
    check(rc == 0, "SIGTERM exit code 0 (got %r)" % rc)
    b.wait_log("stopping at head %d" % N, 5)
    b.start()
    check(b.head == N, "head kept across restart (%r)" % b.head)
    check(b.stop() == 0, "second stop")
    ctx.term()
    print("ok: %d events round-tripped" % N)


if __name__ == "__main__":
    main()
