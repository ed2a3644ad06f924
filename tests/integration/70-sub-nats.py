#!/usr/bin/python3
"""sub_nats_stream_holds_each_event_once_across_server_kill9: veille-sub's
nats sinks publish to a real nats-server -js (loopback, temp store). The
NATS server is killed with SIGKILL while events stream in and restarted on
the same port and store; afterwards each JetStream stream holds exactly one
message per event: nothing lost, nothing duplicated (Nats-Msg-Id = event
id lets JetStream drop the resends of publishes whose ack was lost).
Checks subject (veille.<topic>), the Nats-Msg-Id header, the JSON payload
and, on a second sink, the msgpack payload."""
import json
import os
import sys
import threading
import time

import msgpack

from integ_nats import NatsClient, NatsServer, free_port
from sub_harness import Broker, Sub, event, publish, wait_until, workdir, write_conf

TOPICS = ["un.ga", "gov.fr.interieur", "press.rfi"]
N_BEFORE, N_DURING = 200, 400


def items(start, n):
    return [(TOPICS[i % 3],) + event(i, topic=TOPICS[i % 3], salt="nats")
            for i in range(start, start + n)]


def check_stream(nats, stream, prefix, expect, payload):
    """Reads every message of STREAM; returns the ids, checking each."""
    c = NatsClient(nats.port)
    ids = []
    try:
        for seq in range(1, len(expect) + 1):
            subject, hdrs, data = c.stream_msg(stream, seq)
            if payload == "json":
                ev = json.loads(data)
            else:
                ev = msgpack.unpackb(data, raw=False)
            assert subject == "%s.%s" % (prefix, ev["topic"]), (subject, ev["topic"])
            assert ("Nats-Msg-Id: %s" % ev["id"]).encode() in hdrs, hdrs
            assert ev["title"] == expect[ev["id"]], ev
            ids.append(ev["id"])
    finally:
        c.close()
    return ids


def main():
    d = workdir("subnats")
    b = Broker(d).start()
    nats = NatsServer(d).start()
    common = ('timeout_s = 2; max_attempts = 1000; backoff_initial_ms = 100;'
              ' backoff_max_ms = 500;')
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "nats"; type = "nats"; stream = "VEILLE"; url = "%s"; ' % nats.url + common,
        # a server list: one dead address, then the real one
        'name = "nats-mp"; type = "nats"; stream = "MP"; subject_prefix = "mp";'
        ' url = "nats://127.0.0.1:%d, %s"; payload = "msgpack"; ' % (free_port(), nats.url)
        + common,
    ])
    s = Sub(conf, args=["--log-level", "info"]).start()

    first = items(0, N_BEFORE)
    publish(b, [(t, raw) for t, _, raw in first])
    wait_until(lambda: nats.stream_msgs("VEILLE") == N_BEFORE and nats.stream_msgs("MP") == N_BEFORE,
               timeout=120, what="first %d events in both streams" % N_BEFORE)

    during = items(N_BEFORE, N_DURING)
    errors = []

    def feed():
        try:
            for k in range(0, N_DURING, 50):
                publish(b, [(t, raw) for t, _, raw in during[k:k + 50]])
                time.sleep(0.05)        # load shaping only
        except Exception as e:          # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=feed)
    t.start()
    wait_until(lambda: nats.stream_msgs("VEILLE") >= N_BEFORE + 30, timeout=120,
               what="events streaming", interval=0.005)
    at_kill = nats.stream_msgs("VEILLE")
    nats.kill9()
    s.wait_log(r"sink nats(-mp)?: down \(", timeout=60)
    nats.start()
    t.join(300)
    assert not errors, errors
    total = N_BEFORE + N_DURING
    wait_until(lambda: nats.stream_msgs("VEILLE") >= total and nats.stream_msgs("MP") >= total,
               timeout=180, what="all %d events in both streams" % total)
    assert s.stop() == 0
    st = nats.stream_state("VEILLE")
    assert st["messages"] == total and st["last_seq"] == total, st
    assert nats.stream_msgs("MP") == total

    expect = {eid: "nats %d" % i for i, (_, eid, _) in enumerate(first + during)}
    ids = check_stream(nats, "VEILLE", "veille", expect, "json")
    assert len(set(ids)) == total and set(ids) == set(expect), "ids differ"
    ids_mp = check_stream(nats, "MP", "mp", expect, "msgpack")
    assert set(ids_mp) == set(expect) and len(ids_mp) == total
    assert at_kill < total, "the server was killed after the stream was complete (%d)" % at_kill
    nats.stop()
    assert b.stop() == 0
    print("ok: %d events, NATS killed mid-stream and restarted, each JetStream stream holds "
          "every event exactly once (json and msgpack payloads)" % total)


if __name__ == "__main__":
    main()
    sys.exit(0)
