#!/usr/bin/python3
"""tail_from_seq_resumes_without_gap_or_duplicate: a tail stops after 3000
of 10000 events that keep flowing; `veille tail --from-seq LAST` then gets
exactly the missed ones (replayed, in order), then live ones, with no gap
and no duplicate; together the two tails saw every seq once."""
import sys
import threading

from client_procs import (Broker, check_unique_increasing, event_lines, parse_json_lines,
                          pub_stdin, tail, workdir)

FLOW, FIRST, LIVE = 10000, 3000, 1000


def main():
    d = workdir("fromseq")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    a = tail(b, ["un."], "--json", "--count", str(FIRST))
    result = {}

    def flow():
        result["pub"] = pub_stdin(b, event_lines(FLOW, salt="flow"))
    pub = threading.Thread(target=flow)
    pub.start()
    seen_a = parse_json_lines(a.read_lines(FIRST))
    assert a.wait(60) == 0, a.stderr_text()          # tail A is down; events still flow
    pub.join(300)
    rc, err = result["pub"]
    assert rc == 0, err
    last = seen_a[-1]["seq"]
    check_unique_increasing(seen_a, "tail A")

    bt = tail(b, ["un."], "--json", "--from-seq", str(last), "--count", str(FLOW - FIRST + LIVE))
    missed = parse_json_lines(bt.read_lines(FLOW - FIRST))
    rc, err = pub_stdin(b, event_lines(LIVE, salt="live"))
    assert rc == 0, err
    live = parse_json_lines(bt.read_lines(LIVE))
    assert bt.wait(60) == 0, bt.stderr_text()

    assert missed[0]["seq"] == last + 1, "first replayed seq %d, expected %d" % (missed[0]["seq"], last + 1)
    check_unique_increasing(missed + live, "tail B")
    flow_titles = sorted("flow %d" % i for i in range(FLOW))
    assert sorted(e["title"] for e in seen_a + missed) == flow_titles, "gap or duplicate in the flow"
    assert sorted(e["title"] for e in live) == sorted("live %d" % i for i in range(LIVE))
    seqs = [e["seq"] for e in seen_a + missed + live]
    assert seqs == list(range(1, FLOW + LIVE + 1)), "seqs are not 1..%d exactly once" % (FLOW + LIVE)
    m = bt.wait_stderr(r"(\d+) live, (\d+) replayed")
    assert int(m.group(2)) >= FLOW - FIRST, "the missed events were not replayed: " + m.group(0)
    assert b.stop() == 0
    print("ok: resumed after seq %d: %d replayed + %d live, no gap, no duplicate"
          % (last, len(missed), len(live)))


if __name__ == "__main__":
    main()
    sys.exit(0)
