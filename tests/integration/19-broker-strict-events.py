#!/usr/bin/env python3
"""19-broker-strict-events: unknown keys get the strict decoding of known
ones, end to end. Events whose unknown keys hold invalid UTF-8 (str
a3 c3 28 41), a NUL, an int key, a repeated key or an ext value, and events
with a repeated top-level key, are REJECTED with a reason; so are _sys.
topics other than _sys.source.<id>. None of them is stored or fanned out:
the subscriber and a replay see only the good events, and the doc's own
example client (client_doc_example.Tail) reads the whole journal from 0
without an exception. Each rejection is counted by reason in the metrics
and logged with the peer address, rate-limited: a burst of 200 bad events
of one reason within the 10 s interval adds no log line (the count of
those left out is checked by unit.test_broker_reject)."""
import struct

import msgpack
import zmq

import client_doc_example as doc
from broker_harness import (Broker, Publisher, Replayer, Subscriber, check, event_id, workdir,
                            REJECTED, STORED)
from integ_metrics import PORT_RE, value, wait_value

BURST = 200


def base(n, topic="un.strict"):
    return {"v": 1, "id": event_id(n, "strict"), "type": "new", "source": "test",
            "topic": topic, "title": "event %d" % n}


def with_raw_pairs(ev, raw_pairs, count):
    """EV (a dict) packed, followed by COUNT extra pairs given as raw msgpack bytes."""
    body = msgpack.packb(ev)
    assert 0x80 <= body[0] <= 0x8f and len(ev) + count <= 15
    return bytes([0x80 + len(ev) + count]) + body[1:] + raw_pairs


def bad_events():
    """(name, topic, event bytes, reason substring, metrics reason)."""
    ev = lambda n: base(n)
    return [
        ("unknown key, invalid UTF-8", "un.strict",
         with_raw_pairs(ev(1), b"\xa1x\xa3\xc3\x28\x41", 1), "invalid UTF-8", "utf8"),
        ("unknown key, NUL", "un.strict",
         with_raw_pairs(ev(2), b"\xa1x\xa3a\x00b", 1), "invalid UTF-8", "utf8"),
        ("unknown key name, invalid UTF-8", "un.strict",
         with_raw_pairs(ev(3), b"\xa2k\xff\xc0", 1), "invalid UTF-8", "utf8"),
        ("unknown map, int key", "un.strict",
         with_raw_pairs(ev(4), b"\xa1x\x81\x01\xc0", 1), "malformed", "malformed"),
        ("unknown map, repeated key", "un.strict",
         with_raw_pairs(ev(5), b"\xa1x\x82\xa1a\x01\xa1a\x02", 1), "malformed", "malformed"),
        ("repeated top-level key", "un.strict",
         with_raw_pairs(ev(6), b"\xa1y\x01\xa1y\x02", 2), "malformed", "malformed"),
        ("repeated detected", "un.strict",
         with_raw_pairs(ev(7), b"\xa8detected\x01\xa8detected\x02", 2), "malformed", "malformed"),
        ("ext timestamp", "un.strict",
         with_raw_pairs(ev(8), b"\xa1x\xc7\x03\xff\x00\x00\x00", 1), "malformed", "malformed"),
        ("65 keys in an unknown map", "un.strict",
         with_raw_pairs(ev(9), b"\xa1x" + msgpack.packb({"k%d" % i: i for i in range(65)}), 1),
         "input exceeds limit", "limit"),
        ("_sys.other", "_sys.other", msgpack.packb(base(10, "_sys.other")), "reserved", "reserved_topic"),
        ("_sys.source. without id", "_sys.source.", msgpack.packb(base(11, "_sys.source.")),
         "reserved", "reserved_topic"),
    ]


def good_events():
    fine = base(100)
    fine["future"] = {"bin": b"\xff\x00", "f": 2.5, "s": "été", "m": {"a": [None, True]}}
    return [("un.strict", msgpack.packb(fine)),
            ("_sys.source.feed1", msgpack.packb(dict(base(101, "_sys.source.feed1"), type="error"))),
            ("un.strict", msgpack.packb(base(102)))]


def main():
    wd = workdir("b19")
    b = Broker(wd, conf_extra='  heartbeat_ms = 100;\n  metrics_listen = "127.0.0.1:0";')
    b.start()
    port = int(b.wait_log(PORT_RE).group(1))
    ctx = zmq.Context()
    sub = Subscriber(ctx, b.subscribe)
    sub.wait(lambda s: s.heartbeats, what="heartbeat")
    pub = Publisher(ctx, b.publish)

    bad = bad_events()
    for name, topic, body, why, _ in bad:
        pub.send(topic, body)
        a = pub.recv_ack()
        check(a is not None and a[1] == REJECTED and why in (a[3] or ""),
              "%s: REJECTED with %r: %r" % (name, why, a))
    good = good_events()
    acks = pub.publish_many(good)
    check([a[0] for a in acks] == [STORED] * len(good), "good events stored: %r" % (acks,))
    check([a[1] for a in acks] == [1, 2, 3], "only the good events got seqs: %r" % (acks,))

    # nothing bad fanned out or journaled
    sub.wait(lambda s: len(s.events) >= len(good), what="fan-out of the good events")
    check([e[1] for e in sub.events] == [1, 2, 3], "fan-out: only 1..3: %r" % (sub.events,))
    rp = Replayer(ctx, b.replay)
    evs, end = rp.replay_all()
    check([e[1] for e in evs] == [1, 2, 3] and end["head"] == 3, "journal holds 1..3 only")
    rp.close()

    # the doc's example client reads everything from 0 without an exception
    tail = doc.Tail(ctx, b.subscribe, b.replay, ["un.", "_sys.source."], from_seq=0,
                    timeout_ms=20000)
    got = []
    for item in tail.events(idle_ms=200):
        if item:
            got.append(item[0])
        elif len(got) >= 3:
            break
    check(got == [1, 2, 3], "client_doc_example.Tail decoded 1..3: %r" % (got,))
    tail.sub.close(0)

    # counted by reason
    want = {}
    for _, _, _, _, label in bad:
        want[label] = want.get(label, 0) + 1
    samples = wait_value(port, "veille_broker_events_total", lambda v: v == len(bad),
                         result="rejected")
    for label, n in want.items():
        got_n = value(samples, "veille_broker_rejected_total", reason=label)
        check(got_n == n, "rejected_total{reason=%s} = %r, want %d" % (label, got_n, n))
    check(value(samples, "veille_broker_rejected_total", reason="too_large") == 0,
          "too_large = 0")

    # logged with the peer, rate-limited: a burst of one reason -> one line
    b.wait_log(r"publish rejected from 127\.0\.0\.1: invalid event: invalid UTF-8")
    before = b.log_text().count("publish rejected from")
    check(before == len(want), "one log line per reason so far (%d lines)" % before)
    items = [("un.strict", with_raw_pairs(base(1000 + i), b"\xa1x\xa3\xc3\x28\x41", 1))
             for i in range(BURST)]
    acks = pub.publish_many(items)
    check(all(a[0] == REJECTED for a in acks), "burst rejected")
    wait_value(port, "veille_broker_rejected_total", lambda v: v == want["utf8"] + BURST,
               reason="utf8")
    after = b.log_text().count("publish rejected from")
    check(after == before, "burst of %d rejections logged no new line (%d -> %d)"
          % (BURST, before, after))

    sub.stop()
    pub.close()
    check(b.stop() == 0, "clean stop")
    ctx.term()
    print("ok: %d kinds of bad events rejected, %d rejections of a burst left out of the log"
          % (len(bad), BURST))


if __name__ == "__main__":
    main()
