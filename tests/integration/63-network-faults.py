#!/usr/bin/python3
"""63-network-faults: network_faults_on_loopback_lose_and_duplicate_nothing.

One broker on fixed loopback ports; a watcher (growing file feed), a
publisher process (resends what is not acked) and a veille-sub with three
sinks (JSON-lines log, mail to an SMTP server, JSON webhook) keep running
while:
  1. the broker is stopped, stays down ~2 s, and comes back on the same
     ports (then once more with kill -9);
  2. the SMTP server and the webhook receiver go away (connection refused)
     while events arrive, and come back on the same ports.
Every sink ends with every event exactly once (by event id; watcher items
by title), and every process exits 0 on SIGTERM."""
import collections
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from soak_driver import Proc, free_ports, journal_ids, read_sink, write_feed
from sub_smtp import SmtpCapture

BIN = os.environ.get("VEILLE_BIN", "build")
HERE = os.path.dirname(os.path.abspath(__file__))
HELPERS = os.path.join(os.environ.get("VEILLE_SRC", os.path.join(HERE, "..", "..")),
                       "tests", "helpers")
PROCS = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with self.server.box_lock:
            self.server.box.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class WebhookReceiver:
    """A JSON receiver on a fixed port that can be stopped and restarted."""

    def __init__(self, port):
        self.port, self.box, self.lock, self.srv = port, [], threading.Lock(), None

    def start(self):
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Hook)
        self.srv.box, self.srv.box_lock = self.box, self.lock
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def ids(self):
        with self.lock:
            return [json.loads(b)["id"] for b in self.box]


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise AssertionError("timeout waiting for " + what)
        time.sleep(0.05)


def publisher(ep, start, count, salt):
    p = subprocess.Popen([sys.executable, os.path.join(HELPERS, "soak_pub.py"), ep, str(start),
                          str(count), salt, "un.net,press.net"], stdin=subprocess.DEVNULL)
    PROCS.append(p)
    return p


def main():
    import hashlib
    import tempfile
    d = tempfile.mkdtemp(prefix="vl-netfaults-")
    pp, sp, rp, smtp_port, hook_port = free_ports(5)
    ep = {"publish": "tcp://127.0.0.1:%d" % pp, "subscribe": "tcp://127.0.0.1:%d" % sp,
          "replay": "tcp://127.0.0.1:%d" % rp}
    bconf = os.path.join(d, "broker.conf")
    with open(bconf, "w") as f:
        f.write('broker = {\n  publish = "%s";\n  subscribe = "%s";\n  replay = "%s";\n'
                '  journal_dir = "%s/journal";\n  heartbeat_ms = 200;\n'
                '  allow_plaintext_tcp = true;\n};\n'
                % (ep["publish"], ep["subscribe"], ep["replay"], d))
    broker = Proc("broker", [os.path.join(BIN, "broker", "veille-broker"), "-c", bconf],
                  os.path.join(d, "broker.log"), r"veille-broker: ready")
    feed = os.path.join(d, "feed.xml")
    write_feed(feed, 5)
    wconf = os.path.join(d, "watch.conf")
    with open(wconf, "w") as f:
        f.write('watch = {\n  broker = "%s";\n  state = "%s/watch.db";\n  sources = (\n'
                '    { id = "net"; topic = "press.net"; url = "file://%s"; interval = 1; }\n'
                '  );\n};\n' % (ep["publish"], d, feed))
    watcher = Proc("watcher", [os.path.join(BIN, "watchers", "veille-watch"), "-c", wconf,
                               "--publish-existing"], os.path.join(d, "watch.log"),
                   r"veille-watch: ready")
    sink_log = os.path.join(d, "sink.jsonl")
    retry = 'max_attempts = 1000; backoff_initial_ms = 100; backoff_max_ms = 500;'
    sconf = os.path.join(d, "sub.conf")
    with open(sconf, "w") as f:
        f.write('sub = {\n  subscribe = "%s";\n  replay = "%s";\n  state = "%s/sub.db";\n'
                '  sinks = (\n'
                '    { name = "log"; type = "log"; format = "json"; file = "%s"; },\n'
                '    { name = "mail"; type = "mail"; url = "smtp://127.0.0.1:%d";'
                ' from = "veille@example.org"; to = "desk@example.org"; %s },\n'
                '    { name = "hook"; type = "webhook"; style = "json";'
                ' url = "http://127.0.0.1:%d/hook"; %s }\n'
                '  );\n};\n' % (ep["subscribe"], ep["replay"], d, sink_log, smtp_port, retry,
                                hook_port, retry))
    sub = Proc("sub", [os.path.join(BIN, "subscribers", "veille-sub"), "-c", sconf],
               os.path.join(d, "sub.log"), r"veille-sub: ready")
    smtp = SmtpCapture(smtp_port).start()
    hook = WebhookReceiver(hook_port)
    hook.start()
    procs = [broker, watcher, sub]
    try:
        broker.start()
        sub.start()
        watcher.start()
        salts = []

        def expected_ids():
            out = set()
            for salt, start, count in salts:
                out |= {hashlib.md5(("%s:%d" % (salt, i)).encode()).hexdigest()
                        for i in range(start, start + count)}
            return out

        def sink_state():
            evs, _ = read_sink(sink_log)
            log_ids = [e["id"] for e in evs]
            titles = [e["title"] for e in evs if e["topic"] == "press.net"]
            mail_ids = [m[3]["X-Veille-Event-Id"] for m in smtp.messages]
            return log_ids, titles, mail_ids, hook.ids()

        def converged(n_items):
            want = expected_ids()
            log_ids, titles, mail_ids, hook_ids = sink_state()
            items = {"watch item %d" % k for k in range(n_items)}
            watcher_ids = {e["id"] for e in read_sink(sink_log)[0] if e["topic"] == "press.net"}
            everything = want | watcher_ids
            return (want <= set(log_ids) and items <= set(titles)
                    and everything <= set(mail_ids) and everything <= set(hook_ids))

        # 0: steady state
        salts.append(("net0", 0, 30))
        assert publisher(ep["publish"], 0, 30, "net0").wait(60) == 0
        wait_for(lambda: converged(5), 60, "phase 0 deliveries")

        # 1: broker down for ~2 s while the publisher and the watcher go on
        salts.append(("net1", 0, 60))
        p = publisher(ep["publish"], 0, 60, "net1")
        broker.stop()
        write_feed(feed, 10)
        time.sleep(2)        # the outage itself (not a synchronisation)
        broker.start()
        broker.kill9()       # and once more, abruptly
        broker.start()
        assert p.wait(120) == 0, "publisher failed across broker restarts"
        wait_for(lambda: converged(10), 120, "phase 1 deliveries")
        print("broker restarted on the same ports: every sink caught up")

        # 2: SMTP server and webhook receiver go away and come back
        smtp.stop()
        hook.stop()
        salts.append(("net2", 0, 20))
        assert publisher(ep["publish"], 0, 20, "net2").wait(60) == 0
        write_feed(feed, 15)
        wait_for(lambda: ": down (" in open(sub.logpath).read(), 60, "a sink down (warning)")
        time.sleep(1)        # let a few retries fail against the dead ports
        smtp.start()
        hook.start()
        wait_for(lambda: converged(15), 120, "phase 2 deliveries")
        print("SMTP and webhook receivers came back: every sink caught up")

        log_ids, titles, mail_ids, hook_ids = sink_state()
        bad = {}
        for name, ids in (("log", log_ids), ("mail", mail_ids), ("hook", hook_ids)):
            dup = [i for i, c in collections.Counter(ids).items() if c > 1]
            if dup:
                bad[name] = dup[:10]
        assert not bad, "duplicates: %r" % bad
        jr = journal_ids(ep["replay"])
        assert len(jr) == len({i for _, i, _ in jr}), "journal duplicates"
        for pr in (watcher, sub, broker):
            rc = pr.stop()
            assert rc == 0, "%s exited %s" % (pr.name, rc)
        print("network faults: %d events, log=%d mail=%d webhook=%d, lost=0 duplicated=0"
              % (len(jr), len(log_ids), len(mail_ids), len(hook_ids)))
        shutil.rmtree(d, True)
        return 0
    except BaseException:
        print("logs kept in %s" % d)
        raise
    finally:
        for pr in procs:
            if pr.p and pr.p.poll() is None:
                pr.p.kill()
                pr.p.wait()
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        smtp.stop()


if __name__ == "__main__":
    sys.exit(main())
