#!/usr/bin/env python3
"""12-broker-replay: a subscriber on prefixes un. and gov.fr. goes down;
10k events are published meanwhile; a replay after its last seq under its
prefixes returns exactly the events it missed (paged with limit, and the
count op agrees); a rare prefix is served from the index; range (upto),
empty results and bad requests behave as documented."""
import zmq
import msgpack

from broker_harness import (Broker, Publisher, Replayer, Subscriber, make_event, workdir,
                            check, STORED)

N = 10000
PREFIXES = ["un.", "gov.fr."]
TOPICS = ["un.ctitf", "unesco.x", "gov.fr.interieur", "gov.de.bmi", "press.rfi"]


def under(topic, prefixes):
    return any(topic.startswith(p) for p in prefixes)


def main():
    wd = workdir("b12")
    b = Broker(wd, conf_extra='  heartbeat_ms = 100;\n  segment_bytes = 262144;')
    b.start()
    ctx = zmq.Context()
    pub = Publisher(ctx, b.publish)

    # the subscriber sees a first stretch, then goes down
    sub = Subscriber(ctx, b.subscribe, PREFIXES + ["_sys.heartbeat"])
    sub.wait(lambda s: s.heartbeats, what="heartbeat")
    first = [(TOPICS[n % 5], make_event(n, TOPICS[n % 5], 200)[1]) for n in range(500)]
    acks = pub.publish_many(first)
    check(all(a[0] == STORED for a in acks), "first stretch stored")
    want_first = sum(1 for t, _ in first if under(t, PREFIXES))
    sub.wait(lambda s: len(s.events) >= want_first, what="first stretch")
    check(len(sub.events) == want_first and all(under(t, PREFIXES) for t, _, _ in sub.events),
          "SUB prefix filtering (unesco. is not un.)")
    last_seq = sub.events[-1][1]
    sub.stop()

    # 10k events while it is down; every 1000th on a rare topic
    items, meta = [], []
    for n in range(500, 500 + N):
        t = "rare.topic" if n % 1000 == 0 else TOPICS[n % 5]
        eid, ev = make_event(n, t, 300)
        items.append((t, ev))
        meta.append((t, eid))
    acks = pub.publish_many(items)
    check(all(a[0] == STORED for a in acks), "10k stored")
    missed = [(meta[i][0], acks[i][1], meta[i][1]) for i in range(N) if under(meta[i][0], PREFIXES)]

    rp = Replayer(ctx, b.replay)
    evs, end = rp.replay_all(after=last_seq, prefixes=PREFIXES, limit=700)
    got = [(t, s, e["id"]) for t, s, e in evs]
    check(got == missed, "replay returns exactly the missed events (%d vs %d)" % (len(got), len(missed)))
    check(end["next"] == end["head"] and not end["more"], "last page: next = head: %r" % (end,))
    check(end["first"] == 1, "first = 1 (nothing deleted)")

    kind, _, cnt = rp.request({"op": "count", "after": last_seq, "prefixes": PREFIXES})
    check(kind == "END" and cnt["count"] == len(missed) and cnt["next"] == cnt["head"],
          "count agrees: %r" % (cnt,))

    # one page: more and next
    kind, page, e1 = rp.request({"after": last_seq, "prefixes": PREFIXES, "limit": 10})
    check(len(page) == 10 and e1["more"] and e1["next"] == page[-1][1], "page of 10: %r" % (e1,))

    # rare prefix over the whole journal (several segments)
    evs, end = rp.replay_all(after=0, prefixes=["rare."], limit=3)
    check([e[1] for e in evs] == [acks[i][1] for i in range(N) if meta[i][0] == "rare.topic"],
          "rare prefix: exactly the 10 rare events")
    check(len(evs) == N // 1000, "10 rare events (%d)" % len(evs))

    # range with upto, empty range, empty prefix list = all
    lo, hi = acks[100][1], acks[199][1]
    evs, end = rp.replay_all(after=lo, upto=hi, limit=1000)
    check([e[1] for e in evs] == list(range(lo + 1, hi + 1)) and end["next"] == hi,
          "(after, upto] range with all topics")
    kind, evs, end = rp.request({"after": end["head"]})
    check(kind == "END" and not evs and end["count"] == 0 and not end["more"], "nothing after head")
    kind, evs, end = rp.request({"prefixes": ["nosuch."]})
    check(kind == "END" and not evs and end["next"] == end["head"], "no match: next jumps to head")

    # bad requests: ERR with a message, broker still serving
    for req in (b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"after": -1}),
                msgpack.packb({"prefixes": ["a"] * 65}), msgpack.packb({"op": "tail"})):
        kind, evs, body = rp.request(req)
        check(kind == "ERR" and isinstance(body.get("error"), str) and body["error"],
              "bad request %r -> ERR: %r" % (req[:20], body))
    rp.sock.send_multipart([b"two", b"frames"])
    assert rp.sock.poll(5000)
    f = rp.sock.recv_multipart()
    check(f[0] == b"ERR", "two-frame request -> ERR")
    kind, _, cnt = rp.request({"op": "count"})
    check(kind == "END" and cnt["count"] == 500 + N, "still serving after bad requests")

    rp.close()
    pub.close()
    check(b.stop() == 0, "clean stop")
    ctx.term()
    print("ok: replay of %d missed events" % len(missed))


if __name__ == "__main__":
    main()
