#!/usr/bin/python3
"""soak_driver: the crash loop (`make soak`, and its short version in
`make test` as integration test 61-crash-loop-short).

It runs one broker (fixed loopback ports, so a restarted broker comes back
where its clients reconnect), several publisher processes
(tests/helpers/soak_pub.py, N events in all), one watcher polling a feed
that grows during the run, and two subscribers (veille-sub, JSON-lines log
sinks): `all` takes every topic, `press` only `press.`. While the
publishers run, it kill -9s the broker, the watcher or the `all`
subscriber at random moments and restarts each at once. Then it stops
killing, waits for the sinks to converge and compares what every sink
received with what was published (by event id for the publishers, by title
for the watcher's items; ids for those are the watcher's own):

    sink=all expected=... got=... lost=0 duplicated=0
    ...
    lost=0 duplicated=0

or fails (exit 1) naming the missing and duplicated ids. The broker's
journal is checked too (every acked event stored once).

usage: soak_driver.py short|long   (env VEILLE_BIN = build dir; SOAK_EVENTS=n
overrides the number of events, SOAK_SEED the kill schedule, SOAK_KEEP=1
keeps the work dir, SOAK_SUB_EXTRA adds `sub` settings)
"""
import collections
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

BIN = os.environ.get("VEILLE_BIN", "build")
HERE = os.path.dirname(os.path.abspath(__file__))
BROKER = os.path.join(BIN, "broker", "veille-broker")
WATCH = os.path.join(BIN, "watchers", "veille-watch")
SUB = os.path.join(BIN, "subscribers", "veille-sub")
TOPICS = ["un.ctitf", "gov.fr.interieur", "press.rfi", "press.lemonde"]

# sub_extra: extra `sub` settings (SOAK_SUB_EXTRA overrides). Both runs
# keep veille-sub's defaults: its id window keeps every id above a sink's
# persisted cursor, so a subscriber killed while its cursor lags far behind
# what it delivered does not redeliver (this loop found that bug).
MODES = {
    # events, publishers, watcher items, kill gap (s), convergence timeout (s)
    "short": dict(events=20000, pubs=3, items=300, gap=(1.0, 3.0), converge=120,
                  sub_extra=""),
    "long": dict(events=1000000, pubs=4, items=1500, gap=(2.0, 8.0), converge=900,
                 sub_extra=""),
}


def log(msg):
    print("soak: " + msg, flush=True)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def event_id(salt, i):
    return hashlib.md5(("%s:%d" % (salt, i)).encode()).hexdigest()


class Proc:
    """A restartable child process whose stderr is appended to LOGPATH."""

    def __init__(self, name, argv, logpath, ready_re):
        self.name, self.argv, self.logpath = name, argv, logpath
        self.ready_re = re.compile(ready_re)
        self.p = None
        self.starts = 0
        self.kills = 0

    def _ready_count(self):
        try:
            with open(self.logpath, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return 0
        return sum(1 for line in text.splitlines() if self.ready_re.search(line))

    def start(self, timeout=60):
        before = self._ready_count()
        with open(self.logpath, "ab") as f:
            f.write(("---- soak: start #%d\n" % (self.starts + 1)).encode())
            self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=f)
        self.starts += 1
        deadline = time.time() + timeout
        while self._ready_count() <= before:
            if self.p.poll() is not None:
                raise SystemExit("soak: %s exited (%s) before ready; see %s"
                                 % (self.name, self.p.returncode, self.logpath))
            if time.time() > deadline:
                raise SystemExit("soak: %s not ready in %ds; see %s"
                                 % (self.name, timeout, self.logpath))
            time.sleep(0.02)

    def kill9(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
            self.kills += 1

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                return -9
        return self.p.returncode if self.p else None


def rss(items):
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
           '<title>soak</title><link>https://soak.example/</link>']
    for k in items:
        out.append('<item><title>watch item %d</title><link>https://soak.example/%d</link>'
                   '<guid>soak-%d</guid><description>item %d</description></item>' % (k, k, k, k))
    out.append('</channel></rss>\n')
    return "\n".join(out)


def write_feed(path, n):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(rss(range(n)))
    os.rename(tmp, path)


def read_sink(path):
    """Returns the list of event dicts in a JSON-lines sink file. A last line
    without its newline (torn by kill -9) is reported, not parsed."""
    if not os.path.exists(path):
        return [], 0
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    torn = 1 if lines and lines[-1] else 0
    out = []
    for line in lines[:-1]:
        if line.strip():
            out.append(json.loads(line))
    return out, torn


def outbox_count(db):
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        n = c.execute("select count(*) from outbox").fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return -1


def journal_ids(replay_ep):
    """Every (seq, id, topic) in the broker's journal, through replay."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(replay_ep)
    after, out = 0, []
    while True:
        s.send(msgpack.packb({"op": "replay", "after": after, "limit": 10000}))
        while True:
            if not s.poll(30000):
                raise SystemExit("soak: replay does not answer")
            f = s.recv_multipart()
            if f[0] == b"E":
                ev = msgpack.unpackb(f[3])
                out.append((int.from_bytes(f[2], "big"), ev["id"], f[1].decode()))
                continue
            if f[0] == b"ERR":
                raise SystemExit("soak: replay error %r" % msgpack.unpackb(f[1]))
            end = msgpack.unpackb(f[1])
            break
        after = end["next"]
        if not end["more"]:
            s.close(0)
            return out


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "short"
    if mode not in MODES:
        raise SystemExit("usage: soak_driver.py short|long")
    m = dict(MODES[mode])
    if os.environ.get("SOAK_EVENTS"):
        m["events"] = int(os.environ["SOAK_EVENTS"])
    seed = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    d = tempfile.mkdtemp(prefix="vl-soak-")
    keep = os.environ.get("SOAK_KEEP") == "1"
    log("mode=%s events=%d publishers=%d watcher_items=%d seed=%d dir=%s sub_extra=%r"
        % (mode, m["events"], m["pubs"], m["items"], seed, d,
           os.environ.get("SOAK_SUB_EXTRA", m["sub_extra"]).strip()))
    procs, pubs = [], []
    ok = False
    try:
        ok = run(m, rng, d, procs, pubs)
    finally:
        for p in pubs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for p in procs:
            if p.p and p.p.poll() is None:
                p.p.kill()
                p.p.wait()
        if ok and not keep:
            shutil.rmtree(d, True)
        elif not ok:
            log("logs kept in %s" % d)
    return 0 if ok else 1


def run(m, rng, d, procs, pubs):
    t0 = time.time()
    pp, sp, rp = free_ports(3)
    ep = {"publish": "tcp://127.0.0.1:%d" % pp, "subscribe": "tcp://127.0.0.1:%d" % sp,
          "replay": "tcp://127.0.0.1:%d" % rp}
    bconf = os.path.join(d, "broker.conf")
    with open(bconf, "w") as f:
        f.write('broker = {\n  publish = "%s";\n  subscribe = "%s";\n  replay = "%s";\n'
                '  journal_dir = "%s";\n  heartbeat_ms = 200;\n  stats_interval_s = 0;\n'
                '  allow_plaintext_tcp = true;\n};\n'
                % (ep["publish"], ep["subscribe"], ep["replay"], os.path.join(d, "journal")))
    broker = Proc("broker", [BROKER, "-c", bconf], os.path.join(d, "broker.log"),
                  r"veille-broker: ready")
    procs.append(broker)
    broker.start()

    feed = os.path.join(d, "feed.xml")
    fed = max(1, m["items"] // 10)
    write_feed(feed, fed)
    wdb = os.path.join(d, "watch.db")
    wconf = os.path.join(d, "watch.conf")
    with open(wconf, "w") as f:
        f.write('watch = {\n  broker = "%s";\n  state = "%s";\n  sources = (\n'
                '    { id = "soak"; topic = "press.soak"; url = "file://%s"; interval = 1; }\n'
                '  );\n};\n' % (ep["publish"], wdb, feed))
    watcher = Proc("watcher", [WATCH, "-c", wconf, "--publish-existing"],
                   os.path.join(d, "watch.log"), r"veille-watch: ready")
    procs.append(watcher)

    sinks = {}
    subs = {}
    for name, topics in (("all", None), ("press", ["press."])):
        path = os.path.join(d, "sink-%s.jsonl" % name)
        conf = os.path.join(d, "sub-%s.conf" % name)
        filt = ' topics = [%s];' % ", ".join('"%s"' % t for t in topics) if topics else ""
        with open(conf, "w") as f:
            f.write('sub = {\n  subscribe = "%s";\n  replay = "%s";\n  state = "%s";\n'
                    '%s\n  sinks = (\n'
                    '    { name = "%s"; type = "log"; format = "json"; file = "%s";%s }\n'
                    '  );\n};\n' % (ep["subscribe"], ep["replay"],
                                    os.path.join(d, "sub-%s.db" % name),
                                    os.environ.get("SOAK_SUB_EXTRA", m["sub_extra"]), name,
                                    path, filt))
        sinks[name] = (path, topics)
        subs[name] = Proc("sub-" + name, [SUB, "-c", conf], os.path.join(d, "sub-%s.log" % name),
                          r"veille-sub: ready")
        procs.append(subs[name])
        subs[name].start()
    watcher.start()

    # publishers
    per = m["events"] // m["pubs"]
    plan = []
    for k in range(m["pubs"]):
        count = per if k < m["pubs"] - 1 else m["events"] - per * (m["pubs"] - 1)
        salt = "soak%d" % k
        plan.append((salt, count))
        logf = open(os.path.join(d, "pub-%d.log" % k), "wb")
        pubs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "soak_pub.py"),
                                      ep["publish"], "0", str(count), salt, ",".join(TOPICS)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=logf))
    victims = [broker, watcher, subs["all"]]
    order = []            # shuffled rounds: every victim is hit in each round
    next_kill = time.time() + rng.uniform(*m["gap"])
    next_feed = time.time() + 0.5
    while any(p.poll() is None for p in pubs) or fed < m["items"]:
        now = time.time()
        if fed < m["items"] and now >= next_feed:
            fed = min(m["items"], fed + max(1, m["items"] // 10))
            write_feed(feed, fed)
            next_feed = now + 0.5
        if now >= next_kill:
            if not order:
                order = victims[:]
                rng.shuffle(order)
            v = order.pop()
            v.kill9()
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0, 0.5))   # sometimes stay down a moment
            v.start()
            next_kill = time.time() + rng.uniform(*m["gap"])
        for p in pubs:
            if p.poll() not in (None, 0):
                log("FAIL: a publisher exited %s (see %s/pub-*.log)" % (p.returncode, d))
                return False
        time.sleep(0.05)
    t_pub = time.time() - t0
    log("published in %.1fs; kills: broker=%d watcher=%d sub-all=%d"
        % (t_pub, broker.kills, watcher.kills, subs["all"].kills))

    # expected, per sink
    pub_ids = {}
    for salt, count in plan:
        for i in range(count):
            pub_ids[event_id(salt, i)] = TOPICS[i % len(TOPICS)]
    items = {"watch item %d" % k for k in range(m["items"])}

    def expected(topics):
        return {i for i, t in pub_ids.items() if not topics or any(t.startswith(p) for p in topics)}

    want = {name: expected(topics) for name, (_, topics) in sinks.items()}

    # wait for the watcher's outbox to drain and every sink to converge
    deadline = time.time() + m["converge"]
    while True:
        done = outbox_count(wdb) == 0
        for name, (path, _) in sinks.items():
            evs, _ = read_sink(path)
            got_ids = {e["id"] for e in evs}
            got_items = {e.get("title") for e in evs if e.get("topic") == "press.soak"}
            if not (want[name] <= got_ids and items <= got_items):
                done = False
        if done or time.time() > deadline:
            break
        time.sleep(0.25)
    t_conv = time.time() - t0 - t_pub

    total_lost = total_dup = 0
    for name, (path, _) in sinks.items():
        evs, torn = read_sink(path)
        ids = collections.Counter(e["id"] for e in evs)
        titles = collections.Counter(e.get("title") for e in evs if e.get("topic") == "press.soak")
        lost = sorted(want[name] - set(ids)) + sorted(items - set(titles))
        dup = sorted(i for i, c in ids.items() if c > 1)
        unexpected = sorted(i for i in ids if i not in pub_ids and
                            not any(e["id"] == i and e.get("topic") == "press.soak" for e in evs))
        total_lost += len(lost)
        total_dup += len(dup)
        print("sink=%s expected=%d got=%d lost=%d duplicated=%d unexpected=%d torn_lines=%d"
              % (name, len(want[name]) + len(items), len(evs), len(lost), len(dup),
                 len(unexpected), torn), flush=True)
        if lost:
            print("  missing: %s%s" % (" ".join(lost[:20]), " ..." if len(lost) > 20 else ""))
        if dup:
            print("  duplicated: %s%s" % (" ".join(dup[:20]), " ..." if len(dup) > 20 else ""))
        if unexpected:
            print("  unexpected: %s" % " ".join(unexpected[:20]))
            total_lost += len(unexpected)   # counts as a failure
    # the journal: every acked event exactly once
    jr = journal_ids(ep["replay"])
    jc = collections.Counter(i for _, i, _ in jr)
    jdup = sorted(i for i, c in jc.items() if c > 1)
    jlost = sorted(set(pub_ids) - set(jc))
    print("journal records=%d lost=%d duplicated=%d" % (len(jr), len(jlost), len(jdup)), flush=True)
    total_lost += len(jlost)
    total_dup += len(jdup)
    # clean stop of everything still running
    for p in [watcher] + list(subs.values()) + [broker]:
        rc = p.stop()
        if rc not in (0, None):
            log("FAIL: %s exited %s on SIGTERM" % (p.name, rc))
            total_lost += 0 if rc == 0 else 1
    log("published %d events + %d watcher items in %.1fs, converged in %.1fs"
        % (len(pub_ids), len(items), t_pub, t_conv))
    print("lost=%d duplicated=%d" % (total_lost, total_dup), flush=True)
    return total_lost == 0 and total_dup == 0


if __name__ == "__main__":
    sys.exit(main())
