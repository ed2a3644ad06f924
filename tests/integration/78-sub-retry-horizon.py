#!/usr/bin/python3
"""sub_retry_horizon_parks_then_redrives: with retry_horizon_s = 1, an
outage longer than that parks the alert being retried (after about 1 s of
retries) and then each next one after a single failed attempt, with the
reason "down longer than retry_horizon_s". When the receiver is back, a
sink with redrive_dead = true delivers the next alert and then the parked
ones (oldest first, once each, the dead-letter table emptied); a sink
without it keeps them parked until --retry-dead, which still works."""
import os
import re
import sys
import time

from integ_metrics import PORT_RE, value, wait_value
from sub_harness import Broker, Sub, event, publish, run_sub, workdir, write_conf
from sub_webhook import Receiver

N = 3


def ids(reqs):
    return [r["headers"]["X-Veille-Event-Id"] for r in reqs if 200 <= r["status"] < 300]


def main():
    d = workdir("subhoriz")
    b = Broker(d).start()
    auto = Receiver(up=False)
    manual = Receiver(up=False)
    common = "backoff_initial_ms = 50; backoff_max_ms = 200; retry_horizon_s = 1; timeout_s = 5;"
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "auto"; type = "webhook"; url = "%s/in"; redrive_dead = true; %s'
        % (auto.url, common),
        'name = "manual"; type = "webhook"; url = "%s/in"; %s' % (manual.url, common),
    ], extra='  metrics_listen = "127.0.0.1:0";')
    s = Sub(conf).start()
    port = int(s.wait_log(PORT_RE).group(1))

    t0 = time.time()
    parked = [event(i, topic="h.a", salt="parked") for i in range(N)]
    publish(b, [("h.a", e[1]) for e in parked])
    for sink in ("auto", "manual"):
        for e in parked:
            s.wait_log(r"sink %s: event %s \(seq \d+\) parked as dead letter after \d+ "
                       r"attempt\(s\): down longer than retry_horizon_s \(1 s\): transport"
                       % (sink, e[0]), timeout=60)
    took = time.time() - t0
    assert took >= 1.0, "parked before the horizon (%.2f s)" % took
    # the first one was retried for the horizon, the next ones once each
    log = s.log_text()
    tries = [int(re.search(r"sink auto: event %s .* after (\d+) attempt" % e[0], log).group(1))
             for e in parked]
    assert tries[0] > 1 and tries[1:] == [1] * (N - 1), tries
    samples = wait_value(port, "veille_sub_failures_total", lambda v: v == N, sink="auto")
    assert value(samples, "veille_sub_sink_up", sink="auto") == 0

    auto.start()
    manual.start()
    nxt = event(0, topic="h.a", salt="next")
    publish(b, [("h.a", nxt[1])])
    got = auto.wait(lambda r: len(ids(r)) == N + 1, timeout=60)
    assert ids(got) == [nxt[0]] + [e[0] for e in parked], ids(got)
    s.wait_log(r"sink auto: %d parked event\(s\) delivered again" % N)
    wait_value(port, "veille_sub_redriven_total", lambda v: v == N, sink="auto")
    manual.wait(lambda r: len(ids(r)) == 1, timeout=60)
    assert s.stop() == 0
    assert len(ids(auto.requests)) == N + 1 and ids(manual.requests) == [nxt[0]]

    rc, out, _ = run_sub(conf, "--list-dead")
    assert rc == 0 and "# %d dead letter(s)" % N in out, out
    sinks = [line.split("\t")[1] for line in out.splitlines() if not line.startswith("#")]
    assert sinks == ["manual"] * N, out                 # auto's were redriven and removed
    rc, out, err = run_sub(conf, "--retry-dead", "manual")
    assert rc == 0 and "%d of %d dead letter(s) delivered" % (N, N) in out, out + err
    assert ids(manual.requests) == [nxt[0]] + [e[0] for e in parked]
    rc, out, _ = run_sub(conf, "--list-dead")
    assert rc == 0 and "# 0 dead letter(s)" in out, out
    auto.close()
    manual.close()
    assert b.stop() == 0
    print("ok: horizon 1 s: %d alerts parked in %.2f s (attempts %s); redrive_dead delivered "
          "them after the next one, --retry-dead the other sink's" % (N, took, tries))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
