#!/usr/bin/python3
"""pub_tail_100k_none_lost_none_duplicated: `veille pub --stdin` publishes
100k events pipelined; `veille tail --json --count 100000` started before
gets every one exactly once, in strictly increasing seq order, with every
field of the event."""
import sys
import time

from client_procs import (Broker, check_unique_increasing, event_lines, parse_json_lines,
                          pub_stdin, tail, workdir)

N = 100000


def main():
    d = workdir("pubtail")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    t = tail(b, ["un."], "--json", "--count", str(N))
    lines = event_lines(N, salt="pt")
    t0 = time.time()
    rc, err = pub_stdin(b, lines)
    pub_s = time.time() - t0
    assert rc == 0, "veille pub exit %d: %s" % (rc, err)
    assert "%d sent, %d stored, 0 duplicate, 0 rejected, 0 invalid, 0 unacked" % (N, N) in err, err
    events = parse_json_lines(t.read_lines(N, timeout=240))
    assert t.wait(60) == 0, t.stderr_text()
    check_unique_increasing(events, "tail")
    titles = [e["title"] for e in events]
    assert sorted(titles) == sorted("pt %d" % i for i in range(N)), "titles differ"
    e0 = next(e for e in events if e["title"] == "pt 3")
    for key in ("v", "id", "type", "source", "topic", "seq", "url", "title", "detected", "tags"):
        assert key in e0, "missing %s in %r" % (key, e0)
    assert e0["topic"] == "un.test" and e0["type"] == "new" and e0["source"] == "cli"
    assert e0["url"] == "https://example.org/pt/3" and e0["tags"] == ["t3"]
    assert len(e0["id"]) == 32
    # publishing the same lines again: all duplicates, nothing new for a tail
    rc, err = pub_stdin(b, lines[:1000])
    assert rc == 0 and "1000 duplicate" in err, err
    assert b.stop() == 0
    print("ok: %d events published in %.1f s (%.0f/s), tailed without loss or duplicate"
          % (N, pub_s, N / pub_s))


if __name__ == "__main__":
    main()
    sys.exit(0)
