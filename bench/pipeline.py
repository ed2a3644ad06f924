#!/usr/bin/python3
"""pipeline.py: the whole pipeline as deployed, and one box at scale.

bench.py runs this as its `pipeline` section (run(b, B), B = the bench
module): veille-broker, veille-watch and veille-sub (log, webhook and mail
sinks) run together as daemons, with their default settings, while nginx
serves the feeds and a local webhook receiver and a local SMTP server take
the alerts. Phases, in one run (README.md says how each figure is made):

  quiet    10 hot feeds polled every second, one of them edited every second
  N=...    the hot feeds plus N bulk feeds polled every PERIOD s (60 s in the
           full run): a first pass records them (baseline), then PASSES
           periods with 1 % of them edited at the start of each; 20 % are
           served 200 with the unchanged body (no conditional GET), the rest
           answer 304 when unchanged
  urlwatch the peer: urlwatch over the same bulk feeds, one run per period

  pipeline.py recv --http PORT --smtp PORT --out FILE
      the local receivers, one process: an HTTP/1.1 keep-alive webhook
      receiver and an SMTP server (aiosmtpd) in one asyncio loop; one line per
      accepted alert in FILE, "H <arrival ms> <id> <detected ms> <topic>" or
      "M <arrival ms> <id>", the arrival taken once the request or the
      message is complete, before the answer (200, 250) is sent.
  pipeline.py gen --dir D --first A --count N --port P
      writes the bulk feeds A .. A+N-1 (the full run starts two of these).
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_feeds  # noqa: E402

HOT = 10                  # hot feeds, polled every second
HOT_TOPIC, BULK_TOPIC = 'bench.hot', 'bench.bulk'
NC_EVERY = 5              # every 5th bulk feed is served 200 whatever the validators
EDIT_STEP = 100           # 1 % of the bulk feeds edited per period
LAT_GOAL_MS = 20.0
HOT_GRACE_MS = 1500       # hot edits stop at the end of a window: detected within this


# ---------------------------------------------------------------- receivers

def recv_main(argv):
    """The local receivers (see the module doc)."""
    import asyncio
    import socket
    from aiosmtpd.smtp import SMTP

    ap = argparse.ArgumentParser(prog='pipeline.py recv')
    ap.add_argument('--http', type=int, required=True)
    ap.add_argument('--smtp', type=int, required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    out = open(a.out, 'a', buffering=1)
    idrx = re.compile(rb'X-Veille-Event-Id: *([0-9a-f]+)', re.I)

    async def hook(reader, writer):
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b'\r\n\r\n')
                n = 0
                for line in head.split(b'\r\n')[1:]:
                    k, _, v = line.partition(b':')
                    if k.strip().lower() == b'content-length':
                        n = int(v)
                body = await reader.readexactly(n) if n else b''
                t = time.time() * 1000
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
                try:
                    ev = json.loads(body)
                except ValueError:
                    ev = {}
                out.write(f'H {t:.3f} {ev.get("id", "-")} {ev.get("detected", 0)} '
                          f'{ev.get("topic", "-")}\n')
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass
        finally:
            writer.close()

    class Mail:
        async def handle_DATA(self, server, session, envelope):
            t = time.time() * 1000
            m = idrx.search(envelope.original_content or envelope.content or b'')
            out.write(f'M {t:.3f} {m.group(1).decode() if m else "-"}\n')
            return '250 OK'

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.start_server(hook, '127.0.0.1', a.http)
        await loop.create_server(lambda: SMTP(Mail(), hostname='bench.invalid'),
                                 '127.0.0.1', a.smtp)
        print('pipeline-recv: ready', file=sys.stderr, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    return 0


def read_alerts(path):
    """(webhook rows, mail rows) of the receivers' file: webhook rows are
    (arrival ms, id, detected ms, topic), mail rows (arrival ms, id)."""
    hooks, mails = [], []
    try:
        with open(path) as fp:
            for line in fp:
                p = line.split()
                if len(p) == 5 and p[0] == 'H':
                    hooks.append((float(p[1]), p[2], int(p[3]), p[4]))
                elif len(p) == 3 and p[0] == 'M':
                    mails.append((float(p[1]), p[2]))
    except OSError:
        pass
    return hooks, mails


def read_log_sink(path):
    """(topic, detected ms, id) of every line the log sink wrote."""
    rows = []
    try:
        with open(path) as fp:
            for line in fp:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                rows.append((ev.get('topic'), ev.get('detected', 0), ev.get('id')))
    except OSError:
        pass
    return rows


# ---------------------------------------------------------------- feeds

def gen_main(argv):
    ap = argparse.ArgumentParser(prog='pipeline.py gen')
    ap.add_argument('--dir', required=True)
    ap.add_argument('--first', type=int, required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--seeds', required=True)
    a = ap.parse_args(argv)
    os.makedirs(os.path.join(a.dir, 'feeds'), exist_ok=True)
    text = gen_feeds.Text(gen_feeds.seed_words(a.seeds))
    for idx in range(a.first, a.first + a.count):
        gen_feeds.write_feed(a.dir, text, a.port, idx, 0)
    return 0


class Feeds:
    """The hot and bulk feeds under ROOT (root/hot, root/bulk), their
    revisions, and the edits made to them. An edit adds one item on top
    (the oldest falls off the end, which is not news): one alert each."""

    def __init__(self, root, port, seeds):
        self.root, self.port, self.seeds = root, port, seeds
        self.text = gen_feeds.Text(gen_feeds.seed_words(seeds))
        self.hot_dir = os.path.join(root, 'hot')
        self.bulk_dir = os.path.join(root, 'bulk')
        self.rev = {'hot': [], 'bulk': []}
        self.round = 0          # bulk edit rounds so far
        self.hot_next = 0
        self.lock = threading.Lock()

    def generate(self, n_bulk, jobs):
        os.makedirs(os.path.join(self.hot_dir, 'feeds'), exist_ok=True)
        for i in range(HOT):
            gen_feeds.write_feed(self.hot_dir, self.text, self.port, i, 0)
        self.rev['hot'] = [0] * HOT
        chunk = (n_bulk + jobs - 1) // jobs
        ps = [subprocess.Popen([sys.executable, os.path.abspath(__file__), 'gen',
                                '--dir', self.bulk_dir, '--first', str(k * chunk),
                                '--count', str(min(chunk, n_bulk - k * chunk)),
                                '--port', str(self.port), '--seeds', self.seeds])
              for k in range(jobs) if k * chunk < n_bulk]
        if any(p.wait() != 0 for p in ps):
            raise RuntimeError('pipeline: feed generation failed')
        self.rev['bulk'] = [0] * n_bulk

    def _edit(self, kind, idx):
        d = self.hot_dir if kind == 'hot' else self.bulk_dir
        self.rev[kind][idx] += 1
        old = os.stat(gen_feeds.feed_path(d, idx)).st_mtime
        gen_feeds.write_feed(d, self.text, self.port, idx, self.rev[kind][idx],
                             mtime=max(old + 1, time.time()))

    def edit_hot(self):
        """Edits the next hot feed; returns its index."""
        with self.lock:
            i = self.hot_next % HOT
            self.hot_next += 1
            self._edit('hot', i)
            return i

    def edit_bulk(self, n):
        """Edits 1 % of the first N bulk feeds (a different 1 % each round)."""
        with self.lock:
            self.round += 1
            k = 0
            for idx in range(self.round % EDIT_STEP, n, EDIT_STEP):
                self._edit('bulk', idx)
                k += 1
            return k

    def url(self, kind, idx):
        if kind == 'hot':
            return f'http://127.0.0.1:{self.port}/hot/feeds/{idx:05d}.xml'
        pre = '/nc' if idx % NC_EVERY == 1 else ''
        return f'http://127.0.0.1:{self.port}{pre}/bulk/feeds/{idx:05d}.xml'


class HotEditor(threading.Thread):
    """Edits one hot feed per second while `on` is set; counts the edits."""

    def __init__(self, feeds):
        super().__init__(daemon=True)
        self.feeds = feeds
        self.on = threading.Event()
        self.quit = threading.Event()
        self.edits = []          # epoch s of each edit

    def run(self):
        nxt = time.monotonic()
        while not self.quit.is_set():
            if self.on.is_set():
                self.feeds.edit_hot()
                self.edits.append(time.time())
            nxt += 1.0
            self.quit.wait(max(0.0, nxt - time.monotonic()))


# ---------------------------------------------------------------- sampling

def children(pid):
    """Direct children of PID."""
    out = []
    try:
        for t in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{t}/children') as fp:
                out += [int(c) for c in fp.read().split()]
    except OSError:
        pass
    return out


def rss_kb(pid):
    try:
        with open(f'/proc/{pid}/status') as fp:
            for line in fp:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def scrape_polls(url):
    """veille_watch_polls_total by result, or None."""
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for m in re.finditer(r'^veille_watch_polls_total\{result="(\w+)"\} (\S+)$', text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


TREES = ('nginx', 'urlwatch')   # sampled with their children (urlwatch: under /usr/bin/time)


class Sampler(threading.Thread):
    """Every STEP s: CPU time (all threads) and RSS of each tracked process,
    and the watcher's poll counters."""

    def __init__(self, B, step=1.0):
        super().__init__(daemon=True)
        self.B, self.step = B, step
        self.procs = {}          # name -> pid, changed by the phases
        self.metrics = None      # watcher metrics URL
        self.rows = []           # (epoch s, {name: (cpu ns, rss KiB)}, polls or None)
        self.box = []            # (epoch s, busy jiffies, all jiffies) of the whole machine
        self.quit = threading.Event()

    def run(self):
        nxt = time.monotonic()
        while not self.quit.is_set():
            t = time.time()
            snap = {}
            for name, pid in list(self.procs.items()):
                if name in TREES:    # the process and its children
                    kids = children(pid)
                    snap[name] = (self.B.tree_cpu_ns(pid),
                                  sum(rss_kb(p) or 0 for p in [pid] + kids) or None)
                else:
                    snap[name] = (self.B.cpu_ns(pid), rss_kb(pid))
            polls = scrape_polls(self.metrics) if self.metrics else None
            self.rows.append((t, snap, polls))
            try:
                with open('/proc/stat') as fp:
                    j = [int(x) for x in fp.readline().split()[1:]]
                self.box.append((t, sum(j) - j[3] - j[4], sum(j)))   # idle, iowait
            except (OSError, ValueError, IndexError):
                pass
            nxt += self.step
            self.quit.wait(max(0.0, nxt - time.monotonic()))

    def window(self, t0, t1):
        """{name: {'cpu': cores used on average, 'rss0', 'rss1', 'rssmax' KiB}}
        over [t0, t1], and the polls per second over it."""
        rows = [r for r in self.rows if t0 <= r[0] <= t1]
        out = {}
        if len(rows) < 2:
            return out, None
        for name in rows[-1][1]:
            pts = [(r[0], r[1][name]) for r in rows if name in r[1] and r[1][name][0]]
            if len(pts) < 2:
                continue
            (ta, (ca, _)), (tb, (cb, _)) = pts[0], pts[-1]
            rss = [p[1][1] for p in pts if p[1][1]]
            out[name] = {'cpu': (cb - ca) / 1e9 / (tb - ta) if tb > ta else 0.0,
                         'rss0': rss[0] if rss else None, 'rss1': rss[-1] if rss else None,
                         'rssmax': max(rss) if rss else None}
        pr = [(r[0], sum(r[2].values())) for r in rows if r[2]]
        pps = (pr[-1][1] - pr[0][1]) / (pr[-1][0] - pr[0][0]) \
            if len(pr) >= 2 and pr[-1][0] > pr[0][0] else None
        return out, pps

    def box_busy_at(self, t):
        """% of the machine's CPU busy (every process) in the second holding T."""
        for a, b in zip(self.box, self.box[1:]):
            if a[0] <= t <= b[0] and b[2] > a[2]:
                return 100.0 * (b[1] - a[1]) / (b[2] - a[2])
        return None

    def poll_rate_at(self, t):
        """Polls per second in the sample interval holding epoch T, or None."""
        prev = None
        for r in self.rows:
            if r[2] is None:
                prev = None
                continue
            if prev and prev[0] <= t <= r[0] and r[0] > prev[0]:
                return (sum(r[2].values()) - sum(prev[2].values())) / (r[0] - prev[0])
            prev = r
        return None


# ---------------------------------------------------------------- the pipeline

def pct(v, q):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


class Pipeline:
    """Broker, veille-sub, receivers and nginx for the whole section;
    veille-watch is started per phase, with a fresh state."""

    def __init__(self, b, B, feeds_root):
        self.b, self.B = b, B
        self.dir = os.path.join(b.tmp, 'pipeline')
        os.makedirs(self.dir, exist_ok=True)
        self.feeds_root = feeds_root
        self.sampler = Sampler(B)
        self.nginx = self.broker = self.recv = self.sub = self.watch = None
        self.nwatch = 0

    def start(self, feeds):
        B, d = self.B, self.dir
        self.nginx = B.Nginx(self.b, self.feeds_root)
        feeds.port = self.nginx.port
        # the broker as installed: default settings (fsync batch), unix sockets
        conf = os.path.join(d, 'broker.conf')
        self.ep = {k: f'ipc://{d}/{k}.sock' for k in ('publish', 'subscribe', 'replay')}
        with open(conf, 'w') as fp:
            fp.write('broker = {\n' + ''.join(f'  {k} = "{v}";\n' for k, v in self.ep.items())
                     + f'  journal_dir = "{d}/journal";\n}};\n')
        self.broker = B.Proc([self.b.bin['broker'], '-c', conf, '--log-level', 'warn'],
                             ready=r'veille-broker: ready', name='veille-broker')
        self.recv_out = os.path.join(d, 'received.txt')
        hport, sport = B.free_port(), B.free_port()
        self.recv = B.Proc([sys.executable, os.path.abspath(__file__), 'recv', '--http',
                            str(hport), '--smtp', str(sport), '--out', self.recv_out],
                           ready=r'pipeline-recv: ready', name='receivers')
        self.log_out = os.path.join(d, 'alerts.jsonl')
        conf = os.path.join(d, 'sub.conf')
        with open(conf, 'w') as fp:
            fp.write('sub = {\n'
                     f'  subscribe = "{self.ep["subscribe"]}";\n'
                     f'  replay = "{self.ep["replay"]}";\n'
                     f'  state = "{d}/sub.db";\n'
                     '  sinks = (\n'
                     f'    {{ name = "log"; type = "log"; file = "{self.log_out}"; '
                     'format = "json"; },\n'
                     f'    {{ name = "hook"; type = "webhook"; style = "json"; '
                     f'url = "http://127.0.0.1:{hport}/hook"; }},\n'
                     f'    {{ name = "mail"; type = "mail"; url = "smtp://127.0.0.1:{sport}"; '
                     'from = "veille@bench.invalid"; to = ["desk@bench.invalid"]; '
                     f'topics = ["{HOT_TOPIC}"]; }}\n'
                     '  );\n};\n')
        self.sub = B.Proc([self.b.bin['sub'], '-c', conf, '--log-level', 'info'],
                          ready=r'veille-sub: ready', name='veille-sub', timeout=30)
        self.sampler.procs.update({'veille-broker': self.broker.pid,
                                   'veille-sub': self.sub.pid, 'nginx': self.nginx.proc.pid,
                                   'receivers': self.recv.pid})
        self.sampler.start()

    def start_watch(self, feeds, n_bulk, period):
        """veille-watch over the hot feeds and the first N_BULK bulk feeds,
        with a new state file (its first pass is a baseline)."""
        B = self.B
        self.nwatch += 1
        wd = os.path.join(self.dir, f'watch{self.nwatch}')
        os.makedirs(wd, exist_ok=True)
        mport = B.free_port()
        srcs = [f'    {{ id = "h{i:02d}"; topic = "{HOT_TOPIC}"; type = "feed"; interval = 1; '
                f'url = "{feeds.url("hot", i)}"; }}' for i in range(HOT)]
        srcs += [f'    {{ id = "b{i:06d}"; topic = "{BULK_TOPIC}"; type = "feed"; '
                 f'interval = {period}; url = "{feeds.url("bulk", i)}"; }}'
                 for i in range(n_bulk)]
        conf = os.path.join(wd, 'watch.conf')
        with open(conf, 'w') as fp:
            # all the feeds are on one host: per_host_concurrency = max_concurrency
            fp.write('watch = {\n'
                     f'  broker = "{self.ep["publish"]}";\n'
                     f'  state = "{wd}/state.db";\n'
                     f'  metrics_listen = "127.0.0.1:{mport}";\n'
                     '  per_host_concurrency = 32;\n'
                     '  sources = (\n' + ',\n'.join(srcs) + '\n  );\n};\n')
        self.watch = B.Proc([self.b.bin['watch'], '-c', conf, '--log-level', 'warn'],
                            ready=r'veille-watch: ready', name='veille-watch',
                            timeout=120)
        self.watch.state = os.path.join(wd, 'state.db')
        self.sampler.procs['veille-watch'] = self.watch.pid
        self.sampler.metrics = f'http://127.0.0.1:{mport}/metrics'

    def stop_watch(self):
        if self.watch:
            self.sampler.procs.pop('veille-watch', None)
            self.sampler.metrics = None
            self.watch.stop()
            self.watch = None

    def baselined(self):
        """Sources the watcher has recorded (a row once polled)."""
        try:
            db = sqlite3.connect(f'file:{self.watch.state}?mode=ro', uri=True, timeout=5)
            try:
                return db.execute('SELECT count(*) FROM sources').fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return 0

    def stop(self):
        self.sampler.quit.set()
        if self.sampler.is_alive():
            self.sampler.join(5)
        self.stop_watch()
        for p in (self.sub, self.recv, self.broker):
            if p:
                p.stop()
        if self.nginx:
            self.nginx.stop()


def bulk_alerts(pl, t0, t1):
    """Bulk alerts delivered with detected in [t0, t1] (epoch s): (log sink,
    webhook, distinct webhook ids)."""
    lo, hi = t0 * 1000, t1 * 1000
    logs = [r for r in read_log_sink(pl.log_out) if r[0] == BULK_TOPIC and lo <= r[1] <= hi]
    hooks, _ = read_alerts(pl.recv_out)
    hk = [h for h in hooks if h[3] == BULK_TOPIC and lo <= h[2] <= hi]
    return len(logs), len(hk), len({h[1] for h in hk})


def run_phase(pl, feeds, hot, name, n_bulk, period, passes, profile=False):
    """One phase: veille-watch on the hot feeds (+ N_BULK bulk feeds every
    PERIOD s, baseline first, then PASSES periods with 1 % edited at the
    start of each). Returns the phase record."""
    B = pl.B
    B.log(f'pipeline: {name}: veille-watch over {HOT} hot + {n_bulk} bulk feeds')
    t_begin = time.time()
    pl.start_watch(feeds, n_bulk, period)
    t_ready = time.time()
    rec = {'phase': name, 'sources': n_bulk, 'period': period, 'passes': passes,
           't_begin': t_begin, 'start_s': t_ready - t_begin}
    try:
        cap = max(120.0, n_bulk * 0.003)   # 300 s at 100,000
        while pl.baselined() < n_bulk + HOT:
            if time.time() - t_ready > cap or pl.watch.p.poll() is not None:
                rec['stopped'] = f'baseline not done after {time.time() - t_ready:.0f} s'
                return rec
            time.sleep(0.5)
        rec['baseline_s'] = time.time() - t_ready
        # The measured periods start one period after the first pass started:
        # each then holds one pass (the polls its start misses, jittered early,
        # are made up by the next pass's early ones at its end). Starting
        # right after the baseline would count half a pass less.
        t_s = max(time.time(), t_ready + period)
        time.sleep(max(0.0, t_s - time.time()))
        hot.on.set()
        changes = 0
        for k in range(passes):
            if n_bulk:
                changes += feeds.edit_bulk(n_bulk)
            left = t_s + (k + 1) * period - time.time()
            if left > 0:
                time.sleep(left)
        t_e = time.time()
        hot.on.clear()    # the hot changes of the window are detected within ~1.1 s
        rec.update(t_s=t_s, t_e=t_e, changes=changes)
        perf = None
        if profile and shutil.which('perf'):
            data = os.path.join(pl.dir, f'perf-{name}.data')
            perf = subprocess.Popen(['perf', 'record', '-g', '-o', data, '-p',
                                     str(pl.watch.pid), '--', 'sleep', '10'],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the last edits are seen within one period + jitter (10 %)
        deadline = t_e + 0.15 * period + rec['baseline_s'] + 10
        time.sleep(1.5)   # the hot change of the last second reaches the broker
        while n_bulk:
            nl, nh, _ = bulk_alerts(pl, t_s, time.time())
            if (nl >= changes and nh >= changes) or time.time() > deadline:
                break
            time.sleep(0.5)
        rec['t_end'] = time.time()
        if perf:
            perf.wait(60)
            rec['profile'] = perf_top(data)
        rec['alerts_log'], rec['alerts_hook'], rec['alerts_hook_ids'] = \
            bulk_alerts(pl, t_s, rec['t_end'])
        rec['usage'], rec['polls_s'] = pl.sampler.window(t_s, t_e)
        # the RSS goal is checked on the whole phase, baseline included
        whole, _ = pl.sampler.window(t_begin, rec['t_end'])
        rec['rss_peak_kb'] = sum((whole.get(k, {}).get('rssmax') or 0) for k in PROCS_PIPE)
        rec['hot_edits'] = sum(1 for t in hot.edits if t_s <= t <= t_e)
        return rec
    finally:
        hot.on.clear()
        pl.stop_watch()


def guarded(B, fn, pl, feeds, hot, name, n_bulk, *args, **kw):
    """run_phase, or a phase marked stopped when a process fails: the
    other phases are still reported."""
    t = time.time()
    try:
        return fn(pl, feeds, hot, name, n_bulk, *args, **kw)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        B.log(f'pipeline: {name}: {e}')
        return {'phase': name, 'sources': n_bulk, 'period': args[0], 't_begin': t,
                'stopped': (str(e).splitlines() or [repr(e)])[0]}


def perf_top(data):
    rep = subprocess.run(['perf', 'report', '-i', data, '--stdio', '--no-children',
                          '--sort', 'dso,sym', '-g', 'none', '--percent-limit', '2'],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return [ln.rstrip() for ln in rep.stdout.splitlines()
            if ln.strip() and not ln.startswith('#')][:15]


def urlwatch_phase(pl, feeds, n, runs):
    """urlwatch over the first N bulk feeds: a first run (it records them),
    then RUNS runs, each after 1 % of the feeds were edited, as a 60 s cron
    would start them (the idle time between two runs is not waited)."""
    B = pl.B
    d = os.path.join(pl.dir, 'urlwatch')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'urls.yaml'), 'w') as fp:
        fp.write('\n---\n'.join(f'name: "b{i:06d}"\nurl: "{feeds.url("bulk", i)}"\n'
                                for i in range(n)))
    with open(os.path.join(d, 'urlwatch.yaml'), 'w') as fp:
        fp.write('report:\n  stdout:\n    enabled: true\n    color: false\n')
    env = dict(os.environ, HOME=d, XDG_CACHE_HOME=d, XDG_CONFIG_HOME=d)
    out = []
    for k in range(runs + 1):
        changes = feeds.edit_bulk(n) if k else 0
        B.log(f'pipeline: urlwatch {n} feeds, run {k + 1}/{runs + 1}')
        track = lambda pid: pl.sampler.procs.__setitem__('urlwatch', pid)
        rc, wall, cpu, rss, err = B.timed(
            ['urlwatch', '--urls', os.path.join(d, 'urls.yaml'),
             '--config', os.path.join(d, 'urlwatch.yaml'),
             '--cache', os.path.join(d, 'cache.db')], env=env, timeout=900, started=track)
        pl.sampler.procs.pop('urlwatch', None)
        if rc != 0:
            B.log(err[-1000:])
        out.append({'run': 'first' if k == 0 else f'after edit {k}', 'rc': rc, 'wall': wall,
                    'cpu': cpu, 'rss': rss, 'changes': changes})
    return out


def lat_rows(pl, phases):
    """Latency samples of the hot alerts (detected -> webhook / mail
    receiver), by phase; the mail ones take detected from the webhook copy
    of the same event."""
    hooks, mails = read_alerts(pl.recv_out)
    det = {h[1]: h[2] for h in hooks}
    out = []
    for ph in phases:
        if 't_s' not in ph:
            continue
        lo, hi = ph['t_s'] * 1000, ph['t_e'] * 1000 + HOT_GRACE_MS
        hk = [(h[0] - h[2], h[2]) for h in hooks if h[3] == HOT_TOPIC and lo <= h[2] <= hi]
        ml = [(m[0] - det[m[1]], det[m[1]]) for m in mails if m[1] in det and lo <= det[m[1]] <= hi]
        end = ph.get('t_end', ph['t_e']) * 1000
        bk = [h[0] - h[2] for h in hooks if h[3] == BULK_TOPIC and lo <= h[2] <= end]
        # "in a pass": the second of the detection saw bulk polls (beyond the hot ones)
        busy = [d for _, d in hk if (pl.sampler.poll_rate_at(d / 1000) or 0) > 2 * HOT]
        for sink, smp in (('webhook', hk), ('mail', ml)):
            v = [x for x, _ in smp]
            # the slow ones: how busy the whole machine was in their second
            slow = [(round(x, 1), pl.sampler.box_busy_at(d / 1000)) for x, d in smp
                    if x > LAT_GOAL_MS]
            out.append({'phase': ph['phase'], 'sources': ph['sources'], 'sink': sink,
                        'alerts': 'hot', 'n': len(v), 'p50': pct(v, .5), 'p99': pct(v, .99),
                        'max': max(v) if v else None, 'edits': ph.get('hot_edits'),
                        'in_pass': len(busy) if sink == 'webhook' else None, 'slow': slow})
        if bk:
            out.append({'phase': ph['phase'], 'sources': ph['sources'], 'sink': 'webhook',
                        'alerts': 'bulk', 'n': len(bk), 'p50': pct(bk, .5),
                        'p99': pct(bk, .99), 'max': max(bk), 'edits': ph.get('changes')})
    return out


# ---------------------------------------------------------------- report

PROCS_PIPE = ('veille-watch', 'veille-broker', 'veille-sub')


def expected_polls(ph):
    """Polls per second the configuration asks for (hot + bulk)."""
    return HOT + ph['sources'] / ph['period'] if ph.get('sources') else HOT


def mib(kb):
    return 'n/a' if kb is None else f'{kb / 1024:.1f}'


def fms(v):
    return 'n/a' if v is None else f'{v:.1f} ms'


def report(B, cfg, phases, lats, uw, elapsed_gen):
    say, table, fnum = B.say, B.table, B.fnum
    ncpu = os.cpu_count() or 2
    say('## Pipeline as deployed, and one box at scale')
    say()
    say(f'veille-broker, veille-watch and veille-sub run as daemons with their default '
        f'settings (broker: fsync batch, unix sockets; watcher: max_concurrency 32, jitter '
        f'10 %, and per_host_concurrency 32 since every feed is on one host), veille-sub with '
        f'three sinks: log (JSON lines to a file), webhook (style json, to a local HTTP/1.1 '
        f'keep-alive receiver) and mail (to a local SMTP server, hot topic only). Feeds: RSS '
        f'2.0, 20 items, ~12 KB, served by nginx-light (1 worker) from tmpfs. {HOT} hot feeds '
        f'are polled every second and one of them is edited every second (1 change/s) in '
        f'every phase; the bulk feeds are polled every {cfg["period_text"]}, 1 % of them '
        f'edited at the start of each period, 20 % served 200 with the unchanged body '
        f'(nginx ignores their validators), the rest answering 304 when unchanged. Each '
        f'phase starts veille-watch on a new state file: its first pass records the feeds '
        f'(baseline, timed, not measured), then {cfg["passes"]} periods are measured, '
        f'from one period after the start of the first pass. Feeds '
        f'generated in {elapsed_gen:.0f} s.{cfg["scaling"]}')
    say()
    say('**Latency** = arrival at the receiver (webhook: request complete; SMTP: message '
        'complete, before the 250) - the event\'s `detected`: the watcher\'s wall clock (ms, '
        'truncated) when it records the poll of the changed document, right after the '
        'document is fetched and parsed, before the state commit, the outbox, the broker '
        '(journal, fsync), veille-sub (cursor commit) and the sink. Resolution 1 ms '
        '(a figure may be up to 1 ms high). "in a pass": samples detected in a second in '
        'which the watcher also polled bulk feeds.')
    say()
    rows = []
    for r in lats:
        rows.append([r['phase'], r['alerts'], r['sink'], r['n'],
                     f'{r["edits"]}' if r['edits'] is not None else '',
                     fms(r['p50']), fms(r['p99']), fms(r['max']),
                     '' if r.get('in_pass') is None else r['in_pass']])
    table(['phase', 'alerts', 'sink', 'samples', 'changes made', 'p50', 'p99', 'max',
           'in a pass'], rows)
    say(f'**Resources** over the measured periods (after the baseline): polls/s done '
        f'(veille_watch_polls_total) / due (hot + bulk sources / period); CPU = CPU time of '
        f'each process, all threads (/proc/PID/task/*/schedstat), sampled every second, as '
        f'a share of the {ncpu}-core box; "pipeline" = watcher + broker + veille-sub (the '
        f'{HOT} hot feeds polled every second are part of it: see the quiet phase). RSS '
        f'(MiB) at the start -> end of the periods (max). nginx (the websites) and the '
        f'receivers are the load, shown apart.')
    say()
    rows = []
    for ph in phases:
        u = ph.get('usage') or {}
        if 'stopped' in ph:
            rows.append([ph['phase'], ph['sources'], f'stopped: {ph["stopped"]}'] + [''] * 9)
            continue
        cpu = {k: u.get(k, {}).get('cpu', 0.0) for k in PROCS_PIPE + ('nginx', 'receivers')}
        tot = sum(cpu[k] for k in PROCS_PIPE)
        ph['pipeline_cpu_pct'] = 100 * tot / ncpu
        ph['pipeline_rss_kb'] = sum((u.get(k, {}).get('rssmax') or 0) for k in PROCS_PIPE)
        rows.append([ph['phase'], ph['sources'],
                     f'{ph.get("baseline_s", 0):.0f} s',
                     f'{fnum(ph.get("polls_s"))} / {fnum(expected_polls(ph))}',
                     *[f'{100 * cpu[k] / ncpu:.2f} %' for k in PROCS_PIPE],
                     f'**{ph["pipeline_cpu_pct"]:.2f} %**',
                     f'{100 * cpu["nginx"] / ncpu:.2f} %',
                     *[f'{mib(u.get(k, {}).get("rss0"))} -> {mib(u.get(k, {}).get("rss1"))} '
                       f'({mib(u.get(k, {}).get("rssmax"))})' for k in PROCS_PIPE]])
    table(['phase', 'bulk sources', 'baseline', 'polls/s / due', 'veille-watch', 'broker',
           'veille-sub', 'pipeline', 'nginx', 'RSS watch', 'RSS broker', 'RSS sub'], rows)
    rows = []
    for ph in phases:
        if ph.get('sources') and 'changes' in ph:
            ok = ph['alerts_log'] == ph['changes'] == ph['alerts_hook'] == ph['alerts_hook_ids']
            rows.append([ph['phase'], ph['changes'], ph['alerts_log'], ph['alerts_hook'],
                         ph['alerts_hook_ids'], 'yes' if ok else 'NO'])
    if rows:
        say('Bulk alerts delivered (detected during the measured periods) against the '
            'changes made:')
        say()
        table(['phase', 'changes made', 'log sink', 'webhook', 'webhook (distinct ids)',
               'all delivered once'], rows)
    if uw:
        ph10 = next((p for p in phases if p.get('sources') == uw['n'] and 'usage' in p), None)
        say(f'The watch side of the {uw["n"]}-source run against urlwatch '
            f'{cfg.get("urlwatch_version", "")} on a 60 s cron over the same feeds (its '
            f'default 10 threads, conditional GET with ETag): CPU, wall and peak RSS from '
            f'/usr/bin/time per run; "share of the box" = CPU per run / 60 s / {ncpu} cores '
            f'(the idle time between two runs is not waited for). veille-watch: its CPU '
            f'over the measured periods of the same run, scaled to 60 s.')
        say()
        rows = []
        for r in uw['runs']:
            rows.append(['urlwatch', r['run'], r['changes'], f'{r["wall"]:.1f} s',
                         f'{r["cpu"]:.1f} s', f'{r["rss"] / 1024:.1f} MiB',
                         f'{100 * r["cpu"] / 60 / ncpu:.2f} %' if r['run'] != 'first' else '',
                         'ok' if r['rc'] == 0 else f'rc={r["rc"]}'])
        if ph10:
            u = ph10['usage'].get('veille-watch', {})
            per = u.get('cpu', 0) * ph10['period']     # CPU s per period (pass)
            rows.append(['veille-watch', f'daemon, {ph10["passes"]} periods of '
                         f'{ph10["period"]} s', ph10['changes'], 'n/a',
                         f'{per:.2f} s per period', f'{mib(u.get("rssmax"))} MiB',
                         f'{100 * per / 60 / ncpu:.2f} %', 'ok'])
        table(['system', 'run', 'changes', 'wall', 'CPU', 'peak RSS', 'share of the box',
               'exit'], rows)
    for ph in phases:
        if ph.get('profile'):
            say(f'veille-watch profile in the {ph["phase"]} phase (perf record -g, 10 s after '
                f'the measured periods, self time by symbol >= 2 %):')
            say()
            say('```')
            for ln in ph['profile']:
                say(ln)
            say('```')
            say()


SERIES = []   # (epoch s, {process: (cpu ns, rss KiB)}) of the last run, for the plot
GOALS = {10000: (5.0, None), 100000: (50.0, 512 * 1024)}   # sources every 60 s


def targets(B, cfg, phases, lats):
    rows = []

    def check(name, ok, text):
        rows.append([name, text, 'n/a' if ok is None else ('met' if ok else 'NOT met')])

    ncpu = os.cpu_count() or 2
    small = cfg['small']
    for sink in ('webhook', 'mail'):
        r = next((x for x in lats if x['sources'] == small and x['sink'] == sink
                  and x['alerts'] == 'hot'), None)
        q = next((x for x in lats if x['sources'] == 0 and x['sink'] == sink), None)
        if r and r['p99'] is not None:
            slow = ''
            if r['p99'] > LAT_GOAL_MS and r.get('slow'):
                slow = (f'; {len(r["slow"])} samples over {LAT_GOAL_MS:.0f} ms, the machine\'s '
                        'CPU (every process) in their second: ' + ', '.join(
                            f'{x} ms at {"?" if b is None else f"{b:.0f} %"} busy'
                            for x, b in sorted(r['slow'], reverse=True)[:5]))
            check(f'e2e p99 <= {LAT_GOAL_MS:.0f} ms under load ({sink}, {small} sources)',
                  r['p99'] <= LAT_GOAL_MS,
                  f'{fms(r["p99"])} (p50 {fms(r["p50"])}, {r["n"]} samples); quiet: '
                  f'{fms(q["p99"]) if q else "n/a"}{slow}')
    for ph in phases:
        n = ph.get('sources')
        if not n:
            continue
        goal, rss_goal = GOALS.get(n, (None, None)) if ph['period'] == 60 else (None, None)
        what = f'{n} sources every {ph["period"]} s'
        if 'stopped' in ph:
            check(what, False, ph['stopped'])
            continue
        u = ph['usage']
        c = ph['pipeline_cpu_pct']
        w = u.get('veille-watch', {})
        bound = ''
        if (goal is None or c > goal) and ph.get('polls_s'):
            bound = (f'; veille-watch {100 * w.get("cpu", 0) / ncpu:.1f} % of the box, '
                     f'{1e6 * w.get("cpu", 0) / ph["polls_s"]:.0f} µs CPU per poll at '
                     f'{ph["polls_s"]:.0f} polls/s ({expected_polls(ph):.0f} due)')
        check(f'{what}: pipeline CPU ' + (f'under {goal:g} % of the {ncpu}-core box'
                                          if goal else '(goals: 60 s periods)'),
              None if goal is None else c <= goal, f'{c:.2f} %{bound}')
        rk = ph['rss_peak_kb']
        check(f'{what}: RSS' + (f' under {rss_goal // 1024} MiB' if rss_goal else '')
              + ' (watcher + broker + sub, peaks over the phase, baseline included)',
              None if rss_goal is None else rk <= rss_goal,
              f'{rk / 1024:.0f} MiB (over the periods: {ph["pipeline_rss_kb"] / 1024:.0f} MiB, '
              f'watcher {mib(w.get("rssmax"))} MiB)')
        grow = [(k, (u[k]['rss1'] or 0) - (u[k]['rss0'] or 0)) for k in PROCS_PIPE if k in u]
        worst = max(grow, key=lambda x: x[1]) if grow else None
        if worst:
            check(f'{what}: RSS flat over the periods (growth <= 8 MiB)',
                  worst[1] <= 8 * 1024, f'largest growth {worst[1] / 1024:.1f} MiB ({worst[0]})')
        check(f'{what}: alerts delivered = changes made',
              ph['alerts_log'] == ph['changes'] == ph['alerts_hook_ids'] == ph['alerts_hook'],
              f'{ph["changes"]} changes, log {ph["alerts_log"]}, webhook {ph["alerts_hook"]}')
    if rows:
        B.say('## Targets (issue #20)')
        B.say()
        B.table(['target', 'measured', 'verdict'], rows)


# ---------------------------------------------------------------- plot

def plot_script(b, B):
    """gnuplot commands for two panels (CPU %, RSS over the run), or ''."""
    res = B.RESULTS.get('pipeline') or {}
    series = SERIES
    if not series:
        return ''
    dat = os.path.join(b.tmp, 'pipeline.dat')
    names = PROCS_PIPE + ('nginx', 'urlwatch')
    t0 = series[0][0]
    with open(dat, 'w') as fp:
        for name in names:
            fp.write(f'# {name}\n')
            prev = None
            for t, snap in series[::5]:
                if name in snap and snap[name][0]:
                    c, r = snap[name]
                    if prev and t > prev[0]:
                        cpu = 100 * (c - prev[1]) / 1e9 / (t - prev[0]) / (os.cpu_count() or 2)
                        fp.write(f'{(t - t0) / 60:.3f} {cpu:.3f} {(r or 0) / 1024:.1f}\n')
                    prev = (t, c)
                else:
                    if prev:
                        fp.write('\n')
                    prev = None
            fp.write('\n\n')
    marks = ''.join(f'set arrow from {(p["t_begin"] - t0) / 60:.2f}, graph 0 to '
                    f'{(p["t_begin"] - t0) / 60:.2f}, graph 1 nohead dt 3 lc rgb "gray"\n'
                    f'set label "{p["phase"]}" at {(p["t_begin"] - t0) / 60:.2f}, graph 0.03 '
                    f'rotate by 90 offset 0.8,0 font ",8"\n' for p in res.get('phases', []))
    colors = ('#7b2d9b', '#0b7a5a', '#2b9bd6', '#e08a00', '#c0392b')
    plots = lambda col: ', '.join(f'"{dat}" index {i} using 1:{col} with lines lw 1.5 '
                                  f'lc rgb "{colors[i]}" title "{n}"'
                                  for i, n in enumerate(names))
    return ('unset logscale\nset xtics norotate\nset key below horizontal font ",8"\n'
            'set xlabel "minutes"\nset xrange [0:*]\nset logscale y\n' + marks
            + 'set title "pipeline: CPU % of the box (5 s means, log scale)"\n'
            + 'set yrange [0.01:100]\n'
            + f'plot {plots(2)}\n'
            + 'set yrange [5:*]\nset title "pipeline: RSS (MiB, log scale)"\n'
            + f'plot {plots(3)}\nunset arrow\nunset label\nunset logscale\n')


# ---------------------------------------------------------------- section

def config(b):
    """Sizes: BENCH_PIPELINE="N:PERIOD:PASSES,N:PERIOD:PASSES" overrides
    the small and the large run (e.g. 1000:10:2,5000:20:2 for a try)."""
    spec = os.environ.get('BENCH_PIPELINE')
    if spec:
        runs = [tuple(int(x) for x in s.split(':')) for s in spec.split(',')]
    elif b.full:
        runs = [(10000, 60, 3), (100000, 60, 3)]
    else:
        runs = [(1000, 10, 2)]
    quiet = 60 if b.full else 10
    small = runs[0][0]
    scaling = ''
    if any(p != 60 for _, p, _ in runs):
        scaling = (' Periods shorter than 60 s (quick run): N sources every P s poll as '
                   'often as N x 60 / P sources every 60 s (' + ', '.join(
                       f'{n} every {p} s ~ {n * 60 // p} every 60 s' for n, p, _ in runs)
                   + '); the CPU and RSS goals are stated for 60 s periods and get no '
                   'verdict here.')
    return {'runs': runs, 'quiet': quiet, 'small': small,
            'passes': '/'.join(str(r[2]) for r in runs),
            'period_text': '/'.join(f'{r[1]} s' for r in runs),
            'urlwatch_runs': 2 if b.full else 1, 'scaling': scaling}


def run(b, B):
    """The pipeline section of bench.py."""
    if not all(b.have(k) for k in ('broker', 'watch', 'sub')):
        B.say('## Pipeline\n\nskipped: veille-broker, veille-watch or veille-sub not built\n')
        return
    cfg = config(b)
    res = B.RESULTS.setdefault('pipeline', {})
    res['config'] = {k: v for k, v in cfg.items() if k != 'scaling'}
    root = os.path.join(b.shm, 'pipeline-www')
    os.makedirs(root, exist_ok=True)
    feeds = Feeds(root, 0, B.SEEDS)
    pl = Pipeline(b, B, root)
    hot = HotEditor(feeds)
    phases, uw = [], None
    try:
        pl.start(feeds)   # nginx first: the feeds' links carry its port
        n_max = max(n for n, _, _ in cfg['runs'])
        B.log(f'pipeline: generating {HOT} hot + {n_max} bulk feeds')
        t = time.monotonic()
        feeds.generate(n_max, 2 if n_max >= 20000 else 1)
        elapsed_gen = time.monotonic() - t
        os.sync()
        hot.start()
        phases.append(guarded(B, run_phase, pl, feeds, hot, 'quiet', 0, 1, cfg['quiet']))
        for i, (n, period, passes) in enumerate(cfg['runs']):
            phases.append(guarded(B, run_phase, pl, feeds, hot, f'{n}', n, period, passes,
                                  profile=b.full and i == len(cfg['runs']) - 1))
            if i == 0 and shutil.which('urlwatch'):
                phases.append({'phase': 'urlwatch', 't_begin': time.time()})
                uw = {'n': n, 'runs': urlwatch_phase(pl, feeds, n, cfg['urlwatch_runs'])}
        cfg['urlwatch_version'] = B.machine()['peers'].split('urlwatch ')[-1]
    finally:
        hot.quit.set()
        pl.stop()
    lats = lat_rows(pl, phases)
    res['phases'] = [{k: v for k, v in p.items() if k != 'profile'} for p in phases]
    res['latency'] = lats
    res['urlwatch'] = uw
    SERIES[:] = [(t, s) for t, s, _ in pl.sampler.rows]
    report(B, cfg, [p for p in phases if p['phase'] != 'urlwatch'], lats, uw, elapsed_gen)
    targets(B, cfg, phases, lats)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'recv':
        sys.exit(recv_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == 'gen':
        sys.exit(gen_main(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
