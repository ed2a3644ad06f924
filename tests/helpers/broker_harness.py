"""broker_harness: start veille-broker in a temp dir and talk to it with
pyzmq + msgpack only (no veille client code), for the broker integration
tests (tests/integration/1x-broker-*.py).

Protocol (core/wire.h, docs/protocol.md):
  publish  DEALER -> ROUTER  [token 8B][topic][event]  ->  [token][status 1B][seq 8B BE][reason?]
                             or an ack batch: one frame of 17-byte records [token][status][seq]
  fan-out  SUB <- XPUB       [topic][seq 8B BE][event]
  replay   DEALER -> ROUTER  [msgpack map]  ->  ["E"][topic][seq][event]* then ["END"][map] | ["ERR"][map]
"""
import atexit
import collections
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

STORED, DUPLICATE, REJECTED, UNAVAILABLE = 0, 1, 2, 3
READY_RE = re.compile(r"veille-broker: ready publish=(\S+) subscribe=(\S+) replay=(\S+) head=(\d+)")


ACK_RECORD = 17


def parse_reply(frames):
    """One publish reply -> [(token, status, seq, reason or None)]: an ack
    batch (one frame of 17-byte records) or a single ack (3 or 4 frames).
    token is an int when it is 8 bytes (always, in a batch)."""
    if len(frames) == 1:
        b = frames[0]
        assert b and len(b) % ACK_RECORD == 0, "malformed ack batch %r" % (b[:40],)
        return [(struct.unpack(">Q", b[i:i + 8])[0], b[i + 8],
                 struct.unpack(">Q", b[i + 9:i + 17])[0], None)
                for i in range(0, len(b), ACK_RECORD)]
    assert len(frames) in (3, 4), frames
    token = struct.unpack(">Q", frames[0])[0] if len(frames[0]) == 8 else frames[0]
    assert len(frames[1]) == 1 and len(frames[2]) == 8, frames
    reason = frames[3].decode() if len(frames) == 4 else None
    return [(token, frames[1][0], struct.unpack(">Q", frames[2])[0], reason)]


def broker_bin():
    return os.path.join(os.environ.get("VEILLE_BIN", "build"), "broker", "veille-broker")


def event_id(n, salt="t"):
    return hashlib.md5(("%s:%d" % (salt, n)).encode()).hexdigest()


def make_event(n, topic, size=512, salt="t"):
    """A valid event (msgpack bytes) of about SIZE bytes; returns (id, bytes)."""
    eid = event_id(n, salt)
    ev = {"v": 1, "id": eid, "type": "new", "source": "test", "topic": topic,
          "url": "https://example.org/item/%d" % n, "title": "Item %d" % n,
          "detected": int(time.time() * 1000), "summary": ""}
    base = len(msgpack.packb(ev))
    ev["summary"] = "x" * max(0, size - base - 2)
    return eid, msgpack.packb(ev)


class Broker:
    """One veille-broker process with its config and journal in WORKDIR."""

    def __init__(self, workdir, endpoints="tcp", conf_extra=""):
        self.workdir = workdir
        self.journal_dir = os.path.join(workdir, "journal")
        if endpoints == "tcp":
            eps = ["tcp://127.0.0.1:*"] * 3
            # plaintext tcp on loopback is refused without the opt-in
            conf_extra = "  allow_plaintext_tcp = true;\n" + conf_extra
        else:
            eps = ["ipc://%s/%s.sock" % (workdir, n) for n in ("pub", "sub", "rep")]
        # Extra settings from the ctest environment (the TSan pass runs
        # 10-broker-roundtrip with fsync = "interval" to drive the syncer thread).
        conf_extra += "\n" + os.environ.get("VEILLE_TEST_BROKER_CONF", "")
        self.conf = os.path.join(workdir, "broker.conf")
        with open(self.conf, "w") as f:
            f.write('broker = {\n  publish = "%s";\n  subscribe = "%s";\n  replay = "%s";\n'
                    '  journal_dir = "%s";\n%s\n};\n' % (eps[0], eps[1], eps[2],
                                                         self.journal_dir, conf_extra))
        self.proc = None
        self.lines = []
        self.cond = threading.Condition()
        self.publish = self.subscribe = self.replay = None
        self.head = None
        self.log_path = os.path.join(workdir, "broker.log")

    def start(self, timeout=60, args=("--log-level", "info")):
        self.lines = []
        self.proc = subprocess.Popen([broker_bin(), "-c", self.conf] + list(args),
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        _PROCS.append(self.proc)
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        m = self.wait_log(READY_RE, timeout)
        self.publish, self.subscribe, self.replay = m.group(1), m.group(2), m.group(3)
        self.head = int(m.group(4))
        return self

    def _reader(self, proc):
        with open(self.log_path, "a") as log:
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self.cond:
                    self.lines.append(line)
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_log(self, pattern, timeout=30):
        """Waits for a stderr line matching PATTERN (regex); returns the match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.time() + timeout
        seen = 0
        with self.cond:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.proc.poll() is not None and seen == len(self.lines):
                    # process gone: give the reader a moment to drain
                    self.cond.wait(0.2)
                    if seen == len(self.lines):
                        raise AssertionError("broker exited (%s) before %r; log:\n%s"
                                             % (self.proc.returncode, rx.pattern,
                                                "\n".join(self.lines[-30:])))
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timeout waiting for %r; log:\n%s"
                                         % (rx.pattern, "\n".join(self.lines[-30:])))
                self.cond.wait(min(left, 0.5))

    def log_text(self):
        with self.cond:
            return "\n".join(self.lines)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


from procs import PROCS as _PROCS  # noqa: E402 (killed at exit)


def workdir(name):
    d = tempfile.mkdtemp(prefix="vl-%s-" % name)
    atexit.register(shutil.rmtree, d, True)
    return d


class Publisher:
    """A pipelined publisher: tokens are 8-byte big-endian counters."""

    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.next_token = 1
        self.acks = collections.deque()   # records of a batch not yet returned

    def send(self, topic, event, token=None):
        if token is None:
            token = self.next_token
            self.next_token += 1
        t = topic.encode() if isinstance(topic, str) else topic
        self.sock.send_multipart([struct.pack(">Q", token), t, event])
        return token

    def send_frames(self, frames):
        self.sock.send_multipart(frames)

    def recv_ack(self, timeout_ms=10000):
        """Returns (token, status, seq, reason or None) or None on timeout."""
        if not self.acks:
            if not self.sock.poll(timeout_ms):
                return None
            self.acks.extend(parse_reply(self.sock.recv_multipart()))
        return self.acks.popleft()

    def publish_many(self, items, window=5000, timeout_ms=20000):
        """Sends (topic, event) ITEMS pipelined with at most WINDOW unacked;
        returns acks as a list [(status, seq, reason)] in ITEMS order."""
        acks = [None] * len(items)
        base = self.next_token
        sent = done = 0
        while done < len(items):
            while sent < len(items) and sent - done < window:
                self.send(items[sent][0], items[sent][1])
                sent += 1
            a = self.recv_ack(timeout_ms)
            assert a is not None, "no ack within %d ms (%d/%d acked)" % (timeout_ms, done, len(items))
            token, status, seq, reason = a
            i = token - base
            assert 0 <= i < len(items) and acks[i] is None, "unexpected ack %r" % (a,)
            acks[i] = (status, seq, reason)
            done += 1
        return acks

    def close(self):
        self.sock.close(0)


class Subscriber(threading.Thread):
    """Collects [topic][seq][event] in a thread; heartbeats kept apart."""

    def __init__(self, ctx, endpoint, prefixes=("",)):
        super().__init__(daemon=True)
        self.sock = ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.setsockopt(zmq.LINGER, 0)
        for p in prefixes:
            self.sock.setsockopt(zmq.SUBSCRIBE, p.encode())
        self.sock.connect(endpoint)
        self.events = []          # (topic, seq, id)
        self.heartbeats = []      # (seq, body dict)
        self.stats = []
        self.running = True
        self.cond = threading.Condition()
        self.start()

    def run(self):
        while self.running:
            if not self.sock.poll(100):
                continue
            topic, seq, body = self.sock.recv_multipart()
            seq = struct.unpack(">Q", seq)[0]
            with self.cond:
                if topic == b"_sys.heartbeat":
                    self.heartbeats.append((seq, msgpack.unpackb(body)))
                elif topic == b"_sys.stats":
                    self.stats.append((seq, msgpack.unpackb(body)))
                else:
                    self.events.append((topic.decode(), seq, msgpack.unpackb(body)["id"]))
                self.cond.notify_all()
        self.sock.close(0)

    def wait(self, pred, timeout=30, what="condition"):
        deadline = time.time() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("subscriber: timeout waiting for %s (%d events, %d heartbeats)"
                                         % (what, len(self.events), len(self.heartbeats)))
                self.cond.wait(min(left, 0.5))

    def stop(self):
        self.running = False
        self.join(5)


class Replayer:
    """A replay client (DEALER)."""

    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.connect(endpoint)

    def request(self, req, timeout_ms=20000):
        """Sends REQ (dict, or raw bytes); returns (kind, events, body) with
        events [(topic, seq, event dict)] and body the END/ERR map."""
        self.sock.send(req if isinstance(req, bytes) else msgpack.packb(req))
        events = []
        while True:
            assert self.sock.poll(timeout_ms), "replay: no answer"
            f = self.sock.recv_multipart()
            if f[0] == b"E":
                assert len(f) == 4, f
                events.append((f[1].decode(), struct.unpack(">Q", f[2])[0], msgpack.unpackb(f[3])))
                continue
            assert f[0] in (b"END", b"ERR") and len(f) == 2, f
            return f[0].decode(), events, msgpack.unpackb(f[1])

    def replay_all(self, after=0, prefixes=None, limit=1000, upto=None):
        """Pages through (after, upto]; returns (events, last END)."""
        out = []
        while True:
            req = {"op": "replay", "after": after, "limit": limit}
            if prefixes is not None:
                req["prefixes"] = list(prefixes)
            if upto is not None:
                req["upto"] = upto
            kind, evs, end = self.request(req)
            assert kind == "END", end
            assert end["count"] == len(evs), (end, len(evs))
            out.extend(evs)
            after = end["next"]
            if not end["more"]:
                return out, end

    def close(self):
        self.sock.close(0)


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, file=sys.stderr)
        sys.exit(1)
