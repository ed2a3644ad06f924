#!/usr/bin/python3
"""slow_subscriber_recovers_dropped_events: with a tiny broker send HWM, a
tiny SUB receive HWM and a tail that sleeps after each event, the broker
drops most live messages for it; client_sub notices through heartbeat +
count, replays what is missing, and the tail still prints every event
exactly once. Replay answers are not cut by the tiny sndhwm (the replay
endpoint has its own bound): with a long request timeout, no replay
request ever times out."""
import re
import sys

from client_procs import Broker, event_lines, parse_json_lines, pub_stdin, tail, workdir

N = 1500


def main():
    d = workdir("drops")
    b = Broker(d, conf_extra="heartbeat_ms = 50;\n  sndhwm = 10;").start()
    t = tail(b, ["un."], "--json", "--count", str(N), "--rcvhwm", "10", "--delay-ms", "2",
             "--request-timeout-ms", "15000")
    # window < broker sndhwm: the acks go through the same HWM
    # 4 KiB summaries: the kernel socket buffers between broker and tail
    # fill after a few hundred events, so the HWMs drop for sure.
    pad = ',"summary":"%s"}' % ("x" * 4096)
    lines = [line[:-1] + pad for line in event_lines(N, salt="drop")]
    rc, err = pub_stdin(b, lines, "--window", "8")
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
    assert "no answer from the replay endpoint" not in t.stderr_text(), \
        "a replay answer was cut: " + t.stderr_text()[-2000:]
    assert b.stop() == 0
    print("ok: %d events, %d live + %d recovered by replay after %d detected gaps"
          % (N, live, replayed, gaps))


if __name__ == "__main__":
    main()
    sys.exit(0)
