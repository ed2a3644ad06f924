#!/usr/bin/python3
"""sub_recovers_live_messages_the_broker_dropped: with a tiny broker send
HWM and a tiny SUB receive HWM, the broker drops live messages to
veille-sub during a burst; heartbeats show the head beyond the cursor, the
subscriber reconciles through the replay endpoint, and every event still
reaches the log sink exactly once, in a file that a stop/start in the
middle does not disturb."""
import os
import re
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, wait_until, workdir, write_conf

N = 3000


def main():
    d = workdir("subdrop")
    b = Broker(d, conf_extra="heartbeat_ms = 50;\n  sndhwm = 10;").start()
    path = os.path.join(d, "alerts.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"),
                      ['name = "text"; type = "log"; file = "%s";' % path],
                      extra="  rcvhwm = 10;", request_timeout_ms=15000)
    # (a long request timeout: the tiny sndhwm does not cut replay answers,
    # so no request may time out; checked at the end)
    s = Sub(conf).start()
    replayed = 0
    items = [event(i, topic="un.drop", salt="drop") for i in range(N)]
    # window < broker sndhwm: the acks go through the same HWM
    publish(b, [("un.drop", e[1]) for e in items[:N // 2]], window=8, resend_ms=300)
    wait_until(lambda: len(read_lines(path)) >= N // 2, timeout=120, what="first half")
    assert s.stop() == 0
    replayed += int(s.wait_log(r"stopping \(events: \d+ live, (\d+) replayed").group(1))
    logs = s.log_text()
    s = Sub(conf).start()
    publish(b, [("un.drop", e[1]) for e in items[N // 2:]], window=8, resend_ms=300)
    wait_until(lambda: len(read_lines(path)) >= N, timeout=120, what="every event")
    assert s.stop() == 0
    replayed += int(s.wait_log(r"stopping \(events: \d+ live, (\d+) replayed").group(1))
    assert replayed > 0, "no live message was dropped: the test proves nothing"
    assert "no answer from the replay endpoint" not in logs + s.log_text(), \
        "a replay answer was cut"
    rx = re.compile(r" id=([0-9a-f]{32}) seq=(\d+)")
    got = [rx.search(l).groups() for l in read_lines(path)]
    ids = [g[0] for g in got]
    assert len(ids) == len(set(ids)) == N, "%d lines, %d distinct" % (len(ids), len(set(ids)))
    assert sorted(ids) == sorted(e[0] for e in items)
    assert b.stop() == 0
    print("ok: %d events exactly once through a broker that drops live messages "
          "(%d recovered by replay)" % (N, replayed))


if __name__ == "__main__":
    main()
    sys.exit(0)
