#!/usr/bin/python3
"""python_client_from_the_doc_interoperates: the Python client embedded in
docs/protocol.md (tests/helpers/client_doc_example.py, checked identical to
the doc) publishes and tails through a real broker, interoperating with
`veille pub` and `veille tail`: every event exactly once on both sides,
DUPLICATE for a resend, REJECTED for an invalid event, replay from 0; and
across a journal wipe whose new head already passes the client's cursor
(only the journal epoch tells): every new event once."""
import os
import re
import shutil
import sys
import time

import zmq

import client_doc_example as ex
from client_procs import Broker, event_lines, parse_json_lines, pub_stdin, tail, workdir

N = 300


def doc_matches_helper():
    src = os.environ.get("VEILLE_SRC", ".")
    with open(os.path.join(src, "docs", "protocol.md")) as f:
        doc = f.read()
    m = re.search(r"<!-- BEGIN client_doc_example.py -->\n```python\n(.*?)```\n"
                  r"<!-- END client_doc_example.py -->", doc, re.S)
    assert m, "docs/protocol.md does not embed client_doc_example.py"
    with open(os.path.join(src, "tests", "helpers", "client_doc_example.py")) as f:
        assert m.group(1) == f.read(), "docs/protocol.md and client_doc_example.py differ"


def collect(it, n, what, timeout=120):
    got = {}
    deadline = time.time() + timeout
    for item in it:
        if item is None:
            assert time.time() < deadline, "%s: only %d/%d events" % (what, len(got), n)
            continue
        seq, topic, ev = item
        assert seq not in got, "%s: duplicate seq %d" % (what, seq)
        got[seq] = (topic, ev)
        if len(got) == n:
            return got


def journal_replaced(ctx):
    d = workdir("pyclient-reset")
    b = Broker(d, endpoints="ipc", conf_extra="heartbeat_ms = 100;").start()
    live = ex.Tail(ctx, b.subscribe, b.replay, ["un."])
    it = live.events(idle_ms=200)
    deadline = time.time() + 30
    while live.cursor is None:
        assert next(it) is None and time.time() < deadline
    assert pub_stdin(b, event_lines(50, salt="a"))[0] == 0
    collect(it, 50, "before the wipe")
    assert b.stop() == 0
    shutil.rmtree(b.journal_dir)                    # new journal, new epoch
    b.start()
    assert pub_stdin(b, event_lines(80, salt="b"))[0] == 0   # head 80 > cursor 50
    got = collect(it, 80, "after the wipe")
    assert sorted(got) == list(range(1, 81)), sorted(got)
    assert sorted(ev["title"] for _, ev in got.values()) == sorted("b %d" % i for i in range(80))
    assert b.stop() == 0


def main():
    doc_matches_helper()
    d = workdir("pyclient")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    ctx = zmq.Context()
    ctail = tail(b, ["un."], "--json", "--count", str(2 * N))
    live = ex.Tail(ctx, b.subscribe, b.replay, ["un."])
    it = live.events(idle_ms=500)
    deadline = time.time() + 30
    while live.cursor is None:                      # ready once a heartbeat came
        assert next(it) is None and time.time() < deadline

    pub = ex.Publisher(ctx, b.publish)
    seqs = []
    for i in range(N):
        ev = ex.make_event("un.py", "py %d" % i, "https://example.org/py/%d" % i, tags=["x"])
        status, seq = pub.publish(ev)
        assert status == ex.STORED, status
        seqs.append(seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == N
    status, seq = pub.publish(ex.make_event("un.py", "py 7", "https://example.org/py/7", tags=["x"]))
    assert (status, seq) == (ex.DUPLICATE, seqs[7]), (status, seq)
    bad = ex.make_event("un.py", "bad", "https://example.org/bad")
    bad["id"] = "not hex"
    assert pub.publish(bad)[0] == ex.REJECTED
    rc, err = pub_stdin(b, event_lines(N, topic="un.c", salt="c"))
    assert rc == 0, err

    got = collect(it, 2 * N, "python live tail")
    titles = sorted(ev["title"] for _, ev in got.values())
    want = sorted(["py %d" % i for i in range(N)] + ["c %d" % i for i in range(N)])
    assert titles == want, "python tail: wrong events"
    assert all(ev["topic"] == topic for topic, ev in got.values())

    cgot = parse_json_lines(ctail.read_lines(2 * N))
    assert ctail.wait(60) == 0, ctail.stderr_text()
    assert sorted(e["title"] for e in cgot) == want, "veille tail: wrong events"
    assert sorted(e["seq"] for e in cgot) == sorted(got), "seqs differ between the tails"

    replay = ex.Tail(ctx, b.subscribe, b.replay, ["un.py"], from_seq=0)
    rgot = collect(replay.events(idle_ms=500), N, "python replay tail")
    assert sorted(rgot) == seqs, "replay from 0 did not give the python events"
    assert b.stop() == 0
    journal_replaced(ctx)
    ctx.destroy(0)
    print("ok: python client from the doc: %d published, %d tailed live, %d replayed"
          % (N, 2 * N, N))


if __name__ == "__main__":
    main()
    sys.exit(0)
