#!/usr/bin/python3
"""17-broker-replay-flood: replay_clients_that_never_read_cost_at_most_the_budget.

The attack of issue #15: DEALERs send many replay requests for prefixes
holding ~900 KB events and never read. Without a budget every request
queued a whole answer (~16 MB) in the broker (2 GB for 120 requests).
Checked here, with replay_client_bytes = 16 MiB and replay_total_bytes =
48 MiB:
  A. one connection, 120 requests, never reading: the broker's RSS grows
     by less than replay_client_bytes + 16 MiB of slack, and a normal
     client meanwhile replays every event (big and small) with no gap;
  B. six more such connections (7 x 16 MiB asked): the RSS grows by less
     than replay_total_bytes + slack, the queued-bytes gauge never passes
     the total, a normal client still gets an answer at once (a page, or
     ERR busy), and everything once the attackers are gone;
  C. 100 connections each holding a partial 120 KiB request frame (raw
     ZMTP), plus one frame past the 128 KiB cap (connection closed; a
     100 KB request gets ERR "request too large (limit 65536 bytes)"): the
     RSS grows by about 128 KiB per connection, and a normal client is
     still served.
The figures are printed (RSS in MiB)."""
import os
import socket
import struct
import sys
import time

import zmq

from broker_harness import Broker, Publisher, Replayer, check, make_event, workdir
from integ_metrics import PORT_RE, scrape, value, wait_value

MIB = 1 << 20
CLIENT_BYTES = 16 * MIB
TOTAL_BYTES = 48 * MIB
SLACK = 16 * MIB
BIG, SMALL = 40, 100


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss(pid, seconds=1.0):
    """Highest RSS sampled over SECONDS (the queues settle meanwhile)."""
    peak = 0
    end = time.time() + seconds
    while time.time() < end:
        peak = max(peak, rss(pid))
        time.sleep(0.05)
    return peak


def requests_seen(port):
    return value(scrape(port)[0], "veille_broker_replay_requests_total") or 0


def wait_requests(port, n):
    wait_value(port, "veille_broker_replay_requests_total", lambda v: v >= n, timeout=120)


def attacker(ctx, endpoint, nreq):
    """A DEALER that asks NREQ big replays and never reads (tiny buffers)."""
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVHWM, 1)
    s.setsockopt(zmq.RCVBUF, 4096)
    s.connect(endpoint)
    for _ in range(nreq):
        s.send(b"\x83\xa5after\x00\xa8prefixes\x91\xa4big.\xa5limit\xcd\x27\x10")
    return s


def normal_client_gets_everything(ctx, b, what):
    r = Replayer(ctx, b.replay)
    t0 = time.time()
    evs, end = r.replay_all(after=0, limit=1000)
    r.close()
    seqs = [e[1] for e in evs]
    check(seqs == list(range(1, BIG + SMALL + 1)),
          "%s: the normal client got every event in order (%d)" % (what, len(seqs)))
    check(not end["more"], "%s: the replay ended" % what)
    return time.time() - t0


def zmtp_partial(endpoint, declared, sent):
    """A raw ZMTP 3.0 DEALER that sends a frame header declaring DECLARED
    bytes and SENT bytes of it, then nothing."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL" + b"\x00" * 16 \
        + b"\x00" + b"\x00" * 31
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
    s.sendall(greeting + bytes([0x04, len(body)]) + body)
    s.sendall(b"\x02" + struct.pack(">Q", declared) + b"p" * sent)
    return s


def main():
    # under AddressSanitizer freed blocks wait in a quarantine (256 MiB):
    # keep it small so that RSS shows what the broker holds
    os.environ["ASAN_OPTIONS"] = ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=1"]))
    d = workdir("rflood")
    b = Broker(d, conf_extra='  metrics_listen = "127.0.0.1:0";\n  heartbeat_ms = 100;\n'
               '  replay_client_bytes = %d;\n  replay_total_bytes = %d;\n'
               '  replay_client_requests = 4;' % (CLIENT_BYTES, TOTAL_BYTES)).start()
    port = int(b.wait_log(PORT_RE).group(1))
    pid = b.proc.pid
    ctx = zmq.Context()
    pub = Publisher(ctx, b.publish)
    items = [("big.a", make_event(i, "big.a", 900 * 1000, salt="big")[1]) for i in range(BIG)]
    items += [("un.s", make_event(i, "un.s", 500, salt="small")[1]) for i in range(SMALL)]
    acks = pub.publish_many(items, window=10)
    check(all(a[0] == 0 for a in acks), "140 events stored")
    pub.close()
    normal_client_gets_everything(ctx, b, "warm-up")
    base = peak_rss(pid, 0.5)

    # A: one connection, 120 requests, never reading
    seen = requests_seen(port)
    a = attacker(ctx, b.replay, 120)
    wait_requests(port, seen + 120)
    grown_a = peak_rss(pid) - base
    took = normal_client_gets_everything(ctx, b, "attack A")
    grown_a = max(grown_a, peak_rss(pid, 0.3) - base)
    print("A: 1 connection x 120 requests: broker RSS +%.1f MiB (budget %d MiB); "
          "normal client replayed %d events in %.2f s"
          % (grown_a / MIB, CLIENT_BYTES // MIB, BIG + SMALL, took))
    check(grown_a < CLIENT_BYTES + SLACK,
          "RSS grew by %.1f MiB for one client that never reads (limit %d + %d MiB)"
          % (grown_a / MIB, CLIENT_BYTES // MIB, SLACK // MIB))
    s = wait_value(port, "veille_broker_replay_dropped_total", lambda v: v >= 100)
    check(value(s, "veille_broker_replay_queued_bytes") <= CLIENT_BYTES,
          "queued bytes within the client budget")

    # B: six more connections: the total budget holds
    seen = requests_seen(port)
    more = [attacker(ctx, b.replay, 10) for _ in range(6)]
    wait_requests(port, seen + 60)
    grown_b = peak_rss(pid) - base
    s = scrape(port)[0]
    queued = value(s, "veille_broker_replay_queued_bytes")
    check(queued <= TOTAL_BYTES, "queued bytes %d within the total %d" % (queued, TOTAL_BYTES))
    r = Replayer(ctx, b.replay)
    t0 = time.time()
    kind, evs, body = r.request({"after": 0, "prefixes": ["big."]}, timeout_ms=5000)
    check(kind == "END" or (kind == "ERR" and "busy" in body["error"]),
          "a normal client gets a page or ERR busy at once: %s %r" % (kind, body))
    answer_ms = (time.time() - t0) * 1000
    r.close()
    print("B: 7 connections never reading: broker RSS +%.1f MiB (total budget %d MiB), "
          "queued %.1f MiB; a normal client's big replay answered %s (%d events) in %.0f ms"
          % (grown_b / MIB, TOTAL_BYTES // MIB, queued / MIB, kind, len(evs), answer_ms))
    check(grown_b < TOTAL_BYTES + SLACK,
          "RSS grew by %.1f MiB for 7 clients that never read (limit %d + %d MiB)"
          % (grown_b / MIB, TOTAL_BYTES // MIB, SLACK // MIB))
    for sock in [a] + more:
        sock.close(0)
    wait_value(port, "veille_broker_replay_queued_bytes", lambda v: v == 0)
    normal_client_gets_everything(ctx, b, "after the attackers left")

    # C: connections holding partial request frames
    before = peak_rss(pid, 0.3)
    held = [zmtp_partial(b.replay, 120 * 1024, 110 * 1024) for _ in range(100)]
    over = zmtp_partial(b.replay, 1 << 30, 64 * 1024)   # past the cap: closed
    over.settimeout(10)
    closed = False
    try:
        while not closed:
            closed = over.recv(65536) == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    check(closed, "a frame past the 128 KiB cap closes the connection")
    r = Replayer(ctx, b.replay)
    kind, _, body = r.request(b"\x81\xa5after\xc5" + struct.pack(">H", 60000) + b"x" * 60000
                              + b"y" * 40000, timeout_ms=10000)
    r.close()
    check(kind == "ERR" and "limit 65536 bytes" in body["error"],
          "a 100 KB request (under the frame cap) gets ERR with the limit: %s %r" % (kind, body))
    # the partial frames arrived once a normal client (queued behind them
    # in the broker's loop) is served
    took = normal_client_gets_everything(ctx, b, "100 partial frames held")
    grown_c = peak_rss(pid, 0.5) - before
    print("C: 100 connections holding 110 KiB of a 120 KiB request: broker RSS "
          "+%.1f MiB (%.0f KiB per connection); normal client served in %.2f s"
          % (grown_c / MIB, grown_c / 1024 / 100, took))
    check(grown_c < 100 * 256 * 1024,
          "RSS grew by %.1f MiB for 100 partial frames (limit 25 MiB)" % (grown_c / MIB))
    for s in held:
        s.close()
    over.close()
    check(b.stop() == 0, "broker stops cleanly")
    ctx.term()
    print("17-broker-replay-flood: OK")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
