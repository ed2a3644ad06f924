#!/usr/bin/python3
"""sub_webhook_outage_needs_no_human: the HTTP receiver goes away
(connection refused, its keep-alive connection closed) for longer than the
whole old retry schedule (8 attempts at backoff 50 ms capped at 500 ms) and
comes back on the same port, first answering 503 with Retry-After: 1: every
alert is delivered exactly once, in order, nothing parked; the 503's
Retry-After is honoured; a second webhook sink is not slowed meanwhile;
one `down` warning and one `up again` line; veille_sub_sink_up goes 0 then
1. A 400 (permanent) parks at once."""
import os
import sys
import time

from integ_metrics import PORT_RE, value, wait_value
from sub_harness import Broker, Sub, event, publish, run_sub, workdir, write_conf
from sub_webhook import Receiver

N_DOWN = 15


def ids(reqs):
    return [r["headers"]["X-Veille-Event-Id"] for r in reqs if 200 <= r["status"] < 300]


def main():
    d = workdir("suboutw")
    b = Broker(d).start()
    hook = Receiver()
    other = Receiver()
    retry = "backoff_initial_ms = 50; backoff_max_ms = 500; timeout_s = 5;"
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "hook"; type = "webhook"; url = "%s/in"; topics = ["hook."]; %s' % (hook.url, retry),
        'name = "other"; type = "webhook"; url = "%s/in"; topics = ["hook."]; %s'
        % (other.url, retry),
    ], extra='  metrics_listen = "127.0.0.1:0";')
    s = Sub(conf).start()
    port = int(s.wait_log(PORT_RE).group(1))

    before = [event(i, topic="hook.a", salt="before") for i in range(3)]
    publish(b, [("hook.a", e[1]) for e in before])
    hook.wait(lambda r: len(ids(r)) == 3)

    hook.stop()                                   # refused from now on
    during = [event(i, topic="hook.a", salt="during") for i in range(N_DOWN)]
    publish(b, [("hook.a", e[1]) for e in during])
    s.wait_log(r"sink hook: down \(")
    other.wait(lambda r: len(ids(r)) == 3 + N_DOWN, timeout=60,
               what="the other sink getting every alert during the outage")
    samples = wait_value(port, "veille_sub_retries_total", lambda v: v >= 16, timeout=120,
                         sink="hook")
    assert value(samples, "veille_sub_sink_up", sink="hook") == 0
    assert value(samples, "veille_sub_sink_up", sink="other") == 1
    assert value(samples, "veille_sub_failures_total", sink="hook") == 0, "parked during outage"
    assert value(samples, "veille_sub_oldest_undelivered_seconds", sink="hook") > 0
    attempts = value(samples, "veille_sub_retries_total", sink="hook")

    hook.script = [(503, {"Retry-After": "1"})]   # back, busy for one more second
    hook.start()
    reqs = hook.wait(lambda r: len(ids(r)) == 3 + N_DOWN, timeout=120)
    assert ids(reqs) == [e[0] for e in before + during], "order or duplicates"
    first_503 = [r for r in reqs if r["status"] == 503]
    assert len(first_503) == 1
    k = reqs.index(first_503[0])
    gap = reqs[k + 1]["time"] - reqs[k]["time"]
    assert gap >= 0.9, "Retry-After: 1 not honoured (%.3f s)" % gap
    m = s.wait_log(r"sink hook: up again after ([0-9.]+) s down \((\d+) failed attempts\); "
                   r"(\d+) event\(s\) delivered late")
    assert int(m.group(3)) == N_DOWN, m.group(0)
    samples = wait_value(port, "veille_sub_sink_up", lambda v: v == 1, sink="hook")
    assert value(samples, "veille_sub_failures_total", sink="hook") == 0
    assert s.count_log(r"sink hook: down \(") == 1 and s.count_log(r"sink hook: up again") == 1

    # permanent: 400 parks at once
    hook.script = [400]
    bad = event(0, topic="hook.b", salt="bad")
    publish(b, [("hook.b", bad[1])])
    s.wait_log(r"sink hook: event %s \(seq \d+\) parked as dead letter after 1 attempt\(s\): "
               r"permanent failure: HTTP 400" % bad[0])
    assert s.stop() == 0
    rc, out, _ = run_sub(conf, "--list-dead")
    assert rc == 0 and "# 1 dead letter(s)" in out and bad[0] in out, out
    hook.close()
    other.close()
    assert b.stop() == 0
    print("ok: receiver down %s s (%d failed attempts), %d alerts delivered late exactly once "
          "in order, none parked; 503 Retry-After honoured (%.2f s); 400 parked at once"
          % (m.group(1), attempts, N_DOWN, gap))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
