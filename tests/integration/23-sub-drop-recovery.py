#!/usr/bin/python3
"""slow_subscriber_recovers_dropped_events: with a tiny broker send HWM, a
tiny SUB receive HWM and a tail that sleeps after each event, the broker
drops most live messages for it; client_sub notices through heartbeat +
count, replays what is missing, and the tail still prints every event
exactly once."""
import re
import sys

from client_procs import Broker, event_lines, parse_json_lines, pub_stdin, tail, workdir

N = 3000


def main():
    d = workdir("drops")
    b = Broker(d, conf_extra="heartbeat_ms = 50;\n  sndhwm = 10;").start()
    t = tail(b, ["un."], "--json", "--count", str(N), "--rcvhwm", "10", "--delay-ms", "1",
             "--request-timeout-ms", "300")
    rc, err = pub_stdin(b, event_lines(N, salt="drop"))
    assert rc == 0, err
    events = parse_json_lines(t.read_lines(N, timeout=240))
    assert t.wait(60) == 0, t.stderr_text()
    seqs = [e["seq"] for e in events]
    assert len(set(seqs)) == N, "duplicates: %d distinct of %d" % (len(set(seqs)), N)
    assert sorted(seqs) == list(range(1, N + 1)), "gap"
    assert sorted(e["title"] for e in events) == sorted("drop %d" % i for i in range(N))
    m = re.search(r"(\d+) live, (\d+) replayed\), cursor (\d+), (\d+) gaps recovered",
                  t.stderr_text())
    assert m, t.stderr_text()
    live, replayed, gaps = int(m.group(1)), int(m.group(2)), int(m.group(4))
    assert live + replayed == N
    assert gaps > 0 and replayed > 0, "no drop happened, the test proves nothing: " + m.group(0)
    assert b.stop() == 0
    print("ok: %d events, %d live + %d recovered by replay after %d detected gaps"
          % (N, live, replayed, gaps))


if __name__ == "__main__":
    main()
    sys.exit(0)
