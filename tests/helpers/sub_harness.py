"""sub_harness: run veille-sub against a broker started with broker_harness,
publish events with pyzmq (broker_harness.Publisher), read what the sinks
produced. For tests/integration/4x-sub-*.py. Every process is killed at exit."""
import atexit
import hashlib
import os
import re
import signal
import subprocess
import threading
import time

import msgpack
import zmq

from broker_harness import Broker, Publisher, workdir  # noqa: F401 (re-exported)

from procs import PROCS as _PROCS  # noqa: E402 (killed at exit)


def sub_bin():
    return os.path.join(os.environ.get("VEILLE_BIN", "build"), "subscribers", "veille-sub")


def write_conf(path, broker, state, sinks, extra="", request_timeout_ms=1000):
    """Writes a `sub` config: SINKS is a list of libconfig group bodies."""
    with open(path, "w") as f:
        f.write('sub = {\n  subscribe = "%s";\n  replay = "%s";\n  state = "%s";\n'
                '  request_timeout_ms = %d;\n%s\n  sinks = (\n    %s\n  );\n};\n'
                % (broker.subscribe, broker.replay, state, request_timeout_ms, extra,
                   ",\n    ".join("{ %s }" % s for s in sinks)))
    return path


class Sub:
    """One veille-sub process; stderr collected by a thread."""

    def __init__(self, conf, args=(), env=None):
        self.conf = conf
        self.args = list(args)
        self.env = env
        self.proc = None
        self.lines = []
        self.cond = threading.Condition()

    def start(self, wait_ready=True, timeout=60):
        self.lines = []
        self.proc = subprocess.Popen([sub_bin(), "-c", self.conf] + self.args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=self.env)
        _PROCS.append(self.proc)
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        if wait_ready:
            self.wait_log(r"veille-sub: ready", timeout)
        return self

    def _reader(self, proc):
        for raw in proc.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def log_text(self):
        with self.cond:
            return "\n".join(self.lines)

    def count_log(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for line in self.lines if rx.search(line))

    def wait_log(self, pattern, timeout=30, count=1):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cond:
            while True:
                hits = [m for m in (rx.search(l) for l in self.lines) if m]
                if len(hits) >= count:
                    return hits[-1]
                if self.proc.poll() is not None:
                    self.cond.wait(0.3)
                    hits = [m for m in (rx.search(l) for l in self.lines) if m]
                    if len(hits) >= count:
                        return hits[-1]
                    raise AssertionError("veille-sub exited (%s) before %r:\n%s"
                                         % (self.proc.returncode, pattern,
                                            "\n".join(self.lines[-30:])))
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timeout waiting for %r:\n%s"
                                         % (pattern, "\n".join(self.lines[-30:])))
                self.cond.wait(min(left, 0.5))

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def signal(self, sig):
        self.proc.send_signal(sig)


def run_sub(conf, *args, env=None, timeout=120):
    """Runs a one-shot veille-sub command; returns (exit code, stdout, stderr)."""
    p = subprocess.run([sub_bin(), "-c", conf] + list(args), capture_output=True,
                       env=env, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def event(n, topic="un.test", title=None, summary="", salt="sub", tags=None, type_="new"):
    """A valid event; returns (id, msgpack bytes)."""
    eid = hashlib.md5(("%s:%d" % (salt, n)).encode()).hexdigest()
    ev = {"v": 1, "id": eid, "type": type_, "source": "src-%s" % salt, "topic": topic,
          "url": "https://example.org/%s/%d" % (salt, n),
          "title": title if title is not None else "%s %d" % (salt, n),
          "summary": summary, "detected": int(time.time() * 1000), "tags": tags or []}
    return eid, msgpack.packb(ev)


def publish(broker, items, window=2000, resend_ms=3000):
    """Publishes (topic, msgpack) ITEMS, pipelined; an item without an ack
    after RESEND_MS is sent again (the broker dedups by id, so a lost ack
    costs nothing). Checks every ack; returns the seqs in ITEMS order."""
    ctx = zmq.Context.instance()
    p = Publisher(ctx, broker.publish)
    seqs = [None] * len(items)
    pending = {}              # token -> index
    nxt = 0
    done = 0
    deadline = time.time() + 300
    while done < len(items):
        while nxt < len(items) and len(pending) < window:
            pending[p.send(items[nxt][0], items[nxt][1])] = nxt
            nxt += 1
        a = p.recv_ack(resend_ms)
        if a is None:
            assert time.time() < deadline, "publish: no progress (%d/%d)" % (done, len(items))
            for token, i in list(pending.items()):
                del pending[token]
                pending[p.send(items[i][0], items[i][1])] = i
            continue
        token, status, seq, reason = a
        i = pending.pop(token, None)
        if i is None or seqs[i] is not None:
            continue
        assert status in (0, 1), "publish refused: %s %s" % (status, reason)
        seqs[i] = seq
        done += 1
    p.close()
    return seqs


def wait_until(pred, timeout=60, what="condition", interval=0.05):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise AssertionError("timeout waiting for " + what)
        time.sleep(interval)


def stored_cursor(state, sink):
    """The cursor veille-sub persisted for SINK in the state database."""
    import sqlite3
    if not os.path.exists(state):
        return 0
    db = sqlite3.connect(state, timeout=10)
    try:
        row = db.execute("SELECT seq FROM sink_cursor WHERE sink = ?", (sink,)).fetchone()
    except sqlite3.OperationalError:
        row = None
    db.close()
    return row[0] if row else 0


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    return [l.decode("utf-8") for l in data.split(b"\n")[:-1]]
