#!/usr/bin/python3
"""64-hostile-inputs: hostile_wire_and_http_inputs_are_refused_and_bounded.

System-level proofs for entries of the hostile-input catalogue
(docs/security.md):
  - 10k topic subscriptions from one peer: the broker keeps acking and
    fanning out to a normal subscriber, its memory grows by a bounded
    amount, and the hostile peer gets nothing it did not ask for;
  - a giant msgpack length prefix in a published event and a topic frame
    with CR/LF and terminal escapes are REJECTED with a reason, and no raw
    control character reaches the broker's log;
  - a publish message past the broker's size cap is dropped and the broker
    goes on serving;
  - replay requests with a giant array prefix or past the size cap get ERR;
  - an HTTP source announcing a 2 GB Content-Length is refused as too big,
    without downloading it, and produces no item."""
import os
import re
import struct
import subprocess
import sys
import time

import msgpack
import zmq

from broker_harness import Broker, Publisher, Replayer, Subscriber, check, make_event, workdir

BIN = os.environ.get("VEILLE_BIN", "build")
SRC = os.environ.get("VEILLE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
WATCH = os.path.join(BIN, "watchers", "veille-watch")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def many_subscriptions(b, ctx):
    good = Subscriber(ctx, b.subscribe, prefixes=("un.",))
    hostile = ctx.socket(zmq.SUB)
    hostile.setsockopt(zmq.LINGER, 0)
    hostile.setsockopt(zmq.RCVHWM, 0)
    hostile.connect(b.subscribe)
    before = rss_kb(b.proc.pid)
    for i in range(10000):
        # 200-byte prefixes with control bytes, none matching a real topic
        hostile.setsockopt(zmq.SUBSCRIBE, b"zz\x1b[%05d\r\n" % i + b"\xff" * 188)
    pub = Publisher(ctx, b.publish)
    # events published until the normal subscriber sees them: by then the
    # broker has read the whole subscription burst (one connection, in order)
    items = [("un.hostile", make_event(i, "un.hostile", 300, salt="subs")[1]) for i in range(200)]
    acks = pub.publish_many(items)
    check(all(a[0] == 0 for a in acks), "publishes acked during the subscription flood")
    good.wait(lambda s: len(s.events) >= 200, 60, "200 events to the normal subscriber")
    check(not hostile.poll(300), "the hostile peer receives nothing it did not subscribe to")
    grown = rss_kb(b.proc.pid) - before
    check(grown < 200 * 1024, "broker memory grew by %d KiB for 10k subscriptions" % grown)
    hostile.close(0)
    pub.close()
    good.stop()
    print("10k subscriptions from one peer: broker RSS +%d KiB, 200/200 delivered" % grown)


def hostile_publishes(b, ctx):
    pub = Publisher(ctx, b.publish)
    giant = b"\x82\xa1v\x01\xa2id\xdb\x7f\xff\xff\xff" + b"x" * 16
    pub.send("un.hostile", giant, token=1)
    a = pub.recv_ack()
    check(a is not None and a[1] == 2 and a[3], "giant length prefix REJECTED with a reason: %r" % (a,))
    _, ev = make_event(1, "un.x", 200, salt="esc")
    pub.send(b"un.\x1b[31m\r\nFAKE: line", ev, token=2)
    a = pub.recv_ack()
    check(a is not None and a[1] == 2, "topic with CR/LF and ESC REJECTED: %r" % (a,))
    # past the size cap: the connection is dropped, no ack
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(b.publish)
    big.send_multipart([struct.pack(">Q", 3), b"un.big", b"\x80" * (2 * 1024 * 1024 + 16)])
    check(not big.poll(1000), "an oversized message gets no ack (ZMQ_MAXMSGSIZE)")
    big.close(0)
    # the broker still serves
    eid, ev = make_event(7, "un.after", 200, salt="after")
    acks = pub.publish_many([("un.after", ev)])
    check(acks[0][0] == 0, "the broker still stores after the hostile messages")
    pub.close()
    print("giant msgpack prefix and escape-laden topic REJECTED; oversized message dropped")


def hostile_replay(b, ctx):
    r = Replayer(ctx, b.replay)
    kind, _, body = r.request(b"\x81\xa8prefixes\xdd\xff\xff\xff\xff")
    check(kind == "ERR", "giant array prefix in a replay request: %s %r" % (kind, body))
    kind, _, body = r.request(msgpack.packb({"prefixes": ["a" * 200] * 64, "pad": "x" * 70000}))
    check(kind == "ERR", "replay request past 64 KiB: %s %r" % (kind, body))
    kind, _, body = r.request({"op": "count"})
    check(kind == "END", "replay still answers")
    r.close()
    print("hostile replay requests answered ERR")


def clean_log(b):
    text = b.log_text()
    bad = [l for l in text.splitlines() if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", l)]
    check(not bad, "raw control characters in the broker log: %r" % bad[:3])


def huge_content_length(d, b):
    fx = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "helpers", "fixture_server.py")],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        m = re.match(r"READY port=(\d+)", fx.stdout.readline())
        check(m, "fixture server ready")
        url = "http://127.0.0.1:%s/huge?bytes=%d" % (m.group(1), 2 * 1024 * 1024 * 1024)
        conf = os.path.join(d, "watch.conf")
        with open(conf, "w") as f:
            f.write('watch = {\n  broker = "%s";\n  state = "%s/watch.db";\n  sources = (\n'
                    '    { id = "huge"; topic = "un.huge"; url = "%s"; interval = 3600;'
                    ' fail_threshold = 1; }\n  );\n};\n' % (b.publish, d, url))
        r = subprocess.run([WATCH, "-c", conf, "--once", "--publish-existing"],
                           capture_output=True, text=True, timeout=120)
        check("too big" in r.stderr, "2 GB Content-Length refused as too big: %r" % r.stderr[-400:])
        rep = Replayer(zmq.Context.instance(), b.replay)
        evs, _ = rep.replay_all(prefixes=["un.huge"])
        rep.close()
        check(not evs, "no item event from the huge body")
        print("2 GB Content-Length refused without download")
    finally:
        fx.kill()
        fx.wait()


def main():
    d = workdir("hostile")
    b = Broker(d).start()
    ctx = zmq.Context.instance()
    many_subscriptions(b, ctx)
    hostile_publishes(b, ctx)
    hostile_replay(b, ctx)
    huge_content_length(d, b)
    clean_log(b)
    check(b.stop() == 0, "broker exits 0")
    print("hostile inputs: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
