#!/usr/bin/env python3
"""demo.py: the offline veille demo (`make demo`, tools/demo.sh).

Starts, all on the loopback and in a fresh temporary directory:
  - an HTTP server (tests/helpers/fixture_server.py) serving demo/site/,
    local copies of a UN CTITF page, UN General Assembly documents (Atom),
    the ministry of the interior's communiqués, press feeds (Silicon.fr in
    UTF-8, Stratégies in windows-1252) and an RFI page wrapped in noise;
  - a capture SMTP server and a webhook receiver that store what they get;
  - veille-broker, veille-sub (three sinks: terminal log, mail, webhook)
    and veille-watch, configured from conf/demo.conf.
Then it plays a short story: the first poll, then midway a new communiqué
and a withdrawn one, a new UN document, an edited UN page and an edited
Stratégies article (and the RFI page rotating its noise), then the RFI noise
again. Alerts appear live; the summary counts what the broker stored and
what each sink got, checks that the noise produced nothing, and every
process is stopped, also on Ctrl-C.

Exit status: 0 when every expectation held, 1 otherwise (the summary says
which), 2 on a usage error.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(TOP, "demo")
sys.path.insert(0, os.path.join(TOP, "tests", "helpers"))
import fixture_server  # noqa: E402  (the project's loopback HTTP server)
import sub_smtp  # noqa: E402  (capture SMTP server of the sink tests)
import sub_webhook  # noqa: E402  (webhook receiver of the sink tests)

try:
    import msgpack
    import zmq
except ImportError:  # reported in main()
    zmq = msgpack = None

# What the story does to the sites (files copied over demo/site).
STEPS = {
    "midway": os.path.join(DEMO, "steps", "midway"),
    "noise": os.path.join(DEMO, "steps", "noise"),
}
RFI_PATH = "/rfi/cazeneuve-cybersecurite.html"
NOISE_TOPIC = "press.rfi"


# ---------------------------------------------------------------------------
# output
class Out:
    def __init__(self, quiet=False):
        self.tty = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
        self.quiet = quiet
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def c(self, code, s):
        return "\033[%sm%s\033[0m" % (code, s) if self.tty else s

    def say(self, s=""):
        with self.lock:
            print(s, flush=True)

    def step(self, s):
        t = time.monotonic() - self.t0
        self.say(self.c("1;36", "\n── %4.1fs  %s" % (t, s)))

    def note(self, s):
        self.say(self.c("2", "   " + s))

    def width(self):
        return max(60, min(shutil.get_terminal_size((110, 24)).columns, 160))

    def cut(self, s, n):
        return s if len(s) <= n else s[:max(0, n - 1)] + "\u2026"

    def alert(self, line, diff=None):
        """Shows one line of the terminal sink: the log sink's text line
        "TIME TOPIC TYPE (SOURCE) TITLE | SUMMARY | URL [TAGS] id=... seq=..."
        spread over a few lines, cut to the terminal width."""
        w = self.width()
        m = re.match(r"^(\S+) (\S+) (\S+) \((.*?)\) (.*?)((?: \[[^\]]*\])?) id=(\S+) seq=(\d+)$",
                     line)
        if not m:
            self.say(line)
            return
        when, topic, typ, source, body, tags, ev_id, seq = m.groups()
        parts = body.split(" | ")
        title, rest = parts[0], parts[1:]
        url = rest.pop() if rest and re.match(r"^[a-z]+://", rest[-1]) else ""
        summary = " | ".join(rest)
        colour = {"new": "1;32", "changed": "1;33", "removed": "1;31"}.get(typ, "1;35")
        pad = " " * 11
        out = ["%s %s %s %s" % (self.c("2", when[11:19]), self.c(colour, "%-7s" % typ),
                                self.c("1", topic), self.cut(title, w - 18 - len(topic)))]
        if diff:
            for d in diff[:4]:
                col = "32" if d.startswith("+") else "31"
                out.append(pad + self.c(col, self.cut(d, w - 11)))
        elif summary:
            out.append(pad + self.cut(summary, w - 11))
        if url:
            out.append(pad + self.c("4", url))
        meta = "source %s%s  seq %s" % (source, "  tags" + tags if tags else "", seq)
        out.append(pad + self.c("2", meta))
        self.say("\n".join(out))


def short_diff(diff):
    """Turns a line diff ("- old" / "+ new" lines) into what changed: for a
    removed/added pair, the words around the change only."""
    lines = [l for l in (diff or "").split("\n") if l[:1] in "+-"]
    out, i = [], 0
    while i < len(lines):
        a = lines[i]
        b = lines[i + 1] if i + 1 < len(lines) else None
        if a.startswith("-") and b is not None and b.startswith("+"):
            old, new = a[1:].strip().split(" "), b[1:].strip().split(" ")
            p = 0
            while p < min(len(old), len(new)) and old[p] == new[p]:
                p += 1
            q = 0
            while q < min(len(old), len(new)) - p and old[-1 - q] == new[-1 - q]:
                q += 1
            ctx = 3
            def span(words):
                lo, hi = max(0, p - ctx), len(words) - max(0, q - ctx)
                s = " ".join(words[lo:hi])
                return ("\u2026 " if lo > 0 else "") + s + (" \u2026" if hi < len(words) else "")
            if len(old) - p - q > 0:
                out.append("- " + span(old))
            if len(new) - p - q > 0:
                out.append("+ " + span(new))
            i += 2
        else:
            out.append(a[0] + " " + a[1:].strip())
            i += 1
    return out


# ---------------------------------------------------------------------------
# capture servers: the test helpers (tests/helpers/sub_smtp.py and
# sub_webhook.py), which also store what they get, one file per message.
class MailBox(sub_smtp.SmtpCapture):
    """Capture SMTP server (aiosmtpd) writing each message to DIR/NNN.eml."""

    def __init__(self, directory):
        super().__init__()
        self.dir = directory
        self.stored = 0
        self.lock = threading.Lock()
        os.makedirs(directory, exist_ok=True)

    def add(self, mail_from, rcpts, raw):
        with self.lock:
            self.stored += 1
            path = os.path.join(self.dir, "%03d.eml" % self.stored)
        with open(path, "wb") as f:
            f.write(raw)
        super().add(mail_from, rcpts, raw)


class HookBox(sub_webhook.Receiver):
    """Webhook receiver answering 200, writing each body to DIR/NNN.json."""

    def __init__(self, directory):
        self.dir = directory
        self.stored = 0
        self.ids = set()
        self.lock = threading.Lock()
        os.makedirs(directory, exist_ok=True)
        super().__init__()

    def record(self, method, path, headers, body, conn_id, status):
        with self.lock:
            self.stored += 1
            name = os.path.join(self.dir, "%03d.json" % self.stored)
            try:
                ev = json.loads(body)
                if isinstance(ev, dict) and ev.get("id"):
                    self.ids.add(ev["id"])
            except ValueError:
                pass
        with open(name, "wb") as f:
            f.write(body)
        super().record(method, path, headers, body, conn_id, status)


def serve(server):
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    return t


# ---------------------------------------------------------------------------
# processes
class Proc:
    def __init__(self, name, argv, logdir, env, stdout_cb=None, pdeath=True):
        self.name = name
        self.log_path = os.path.join(logdir, name + ".log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.ready = threading.Event()
        self.ready_line = None
        self.ready_re = re.compile(r"%s: ready\b" % re.escape(name))
        if pdeath and shutil.which("setpriv"):
            argv = ["setpriv", "--pdeathsig", "TERM", "--"] + argv
        # Own process group: a Ctrl-C on the terminal reaches the demo only,
        # which then stops the processes in order and prints the summary.
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE if stdout_cb else subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=env, process_group=0)
        self.pid = self.p.pid
        self.threads = [threading.Thread(target=self._stderr, daemon=True)]
        if stdout_cb:
            self.threads.append(threading.Thread(target=self._stdout, args=(stdout_cb,),
                                                 daemon=True))
        for t in self.threads:
            t.start()

    def _stderr(self):
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace")
            self.log.write(line)
            self.log.flush()
            if not self.ready.is_set() and self.ready_re.search(line):
                self.ready_line = line.strip()
                self.ready.set()

    def _stdout(self, cb):
        for raw in self.p.stdout:
            cb(raw.decode("utf-8", "replace").rstrip("\n"))

    def alive(self):
        return self.p.poll() is None

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.ready.wait(0.05):
                return True
            if not self.alive():
                return False
        return False

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after TIMEOUT s. Returns the exit status."""
        if self.alive():
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        for t in self.threads:
            t.join(2)
        self.log.close()
        return self.p.returncode

    def tail(self, n=6):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []


# ---------------------------------------------------------------------------
# broker queries (replay endpoint: docs/protocol.md)
def broker_events(endpoint, timeout_ms=2000):
    """Returns the list of (seq, topic, event dict) stored by the broker."""
    ctx = zmq.Context.instance()
    out, after = [], 0
    while True:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        s.connect(endpoint)
        try:
            s.send(msgpack.packb({"op": "replay", "after": after, "limit": 1000}))
            more = False
            while True:
                frames = s.recv_multipart()
                kind = frames[0].decode()
                if kind == "E":
                    seq = int.from_bytes(frames[2], "big")
                    out.append((seq, frames[1].decode("utf-8", "replace"),
                                msgpack.unpackb(frames[3], raw=False)))
                elif kind == "END":
                    end = msgpack.unpackb(frames[1], raw=False)
                    more = bool(end.get("more"))
                    after = int(end.get("next", after))
                    break
                else:
                    raise RuntimeError("broker replay: %r" % (frames[1:],))
        finally:
            s.close()
        if not more:
            return out


def broker_event(endpoint, seq, timeout_ms=2000):
    """The event stored at SEQ, or None."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout_ms)
    s.connect(endpoint)
    try:
        s.send(msgpack.packb({"op": "replay", "after": seq - 1, "upto": seq, "limit": 1}))
        found = None
        while True:
            frames = s.recv_multipart()
            if frames[0] == b"E":
                found = msgpack.unpackb(frames[3], raw=False)
            else:
                return found
    finally:
        s.close()


def matches(sink, topic, ev):
    topics = sink.get("topics") or [""]
    types = sink.get("types")
    return (any(topic.startswith(t) for t in topics)
            and (not types or ev.get("type") in types))


# ---------------------------------------------------------------------------
def free_config(text, subst):
    for old, new in subst:
        text = text.replace(old, new)
    return text


def copy_step(src_dir, site):
    """Copies every file of SRC_DIR over SITE, each replaced atomically."""
    changed = []
    for root, _, files in os.walk(src_dir):
        for fn in files:
            src = os.path.join(root, fn)
            rel = os.path.relpath(src, src_dir)
            dst = os.path.join(site, rel)
            tmp = dst + ".tmp"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
            changed.append("/" + rel.replace(os.sep, "/"))
    return sorted(changed)


class Demo:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.out = Out()
        self.procs = []
        self.servers = []
        self.alerts = []          # terminal sink lines
        self.alert_lock = threading.Lock()
        self.problems = []
        self.phase_marks = {}     # phase -> broker head at its start
        self.stopping = False
        self.completed = False
        self.interrupted = False

    # -- setup --------------------------------------------------------------
    def bins(self):
        b = os.path.abspath(self.args.build)
        paths = {"broker": os.path.join(b, "broker", "veille-broker"),
                 "watch": os.path.join(b, "watchers", "veille-watch"),
                 "sub": os.path.join(b, "subscribers", "veille-sub"),
                 "console": os.path.join(b, "console", "veille-console")}
        missing = [p for p in paths.values() if not os.access(p, os.X_OK)]
        if missing:
            raise SystemExit("demo: missing binaries (build first: make build): "
                             + ", ".join(missing))
        return paths

    def setup(self):
        a = self.args
        self.work = os.path.abspath(a.workdir) if a.workdir else tempfile.mkdtemp(prefix="veille-demo.")
        os.makedirs(self.work, exist_ok=True)
        self.site = os.path.join(self.work, "site")
        if os.path.exists(self.site):
            shutil.rmtree(self.site)
        shutil.copytree(os.path.join(DEMO, "site"), self.site)
        for d in ("logs", "mail", "webhook"):
            os.makedirs(os.path.join(self.work, d), exist_ok=True)
        self.logdir = os.path.join(self.work, "logs")

        self.http_state = fixture_server.State(self.site)
        self.http = fixture_server.Server(("127.0.0.1", 0), self.http_state, False)
        serve(self.http)
        self.servers.append(self.http.shutdown)
        self.servers.append(self.http.server_close)
        self.smtp = MailBox(os.path.join(self.work, "mail")).start()
        self.servers.append(self.smtp.stop)
        self.hook = HookBox(os.path.join(self.work, "webhook"))
        self.servers.append(self.hook.close)
        self.base = "http://127.0.0.1:%d" % self.http.server_address[1]

    def env(self):
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        return e

    def start_broker(self, bins, conf_text):
        conf = free_config(conf_text, [
            ("tcp://127.0.0.1:7701", "tcp://127.0.0.1:*"),
            ("tcp://127.0.0.1:7702", "tcp://127.0.0.1:*"),
            ("tcp://127.0.0.1:7703", "tcp://127.0.0.1:*"),
            ("run/demo", self.work)])
        path = os.path.join(self.work, "broker.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(conf)
        p = Proc("veille-broker", [bins["broker"], "-c", path], self.logdir, self.env())
        self.procs.append(p)
        if not p.wait_ready(20):
            raise RuntimeError("veille-broker did not become ready", p)
        eps = dict(re.findall(r"(publish|subscribe|replay)=(\S+)", p.ready_line))
        if set(eps) != {"publish", "subscribe", "replay"}:
            raise RuntimeError("cannot read the broker's endpoints from: " + p.ready_line, p)
        return eps

    def start(self):
        bins = self.bins()
        with open(os.path.join(TOP, "conf", "demo.conf"), encoding="utf-8") as f:
            template = f.read()
        self.out.step("starting (everything on 127.0.0.1, files in %s)" % self.work)
        self.eps = self.start_broker(bins, template)
        smtp_port = self.smtp.port
        hook_port = self.hook.port
        conf = free_config(template, [
            ("http://127.0.0.1:8780", self.base),
            ("tcp://127.0.0.1:7701", self.eps["publish"]),
            ("tcp://127.0.0.1:7702", self.eps["subscribe"]),
            ("tcp://127.0.0.1:7703", self.eps["replay"]),
            ("smtp://127.0.0.1:2525", "smtp://127.0.0.1:%d" % smtp_port),
            ("http://127.0.0.1:8781", "http://127.0.0.1:%d" % hook_port),
            ("run/demo", self.work)])
        self.conf_path = os.path.join(self.work, "demo.conf")
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(conf)
        self.sources = re.findall(r'^\s*\{\s*id\s*=\s*"([^"]+)"', conf, re.M)
        self.paths = sorted(set(urllib.parse.urlsplit(u).path for u in
                                re.findall(r'url\s*=\s*"(%s[^"]*)"' % re.escape(self.base), conf)))
        self.sinks = self.parse_sinks(conf)

        sub = Proc("veille-sub", [bins["sub"], "-c", self.conf_path], self.logdir, self.env(),
                   stdout_cb=self.on_alert)
        self.procs.append(sub)
        if not sub.wait_ready(20):
            raise RuntimeError("veille-sub did not become ready", sub)
        self.start_console(bins)
        watch = Proc("veille-watch", [bins["watch"], "-c", self.conf_path], self.logdir,
                     self.env())
        self.procs.append(watch)
        if not watch.wait_ready(20):
            raise RuntimeError("veille-watch did not become ready", watch)

        o = self.out
        o.note("demo sites  %s/  (%d sources: %s)" % (self.base, len(self.sources),
                                                    ", ".join(self.sources)))
        o.note("broker      publish %s  subscribe %s  replay %s" % (
            self.eps["publish"], self.eps["subscribe"], self.eps["replay"]))
        o.note("subscriber  sinks: terminal (below), desk-mail -> smtp://127.0.0.1:%d, "
               "press-webhook -> http://127.0.0.1:%d" % (smtp_port, hook_port))
        o.note("web console %s  (live; alerts, search, diffs, sources)" % self.console_url)
        o.note("processes   veille-broker %d, veille-sub %d, veille-console %d, veille-watch %d"
               % tuple(p.pid for p in self.procs))

    def start_console(self, bins):
        """veille-console (docs/console.md) on an ephemeral loopback port, with
        its archive in the work directory and the watcher's state for the
        sources page."""
        self.console_db = os.path.join(self.work, "console.db")
        argv = [bins["console"], "--archive", self.console_db, "--listen", "127.0.0.1:0",
                "--subscribe", self.eps["subscribe"], "--replay", self.eps["replay"],
                "--watch-state", os.path.join(self.work, "watch.db")]
        p = Proc("veille-console", argv, self.logdir, self.env())
        self.procs.append(p)
        if not p.wait_ready(20):
            raise RuntimeError("veille-console did not become ready", p)
        m = re.search(r"ready (http://\S+/)", p.ready_line)
        self.console_url = m.group(1) if m else "?"

    def console_alerts(self):
        """Alerts in the console's archive (-1 if it cannot be read)."""
        import sqlite3
        try:
            db = sqlite3.connect("file:%s?mode=ro" % self.console_db, uri=True, timeout=5)
            try:
                return db.execute("SELECT count(*) FROM alert").fetchone()[0]
            finally:
                db.close()
        except (sqlite3.Error, AttributeError):
            return -1

    def browse(self):
        """Interactive mode: the processes stay up while the user looks at
        the web console; Enter (or Ctrl-C) ends the demo."""
        if self.quick or not sys.stdin.isatty():
            return
        o = self.out
        o.step("the web console holds the demo's alerts: %s" % self.console_url)
        o.note("open it in a browser (search \"cybersecurite\", open a changed alert's diff,")
        o.note("see the sources); press Enter to stop the demo")
        try:
            sys.stdin.readline()
        except KeyboardInterrupt:
            pass

    @staticmethod
    def parse_sinks(conf):
        """Name, topics and types of each sink of the sub section."""
        sub = conf[conf.index("\nsub = {"):]
        sinks = []
        for block in re.findall(r"\{\s*name\s*=.*?\n\s*\}", sub, re.S):
            name = re.search(r'name\s*=\s*"([^"]+)"', block).group(1)
            def lst(key):
                m = re.search(key + r'\s*=\s*\[(.*?)\]', block, re.S)
                return re.findall(r'"([^"]*)"', m.group(1)) if m else None
            sinks.append({"name": name, "topics": lst("topics"), "types": lst("types"),
                          "type": re.search(r'type\s*=\s*"([^"]+)"', block).group(1)})
        return sinks

    # -- live ---------------------------------------------------------------
    def on_alert(self, line):
        if not line.strip():
            return
        with self.alert_lock:
            self.alerts.append(line)
        diff = None
        m = re.search(r" changed \(.*seq=(\d+)$", line)
        if m and hasattr(self, "eps"):
            try:
                ev = broker_event(self.eps["replay"], int(m.group(1)))
                diff = short_diff(ev.get("diff")) if ev else None
            except Exception:  # noqa: BLE001 - display only
                diff = None
        self.out.alert(line, diff)

    def hits(self, path):
        with self.http_state.lock:
            return self.http_state.hits.get(path, 0)

    def wait_polls(self, paths, n, timeout):
        """Waits until every PATH was fetched N more times."""
        start = {p: self.hits(p) for p in paths}
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.check_alive()
            if all(self.hits(p) >= start[p] + n for p in paths):
                return True
            time.sleep(0.05)
        self.problems.append("the watcher did not poll %s %d times within %ds"
                             % (", ".join(paths), n, timeout))
        return False

    def delivered(self):
        with self.alert_lock:
            log_n = len(self.alerts)
        return {"terminal": log_n, "desk-mail": self.smtp.count(),
                "press-webhook": len(self.hook.delivered())}

    def expected(self, events):
        exp = {}
        for s in self.sinks:
            exp[s["name"]] = sum(1 for _, t, ev in events if matches(s, t, ev))
        return exp

    def settle(self, timeout):
        """Waits until every sink has what the broker stored for it."""
        end = time.monotonic() + timeout
        while True:
            self.check_alive()
            events = broker_events(self.eps["replay"])
            exp = self.expected(events)
            got = self.delivered()
            if all(got.get(k, 0) >= v for k, v in exp.items()):
                return events
            if time.monotonic() > end:
                self.problems.append("deliveries incomplete after %ds: expected %s, got %s"
                                     % (timeout, exp, got))
                return events
            time.sleep(0.1)

    def check_alive(self):
        for p in self.procs:
            if not p.alive():
                raise RuntimeError("%s exited unexpectedly (status %s)"
                                   % (p.name, p.p.returncode), p)

    def linger(self, since, seconds):
        """Interactive mode: leaves time to read (no-op in quick mode)."""
        if self.quick:
            return
        left = since + seconds - time.monotonic()
        while left > 0 and not self.stopping:
            time.sleep(min(left, 0.2))
            self.check_alive()
            left = since + seconds - time.monotonic()

    def head(self):
        return max((s for s, _, _ in broker_events(self.eps["replay"])), default=0)

    def story(self):
        o, q = self.out, self.quick
        # 1. first poll
        t = time.monotonic()
        o.step("first poll: what the sites already hold (publish_existing = true in the demo)")
        self.wait_polls(self.paths, 2, 30)
        self.settle(20)
        self.linger(t, 7)
        self.phase_marks["midway"] = self.head()

        # 2. midway: news and edits
        t = time.monotonic()
        o.step("midway: the sites change")
        o.note("ministère de l'Intérieur: a new communiqué (FIC 2016, cybersécurité), "
               "and the Franco-British plan withdrawn from the list")
        o.note("UN CTITF page: a new document in its list, and a paragraph edited")
        o.note("Stratégies (windows-1252 feed): an article updated")
        o.note("RFI page: programme grid rotated, update time, comment counter, time-out "
               "notice (noise: must stay silent)")
        changed = copy_step(STEPS["midway"], self.site)
        self.wait_polls(changed, 2, 30)
        self.settle(20)
        self.linger(t, 8)
        self.phase_marks["noise"] = self.head()

        # 3. noise only
        t = time.monotonic()
        o.step("RFI rotates its noise again (new day in the grid, notice gone)")
        copy_step(STEPS["noise"], self.site)
        self.wait_polls([RFI_PATH], 2, 30)
        self.settle(20)
        self.linger(t, 4 if not q else 0)
        o.note("nothing: noise is not news")
        self.completed = True

    # -- end ----------------------------------------------------------------
    def summary(self, events):
        o = self.out
        o.step("summary")
        polled = {p: self.hits(p) for p in self.paths}
        nm = self.not_modified()
        o.say("   sources     %d sources on %d pages/feeds, polled %d times%s" % (
            len(self.sources), len(self.paths), sum(polled.values()),
            " (%d answered 304 Not Modified: conditional GET)" % nm if nm else ""))
        by_type = {}
        for _, _, ev in events:
            by_type[ev.get("type", "?")] = by_type.get(ev.get("type", "?"), 0) + 1
        mid = self.phase_marks.get("midway", 1 << 62)
        noise_mark = self.phase_marks.get("noise", 0)
        later = [(s, t, ev) for s, t, ev in events if s > mid]
        noise = [(s, t, ev) for s, t, ev in events if t == NOISE_TOPIC and s > mid]
        o.say("   events      %d stored by the broker: %s" % (
            len(events), ", ".join("%d %s" % (v, k) for k, v in sorted(by_type.items()))))
        if "midway" in self.phase_marks:
            o.say("               %d at the first poll, %d after the midway changes, %d from the "
                  "RFI noise" % (len([e for e in events if e[0] <= mid]), len(later), len(noise)))
        exp = self.expected(events)
        got = self.delivered()
        for s in self.sinks:
            where = {"log": "this terminal",
                     "mail": os.path.join(self.work, "mail") + "/*.eml",
                     "webhook": os.path.join(self.work, "webhook") + "/*.json"}.get(s["type"], "")
            o.say("   delivered   %-14s %3d of %-3d %s" % (s["name"], got.get(s["name"], 0),
                                                       exp[s["name"]], where))
        if hasattr(self, "console_url"):
            o.say("   console     %s  %d alerts archived" % (self.console_url,
                                                          self.console_alerts()))
        o.say("   logs        %s/{veille-broker,veille-watch,veille-sub,veille-console}.log"
              % self.logdir)
        o.say("   config      %s (from conf/demo.conf)" % self.conf_path)

        new_mid = [e for e in later if e[2].get("type") == "new"]
        chg_mid = [e for e in later if e[2].get("type") == "changed"]
        rm_mid = [e for e in later if e[2].get("type") == "removed"]
        if self.completed:
            if not events:
                self.problems.append("the broker stored no event")
            if not new_mid:
                self.problems.append("no `new` event after the midway changes")
            if not chg_mid:
                self.problems.append("no `changed` event after the midway changes")
            if not rm_mid:
                self.problems.append("no `removed` event after the midway changes")
            if noise:
                self.problems.append("the RFI noise produced %d event(s): %s" % (
                    len(noise), "; ".join("%s %s" % (e[2].get("type"), e[2].get("title"))
                                          for e in noise)))
        for k, v in exp.items():
            if got.get(k, 0) < v and self.completed:
                self.problems.append("sink %s got %d of %d" % (k, got.get(k, 0), v))
        self.result = {
            "events": len(events), "new": by_type.get("new", 0),
            "changed": by_type.get("changed", 0), "first_poll": len(events) - len(later),
            "midway_new": len(new_mid), "midway_changed": len(chg_mid),
            "midway_removed": len(rm_mid), "noise": len(noise),
            "fetches": sum(polled.values()),
        }
        for s in self.sinks:
            self.result["sink_" + s["name"]] = got.get(s["name"], 0)
            self.result["expect_" + s["name"]] = exp[s["name"]]
        _ = noise_mark

    def not_modified(self):
        """Sum of not_modified=N over the watcher's pass lines (0 if none)."""
        total = 0
        for p in self.procs:
            if p.name == "veille-watch":
                try:
                    with open(p.log_path, encoding="utf-8", errors="replace") as f:
                        total = sum(int(n) for n in re.findall(r"not_modified=(\d+)", f.read()))
                except OSError:
                    pass
        return total

    def stop_all(self):
        statuses = []
        # Watcher first (nothing new enters), then the subscriber, then the broker.
        for p in sorted(self.procs, key=lambda p: {"veille-watch": 0, "veille-sub": 1,
                                                      "veille-console": 1}.get(p.name, 2)):
            rc = p.stop()
            statuses.append((p.name, p.pid, rc))
        self.procs = []
        for stop in self.servers:
            try:
                stop()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        self.servers = []
        return statuses

    def run(self):
        o = self.out
        o.say(o.c("1", "veille demo") + " — watchers poll sources, a broker journals and fans "
              "out, a subscriber delivers alerts.")
        o.say("Offline: the UN, the ministry and the press are local copies on 127.0.0.1. "
              "%s" % ("Quick mode." if self.quick else "About 30 seconds; Ctrl-C stops it."))
        events, rc = [], 0
        self.setup()
        try:
            self.start()
            self.story()
            events = broker_events(self.eps["replay"])
            self.browse()
        except KeyboardInterrupt:
            self.stopping = self.interrupted = True
            o.say("\n   interrupted: stopping")
            try:
                events = broker_events(self.eps["replay"], 1000)
            except Exception:  # noqa: BLE001
                events = []
        except RuntimeError as e:
            msg = e.args[0]
            self.problems.append(msg)
            if len(e.args) > 1 and isinstance(e.args[1], Proc):
                p = e.args[1]
                o.say(o.c("1;31", "   %s; last lines of %s:" % (msg, p.log_path)))
                for l in p.tail(8):
                    o.say("     " + l)
            try:
                events = broker_events(self.eps["replay"], 1000) if hasattr(self, "eps") else []
            except Exception:  # noqa: BLE001
                events = []
        finally:
            # A second Ctrl-C while stopping must not leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self.result = {}
            if hasattr(self, "sinks"):
                try:
                    self.summary(events)
                except Exception as e:  # noqa: BLE001
                    self.problems.append("summary failed: %s" % e)
            statuses = self.stop_all()
        bad = [(n, pid, st) for n, pid, st in statuses if st not in (0, -signal.SIGTERM)]
        for n, pid, st in bad:
            self.problems.append("%s (pid %d) exited with status %s" % (n, pid, st))
        o.say("   stopped     " + ", ".join("%s (pid %d, exit %s)" % s for s in statuses))
        if self.interrupted and not self.problems:
            rc = 130
            o.say("   interrupted after %.0fs: nothing left running." % (time.monotonic() - o.t0))
        elif self.problems:
            rc = 1
            o.say(o.c("1;31", "   problems:"))
            for p in self.problems:
                o.say(o.c("31", "     - " + p))
        else:
            o.say(o.c("1;32", "   all good: new, changed and removed alerts delivered, noise silent."))
        res = dict(self.result)
        res["status"] = {0: "ok", 130: "interrupted"}.get(rc, "fail")
        res["pids"] = ",".join(str(pid) for _, pid, _ in statuses)
        res["workdir"] = self.work
        if hasattr(self, "console_url"):
            res["console"] = self.console_url
            res["console_alerts"] = self.console_alerts()
        # One machine-readable line (tests/integration/50-demo-quick.sh reads it).
        o.say(o.c("2", "demo-result " + " ".join("%s=%s" % kv for kv in res.items())))
        return rc


def main():
    ap = argparse.ArgumentParser(description="veille offline demo")
    ap.add_argument("--build", default=os.path.join(TOP, "build"),
                    help="build directory holding the binaries (default build/)")
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("VEILLE_DEMO_QUICK") == "1",
                    help="no pauses for reading (the test suite uses it)")
    ap.add_argument("--workdir", help="directory for configs, state, logs and captures "
                    "(default: a new temporary directory, kept for inspection)")
    args = ap.parse_args()
    if zmq is None:
        print("demo: python3-zmq and python3-msgpack are needed (make deps)", file=sys.stderr)
        return 2
    # Ctrl-C and SIGTERM (a `timeout`, a closed terminal) both end the demo
    # the same way: summary, then every process stopped.
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    return Demo(args).run()


if __name__ == "__main__":
    sys.exit(main())
