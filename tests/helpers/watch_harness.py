"""watch_harness.py: shared pieces of the watcher integration tests
(tests/integration/3x-watch-*.py): a temp dir, the fixture HTTP server, a
broker on ephemeral loopback ports, veille-watch runs and `veille tail`.
Every process started is killed at exit, also on failure."""
import atexit
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from fixture_server import FixtureServer

BIN = os.environ.get("VEILLE_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
BROKER = os.path.join(BIN, "broker", "veille-broker")
WATCH = os.path.join(BIN, "watchers", "veille-watch")
VEILLE = next((p for p in (os.path.join(BIN, "tools", "veille"),
                            os.path.join(BIN, "tools", "cli", "veille"))
               if os.access(p, os.X_OK)), os.path.join(BIN, "tools", "veille"))


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    sys.stderr.write("ok: %s\n" % msg)


class Harness:
    def __init__(self, name):
        for b in (BROKER, WATCH, VEILLE):
            if not os.access(b, os.X_OK):
                fail("missing binary %s (set VEILLE_BIN)" % b)
        self.dir = tempfile.mkdtemp(prefix="veille-%s-" % name)
        self.www = os.path.join(self.dir, "www")
        os.makedirs(self.www)
        self.procs = []
        self.fixture = None
        self.broker = None
        self.ep = {}
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: sys.exit(1))

    # ---- processes --------------------------------------------------------
    def track(self, proc):
        self.procs.append(proc)
        return proc

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.fixture:
            self.fixture.close()
        if os.environ.get("VEILLE_KEEP_TMP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start_fixture(self):
        self.fixture = FixtureServer(self.www)
        return self.fixture

    def url(self, path):
        return self.fixture.url(path)

    def ctl(self, query):
        return self.fixture.get("/_ctl/" + query)

    def start_broker(self, endpoints=None):
        """Starts the broker on ephemeral ports, or on ENDPOINTS (a dict like
        self.ep, to restart it where clients expect it)."""
        ep = endpoints or {"publish": "tcp://127.0.0.1:*", "subscribe": "tcp://127.0.0.1:*",
                           "replay": "tcp://127.0.0.1:*"}
        conf = os.path.join(self.dir, "broker.conf")
        with open(conf, "w") as f:
            f.write('broker = {\n  publish = "%s";\n  subscribe = "%s";\n  replay = "%s";\n'
                    '  journal_dir = "%s";\n  heartbeat_ms = 200;\n'
                    '  allow_plaintext_tcp = true;\n};\n'
                    % (ep["publish"], ep["subscribe"], ep["replay"],
                       os.path.join(self.dir, "journal")))
        log = open(os.path.join(self.dir, "broker.log"), "w")
        p = self.track(subprocess.Popen([BROKER, "-c", conf], stderr=subprocess.PIPE, text=True))
        deadline = time.time() + 20
        while time.time() < deadline:
            line = p.stderr.readline()
            if not line:
                fail("broker exited before ready: rc=%s" % p.poll())
            log.write(line)
            m = re.search(r"ready publish=(\S+) subscribe=(\S+) replay=(\S+)", line)
            if m:
                self.ep = {"publish": m.group(1), "subscribe": m.group(2), "replay": m.group(3)}
                break
        else:
            fail("broker not ready")
        # Keep draining its stderr so it never blocks on a full pipe.
        threading.Thread(target=lambda: [log.write(l) or log.flush() for l in p.stderr],
                         daemon=True).start()
        self.broker = p
        return self.ep

    # ---- watcher ----------------------------------------------------------
    def write_watch_conf(self, sources, **opts):
        """SOURCES: list of dicts (source keys); OPTS: watch keys."""
        state = os.path.join(self.dir, "watch.db")
        lines = ['watch = {', '  broker = "%s";' % self.ep.get("publish", "tcp://127.0.0.1:1"),
                 '  state = "%s";' % state]
        for k, v in opts.items():
            lines.append("  %s = %s;" % (k, conf_value(v)))
        lines.append("  sources = (")
        groups = []
        for s in sources:
            groups.append("    { " + " ".join("%s = %s;" % (k, conf_value(v))
                                               for k, v in s.items()) + " }")
        lines.append(",\n".join(groups))
        lines.append("  );\n};\n")
        path = os.path.join(self.dir, "watch.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        self.state = state
        self.watch_conf = path
        return path

    def watch_once(self, *extra, expect_rc=None, timeout=120):
        """Runs veille-watch --once; returns (rc, stderr, summary dict)."""
        r = subprocess.run([WATCH, "-c", self.watch_conf, "--once"] + list(extra),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        sys.stderr.write(r.stderr)
        summary = {}
        for line in r.stderr.splitlines():
            if line.startswith("veille-watch: done "):
                summary = dict(kv.split("=", 1) for kv in line.split()[2:])
                summary = {k: int(v) for k, v in summary.items()}
        if expect_rc is not None and r.returncode != expect_rc:
            fail("veille-watch --once exited %d, expected %d" % (r.returncode, expect_rc))
        return r.returncode, r.stderr, summary

    def start_watch(self, *extra):
        """Starts the daemon; returns the process once its ready line is out."""
        log = open(os.path.join(self.dir, "watch.log"), "a")
        p = self.track(subprocess.Popen([WATCH, "-c", self.watch_conf] + list(extra),
                                        stderr=subprocess.PIPE, text=True))
        lines = []
        while True:
            line = p.stderr.readline()
            if not line:
                fail("veille-watch exited before ready: rc=%s" % p.poll())
            log.write(line)
            if line.startswith("veille-watch: ready"):
                break
        p.lines = lines

        def pump():
            for l in p.stderr:
                log.write(l)
                log.flush()
                lines.append(l)
        threading.Thread(target=pump, daemon=True).start()
        return p

    def outbox_count(self):
        try:
            db = sqlite3.connect("file:%s?mode=ro" % self.state, uri=True, timeout=5)
            n = db.execute("select count(*) from outbox").fetchone()[0]
            db.close()
            return n
        except sqlite3.Error:
            return -1

    # ---- tail -------------------------------------------------------------
    def tail_cmd(self, prefixes, count=None, timeout_ms=None):
        cmd = [VEILLE, "tail", "-s", self.ep["subscribe"], "-r", self.ep["replay"], "--json",
               "--from-seq", "0"]
        if count is not None:
            cmd += ["--count", str(count)]
        if timeout_ms is not None:
            cmd += ["--timeout-ms", str(timeout_ms)]
        return cmd + list(prefixes)

    def tail(self, prefixes, count=None, timeout_ms=5000):
        """Every event under PREFIXES from seq 0 (replayed), as dicts."""
        r = subprocess.run(self.tail_cmd(prefixes, count, timeout_ms), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout_ms / 1000 + 30)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def start_tail(self, prefixes, count=None, timeout_ms=None):
        out = open(os.path.join(self.dir, "tail-%d.out" % len(self.procs)), "w+")
        p = self.track(subprocess.Popen(self.tail_cmd(prefixes, count, timeout_ms), stdout=out,
                                        stderr=subprocess.PIPE, text=True))
        p.out = out
        return p

    def journal_count(self, prefix):
        """Events the broker journal holds under PREFIX (replay op "count",
        straight over ZeroMQ: no client-side dedup can hide a duplicate)."""
        import msgpack
        import zmq
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.ep["replay"])
        try:
            s.send(msgpack.packb({"op": "count", "after": 0, "prefixes": [prefix]}))
            if not s.poll(10000):
                fail("no answer from the replay endpoint")
            while True:
                frames = s.recv_multipart()
                if frames[0] == b"END":
                    return msgpack.unpackb(frames[1])["count"]
                if frames[0] == b"ERR":
                    fail("replay error: %r" % msgpack.unpackb(frames[1]))
        finally:
            s.close()

    @staticmethod
    def tail_events(p):
        p.out.seek(0)
        return [json.loads(l) for l in p.out.read().splitlines() if l.strip()]


def conf_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) + ("L" if abs(v) > 2**31 - 1 else "")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(conf_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)   # libconfig has no \u escapes


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    fail("timed out waiting for " + what)


def rss(items, title="feed"):
    """An RSS 2.0 document from (guid, title, description) tuples."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
           "<title>%s</title><link>http://127.0.0.1/</link>" % title]
    for guid, t, d in items:
        out.append("<item><guid>%s</guid><title>%s</title><link>http://127.0.0.1/i/%s</link>"
                   "<description>%s</description></item>" % (guid, t, guid, d))
    out.append("</channel></rss>\n")
    return "".join(out)
