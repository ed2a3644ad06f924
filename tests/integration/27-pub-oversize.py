#!/usr/bin/env python3
"""27-pub-oversize: what a publisher sees for an event over the 1 MiB limit
(docs/protocol.md, "Size limits").
  - an event frame of 1.5 MB, then one of exactly 2 MiB, pipelined between
    good events on one connection: REJECTED "too large (limit 1048576
    bytes)", the good ones around them STORED (the connection stays);
  - a frame over 2 MiB: no ack (the connection is dropped), and the broker
    goes on serving;
  - `veille pub --stdin` with a line whose summary is 1.1 MB between two good
    lines: "event 2 is too large (limit 1048576 bytes)", exit 1, the two
    others stored and nothing of the big one sent (the broker received 2);
  - the doc's example client raises ValueError and sends nothing;
  - the broker counts the rejections (reason too_large) and logs one with
    the peer's address."""
import json
import os
import struct
import subprocess

import msgpack
import zmq

import client_doc_example as doc
from broker_harness import (Broker, Publisher, check, make_event, workdir, REJECTED, STORED)
from integ_metrics import PORT_RE, value, wait_value

LIMIT = 1024 * 1024
TOO_LARGE = "too large (limit 1048576 bytes)"


def veille_bin():
    return os.path.join(os.environ.get("VEILLE_BIN", "build"), "tools", "veille")


def pipelined_over_limit(pub):
    _, good1 = make_event(1, "un.size", 300, salt="oversize")
    _, big = make_event(2, "un.size", LIMIT + LIMIT // 2, salt="oversize")
    _, edge = make_event(3, "un.size", 2 * LIMIT, salt="oversize")
    _, good2 = make_event(4, "un.size", 300, salt="oversize")
    check(LIMIT < len(big) < 2 * LIMIT, "1.5 MB event built (%d)" % len(big))
    edge = edge[:2 * LIMIT]   # exactly the socket cap (cut: it is refused by size first)
    acks = pub.publish_many([("un.size", good1), ("un.size", big), ("un.size", edge),
                             ("un.size", good2)])
    check([a[0] for a in acks] == [STORED, REJECTED, REJECTED, STORED],
          "good, 1.5 MB, 2 MiB, good on one connection: %r" % ([a[:2] for a in acks],))
    check(acks[1][2] == TOO_LARGE and acks[2][2] == TOO_LARGE,
          "reason %r: %r" % (TOO_LARGE, [a[2] for a in acks]))
    check([a[1] for a in acks if a[0] == STORED] == [1, 2], "the good ones got seqs 1 and 2")


def over_the_socket_cap(ctx, b, pub):
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(b.publish)
    big.send_multipart([struct.pack(">Q", 9), b"un.size", b"\x80" * (2 * LIMIT + 1)])
    check(not big.poll(1500), "a frame over 2 MiB gets no ack")
    big.close(0)
    _, ev = make_event(5, "un.size", 300, salt="oversize")
    acks = pub.publish_many([("un.size", ev)])
    check(acks[0][:2] == (STORED, 3), "the broker still stores: %r" % (acks,))


def veille_pub(b, port, wd):
    path = os.path.join(wd, "events.jsonl")
    with open(path, "w") as f:
        for i, summary in enumerate(["small", "s" * 1100 * 1000, "small too"]):
            f.write(json.dumps({"topic": "un.cli", "title": "line %d" % i,
                                "summary": summary}) + "\n")
    before = 5   # 4 pipelined + 1 after the dropped connection
    with open(path, "rb") as f:
        p = subprocess.run([veille_bin(), "pub", "--stdin", "-p", b.publish,
                            "--timeout-ms", "30000"], stdin=f, capture_output=True, timeout=120)
    err = p.stderr.decode()
    check(p.returncode == 1, "veille pub exit 1 (got %d): %s" % (p.returncode, err))
    check("event 2 is too large (limit 1048576 bytes)" in err, "veille pub says: %s" % err)
    check("2 sent, 2 stored" in err and "malformed" not in err, "two stored: %s" % err)
    # every event veille pub sent was acked before it exited: the count is final
    samples = wait_value(port, "veille_broker_received_total", lambda v: v >= before + 2)
    check(value(samples, "veille_broker_received_total") == before + 2,
          "the broker received the two good lines only: %r"
          % value(samples, "veille_broker_received_total"))


def doc_client(ctx, b, port):
    before = 7
    pub = doc.Publisher(ctx, b.publish)
    ev = doc.make_event("un.doc", "big", "https://example.org/big", summary="d" * (LIMIT + 1))
    try:
        pub.publish(ev, timeout_ms=1000, attempts=1)
        raised = False
    except ValueError as e:
        raised = "too large" in str(e)
    check(raised, "client_doc_example.Publisher refuses an event over the limit")
    status, seq = pub.publish(doc.make_event("un.doc", "small", "https://example.org/s"))
    check(status == STORED, "and publishes the next one: %r" % ((status, seq),))
    pub.sock.close(0)
    samples = wait_value(port, "veille_broker_received_total", lambda v: v >= before + 1)
    check(value(samples, "veille_broker_received_total") == before + 1,
          "nothing of the big event was sent")


def main():
    wd = workdir("b27")
    b = Broker(wd, conf_extra='  heartbeat_ms = 100;\n  metrics_listen = "127.0.0.1:0";')
    b.start()
    port = int(b.wait_log(PORT_RE).group(1))
    ctx = zmq.Context()
    pub = Publisher(ctx, b.publish)
    pipelined_over_limit(pub)
    over_the_socket_cap(ctx, b, pub)
    veille_pub(b, port, wd)
    doc_client(ctx, b, port)
    samples = wait_value(port, "veille_broker_rejected_total", lambda v: v == 2,
                         reason="too_large")
    check(value(samples, "veille_broker_events_total", result="rejected") == 2,
          "2 rejected in all")
    b.wait_log(r"warn .*publish rejected from 127\.0\.0\.1: too large \(limit 1048576 bytes\)")
    pub.close()
    check(b.stop() == 0, "clean stop")
    ctx.term()
    print("ok: 1.5 MB and 2 MiB events REJECTED too large, > 2 MiB dropped, veille pub and "
          "the doc client refuse before sending")


if __name__ == "__main__":
    main()
