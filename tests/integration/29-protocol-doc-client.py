#!/usr/bin/python3
"""protocol_doc_matches_the_broker: the Python client is taken from the
code block of docs/protocol.md itself (not from a copy) and run against a
real broker (publish with acks, live tail, replay from 0); and every rule
of the page that an independent client tripped on is checked on the wire
with raw pyzmq: a lone STORED/DUPLICATE ack is a 1-frame batch of 17 bytes,
REJECTED is 4 frames with seq 0, a malformed token comes back (cut to 8
bytes), `next` never goes backwards (after past the head, upto < after,
upto past the head), limit 0 counts as 1 and limit > 10000 as 10000, the
nesting limit counts containers around a value with the event map
included, and the broker's ready line is on stderr, stdout empty."""
import importlib.util
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

from broker_harness import Broker, Publisher, Replayer, broker_bin, make_event, workdir

MANY = 10050


def read_doc():
    src = os.environ.get("VEILLE_SRC", ".")
    with open(os.path.join(src, "docs", "protocol.md")) as f:
        return f.read()


def references_resolve(doc):
    """Every `see "Title"` and every #anchor link names a heading of the page."""
    heads = re.findall(r"^#+ (.+)$", doc, re.M)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in heads}
    for title in re.findall(r'see "([^"]+)"', doc):
        assert title in heads, "docs/protocol.md refers to a missing section %r" % title
    for anchor in re.findall(r"\]\(#([^)]+)\)", doc):
        assert anchor in anchors, "docs/protocol.md links to a missing #%s" % anchor


def doc_frames(doc, what):
    """The frames of the reply the worked exchange shows for WHAT ("STORED
    as seq 1"): `[aa bb | cc][dd]` is two frames of hex bytes."""
    m = re.search(r"`((?:\[[0-9a-f |]+\])+)`[^`]*?: " + re.escape(what), doc, re.S)
    assert m, "worked exchange: no reply shown for %r" % what
    return [bytes.fromhex(f.replace("|", "")) for f in re.findall(r"\[([^\]]+)\]", m.group(1))]


def worked_exchange(doc, ctx):
    """Step 2 of "A worked exchange", on the wire of a fresh broker."""
    b = Broker(workdir("doc-exchange")).start()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(b.publish)
    ev = {"v": 1, "id": "9f" * 16, "type": "new", "source": "cli", "topic": "un.test",
          "title": "Hello", "url": "https://example.org/1", "detected": 1764030000000}
    s.send_multipart([bytes(7) + b"\x01", b"un.test", msgpack.packb(ev)])
    assert s.poll(20000), "no ack"
    got = s.recv_multipart()
    want = doc_frames(doc, "STORED as seq 1")
    assert got == want, "the worked exchange shows %r, the broker sends %r" % (want, got)
    s.close(0)
    assert b.stop() == 0


def doc_client(doc):
    """The module defined by the doc's client code block."""
    m = re.search(r"<!-- BEGIN client_doc_example.py -->\n```python\n(.*?)```\n"
                  r"<!-- END client_doc_example.py -->", doc, re.S)
    assert m, "docs/protocol.md has no client code block"
    path = os.path.join(tempfile.mkdtemp(prefix="vl-doc-"), "doc_client.py")
    with open(path, "w") as f:
        f.write(m.group(1))
    spec = importlib.util.spec_from_file_location("doc_client", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_doc_client(vc, b, ctx):
    tail = vc.Tail(ctx, b.subscribe, b.replay, ["un."])
    it = tail.events(idle_ms=200)
    deadline = time.time() + 60
    while tail.cursor is None:
        assert next(it) is None and time.time() < deadline, "doc client: no heartbeat"
    pub = vc.Publisher(ctx, b.publish)
    seqs = [pub.publish(vc.make_event("un.doc", "doc %d" % i, "https://example.org/d/%d" % i))
            for i in range(20)]
    assert all(st == vc.STORED for st, _ in seqs), seqs
    again = pub.publish(vc.make_event("un.doc", "doc 3", "https://example.org/d/3"))
    assert again == (vc.DUPLICATE, seqs[3][1]), again
    got = {}
    while len(got) < 20:
        item = next(it)
        assert time.time() < deadline + 60, "doc client tail: %d/20" % len(got)
        if item:
            got[item[0]] = item[2]["title"]
    assert sorted(got.values()) == sorted("doc %d" % i for i in range(20))
    replay = vc.Tail(ctx, b.subscribe, b.replay, ["un.doc"], from_seq=0)
    rgot = []
    for item in replay.events(idle_ms=200):
        if item:
            rgot.append(item[0])
        if len(rgot) == 20:
            break
    assert rgot == [s for _, s in seqs], rgot
    return seqs[-1][1]


def raw_acks(b, ctx):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(b.publish)

    def ask(frames):
        s.send_multipart(frames)
        assert s.poll(20000), "no ack for %r" % (frames[:1],)
        return s.recv_multipart()

    _, body = make_event(900, "un.raw", 200, salt="raw")
    token = struct.pack(">Q", 7)
    r = ask([token, b"un.raw", body])
    assert len(r) == 1 and len(r[0]) == 17 and r[0][:8] == token and r[0][8] == 0, r
    seq = struct.unpack(">Q", r[0][9:])[0]
    r = ask([token, b"un.raw", body])
    assert len(r) == 1 and len(r[0]) == 17 and r[0][8] == 1, r           # DUPLICATE
    assert struct.unpack(">Q", r[0][9:])[0] == seq
    r = ask([token, b"un.raw", b"\x81\xa1x\x01"])                         # invalid event
    assert len(r) == 4 and r[0] == token and r[1] == b"\x02" and r[2] == bytes(8), r
    assert r[3].startswith(b"invalid event"), r
    assert ask([b"short", b"un.raw", body])[:2] == [b"short", b"\x02"]
    r = ask([b"0123456789ab", b"un.raw", body])
    assert r[0] == b"01234567" and r[1] == b"\x02" and r[2] == bytes(8), r
    r = ask([b"lonely"])
    assert r[0] == b"lonely" and r[1] == b"\x02" and b"3 frames" in r[3], r
    s.close(0)


def nesting(b, ctx):
    pub = Publisher(ctx, b.publish)

    def status(value, n):
        ev = msgpack.unpackb(make_event(n, "un.nest", 100, salt="nest")[1])
        ev["x"] = value
        pub.send("un.nest", msgpack.packb(ev))
        return pub.recv_ack()[1]

    def nest(levels, inner):
        """INNER wrapped in LEVELS arrays."""
        v = inner
        for _ in range(levels):
            v = [v]
        return v
    assert status(nest(7, 1), 1) == 0, "7 arrays (8 containers) around a value refused"
    assert status(nest(8, 1), 2) == 2, "8 arrays (9 containers) around a value accepted"
    assert status(nest(7, []), 3) == 0, "an empty array inside 8 containers refused"
    assert status(nest(8, []), 6) == 2, "a 10th container accepted"
    assert status(nest(6, {"k": 1}), 4) == 0
    assert status(nest(7, {"k": 1}), 5) == 2
    pub.close()


def replay_edges(b, ctx, head):
    r = Replayer(ctx, b.replay)
    kind, evs, end = r.request({"op": "replay", "after": head + 5})
    assert kind == "END" and not evs and end["next"] == head + 5 and not end["more"], end
    kind, evs, end = r.request({"op": "count", "after": 10, "upto": 4})
    assert end["next"] == 10 and end["count"] == 0, end
    kind, evs, end = r.request({"op": "count", "after": 2, "upto": head + 100})
    assert end["next"] == head and end["count"] == head - 2, end
    kind, evs, end = r.request({"op": "replay", "after": 0, "limit": 0})
    assert len(evs) == 1 and end["more"] and end["next"] == evs[0][1], end
    kind, evs, end = r.request({"op": "replay", "after": 0, "limit": 20000})
    assert kind == "END" and len(evs) == 10000 and end["more"], (kind, len(evs), end)
    assert end["next"] == evs[-1][1]
    r.close()


def ready_line_on_stderr(d):
    conf = os.path.join(d, "broker.conf")
    p = subprocess.Popen([broker_bin(), "-c", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = b""
    deadline = time.time() + 60
    while b"veille-broker: ready" not in line:
        assert time.time() < deadline, "no ready line on stderr"
        line = p.stderr.readline()
        assert line, "broker exited: %s" % p.wait()
    p.terminate()
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0 and out == b"", (p.returncode, out)


def main():
    doc = read_doc()
    references_resolve(doc)
    ctx = zmq.Context()
    worked_exchange(doc, ctx)
    vc = doc_client(doc)
    d = workdir("doc-client")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    run_doc_client(vc, b, ctx)
    raw_acks(b, ctx)
    nesting(b, ctx)
    pub = Publisher(ctx, b.publish)
    acks = pub.publish_many([("un.many", make_event(i, "un.many", 64, salt="many")[1])
                             for i in range(MANY)])
    assert all(a[0] == 0 for a in acks)
    pub.close()
    replay_edges(b, ctx, acks[-1][1])
    assert b.stop() == 0
    ready_line_on_stderr(d)
    ctx.destroy(0)
    print("ok: the client in docs/protocol.md publishes and tails against the broker; "
          "acks, tokens, next, limit, nesting and the ready line behave as documented")


if __name__ == "__main__":
    main()
    sys.exit(0)
