#!/usr/bin/python3
"""18-broker-replay-connections: replay_connections_past_the_limit_are_shut_down.

With replay_connections = 20, a client connected before the attack, then
200 raw ZMTP connections each holding 110 KiB of a 120 KiB request frame
(the cost a connection can impose: issue #15 measured 466 MB for 200
connections holding 2 MiB frames on an unlimited endpoint):
  - the broker counts 20 live connections (metric) and shuts the others
    down (their sockets see the end of the stream);
  - its RSS grows by less than 20 x 420 KiB + 4 MiB of slack;
  - the client connected before is served throughout (a full replay);
  - once the attackers leave, a new client connects and is served.
The publish endpoint likewise (publish_connections = 5): 40 raw
connections each holding 1.9 MiB of a 2 MiB frame (the cap) are cut to 5
(counted in the metrics) and the broker's RSS grows by less than
5 x 2 MiB + 8 MiB; a publisher connected before is acked throughout.
The subscribe endpoint too (subscribe_connections = 3): 12 connections cut
to 3."""
import os
import socket
import struct
import sys
import time

import zmq

from broker_harness import Broker, Publisher, Replayer, check, make_event, workdir
from integ_metrics import PORT_RE, scrape, value, wait_value

LIMIT, ATTACK = 20, 200
PUB_LIMIT, PUB_ATTACK = 5, 40
SUB_LIMIT, SUB_ATTACK = 3, 12
EVENTS = 50


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def zmtp_connect(endpoint):
    """Raw ZMTP 3.0 DEALER: greeting and READY."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL" + b"\x00" * 48
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
    s.sendall(greeting + bytes([0x04, len(body)]) + body)
    return s


def zmtp_partial_frame(s, declared, sent):
    """Sends the header of a DECLARED-byte frame and SENT bytes of it."""
    try:
        s.sendall(b"\x02" + struct.pack(">Q", declared) + b"p" * sent)
    except (BrokenPipeError, ConnectionResetError):
        pass   # shut down


def is_closed(s, timeout):
    """True if the peer ended the stream within TIMEOUT seconds."""
    s.settimeout(timeout)
    try:
        while True:
            if s.recv(65536) == b"":
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        s.settimeout(None)


def full_replay(r):
    evs, end = r.replay_all(after=0)
    return [e[1] for e in evs] == list(range(1, EVENTS + 1)) and not end["more"]


def publish_limit(b, ctx, port, pid):
    """The publish endpoint's connection limit (publish_connections)."""
    pub = Publisher(ctx, b.publish)
    acks = pub.publish_many([("un.p", make_event(i, "un.p", 300, salt="p")[1])
                             for i in range(10)])
    check(all(a[0] == 0 for a in acks), "the early publisher is acked")
    wait_value(port, "veille_broker_publish_connections", lambda v: v == 1)
    base = rss(pid)
    held = [zmtp_connect(b.publish) for _ in range(PUB_ATTACK)]
    wait_value(port, "veille_broker_publish_connections_refused_total",
               lambda v: v >= PUB_ATTACK - PUB_LIMIT + 1, timeout=60)
    closed = sum(1 for h in held if is_closed(h, 0.05))
    check(closed >= PUB_ATTACK - PUB_LIMIT + 1,
          "%d of %d attacking publish connections were shut down" % (closed, PUB_ATTACK))
    for h in held:
        zmtp_partial_frame(h, 2 << 20, (19 << 20) // 10)
    acks = pub.publish_many([("un.p", make_event(i, "un.p", 300, salt="q")[1])
                             for i in range(10)])
    check(all(a[0] == 0 for a in acks), "the early publisher is acked during the attack")
    grown = rss(pid) - base
    bound = PUB_LIMIT * (2 << 20) + 8 * (1 << 20)
    print("%d publish connections against a limit of %d: %d shut down, broker RSS +%.1f MiB"
          % (PUB_ATTACK, PUB_LIMIT, closed, grown / (1 << 20)))
    check(grown < bound, "RSS grew by %.1f MiB (limit %.1f MiB)"
          % (grown / (1 << 20), bound / (1 << 20)))
    for h in held:
        h.close()
    pub.close()


def subscribe_limit(b, port):
    """The subscribe endpoint's connection limit (subscribe_connections)."""
    # bare TCP connections: a DEALER greeting would be dropped by the XPUB
    # at once (socket types), the limit would never be reached
    host, sport = b.subscribe[len("tcp://"):].rsplit(":", 1)
    held = [socket.create_connection((host, int(sport))) for _ in range(SUB_ATTACK)]
    s = wait_value(port, "veille_broker_subscribe_connections_refused_total",
                   lambda v: v >= SUB_ATTACK - SUB_LIMIT, timeout=60)
    live = value(s, "veille_broker_subscribe_connections")
    check(live == SUB_LIMIT, "%d live subscribe connections (limit %d)" % (live, SUB_LIMIT))
    closed = sum(1 for h in held if is_closed(h, 0.05))
    check(closed == SUB_ATTACK - SUB_LIMIT,
          "%d of %d subscribe connections were shut down" % (closed, SUB_ATTACK))
    for h in held:
        h.close()
    wait_value(port, "veille_broker_subscribe_connections", lambda v: v == 0, timeout=60)


def main():
    # under AddressSanitizer freed blocks wait in a quarantine (256 MiB):
    # keep it small so that RSS shows what the broker holds (as in 17)
    os.environ["ASAN_OPTIONS"] = ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=1"]))
    d = workdir("rconn")
    b = Broker(d, conf_extra='  metrics_listen = "127.0.0.1:0";\n  heartbeat_ms = 100;\n'
               '  replay_connections = %d;\n  publish_connections = %d;\n  subscribe_connections = %d;' % (LIMIT, PUB_LIMIT, SUB_LIMIT)).start()
    port = int(b.wait_log(PORT_RE).group(1))
    pid = b.proc.pid
    ctx = zmq.Context()
    pub = Publisher(ctx, b.publish)
    acks = pub.publish_many([("un.c", make_event(i, "un.c", 400, salt="c")[1])
                             for i in range(EVENTS)])
    check(all(a[0] == 0 for a in acks), "events stored")
    pub.close()
    early = Replayer(ctx, b.replay)
    check(full_replay(early), "the early client is served before the attack")
    wait_value(port, "veille_broker_replay_connections", lambda v: v == 1)
    base = rss(pid)

    # the connections first, then what they make the broker hold: the
    # limit acts after the fact (the monitor's events), so a connection
    # is only refused once its event is read
    held = [zmtp_connect(b.replay) for _ in range(ATTACK)]
    s = wait_value(port, "veille_broker_replay_connections_refused_total",
                   lambda v: v >= ATTACK - LIMIT + 1, timeout=60)
    live = value(s, "veille_broker_replay_connections")
    check(live == LIMIT, "%d live replay connections counted (limit %d)" % (live, LIMIT))
    closed = sum(1 for h in held if is_closed(h, 0.05))
    check(closed >= ATTACK - LIMIT + 1,
          "%d of %d attacking connections were shut down" % (closed, ATTACK))
    for h in held:
        zmtp_partial_frame(h, 120 * 1024, 110 * 1024)
    check(full_replay(early), "the early client is served during the attack")
    time.sleep(0.5)   # the last partial frames land
    grown = rss(pid) - base
    print("%d connections against a limit of %d: %d shut down, broker RSS +%.1f MiB"
          % (ATTACK, LIMIT, closed, grown / (1 << 20)))
    check(grown < LIMIT * 420 * 1024 + 4 * (1 << 20),
          "RSS grew by %.1f MiB (limit %.1f MiB)"
          % (grown / (1 << 20), (LIMIT * 420 * 1024 + 4 * (1 << 20)) / (1 << 20)))

    for h in held:
        h.close()
    wait_value(port, "veille_broker_replay_connections", lambda v: v == 1, timeout=60)
    late = Replayer(ctx, b.replay)
    check(full_replay(late), "a client connecting after the attack is served")
    late.close()
    early.close()
    publish_limit(b, ctx, port, pid)
    subscribe_limit(b, port)
    check(b.stop() == 0, "broker stops cleanly")
    ctx.term()
    print("18-broker-replay-connections: OK")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
