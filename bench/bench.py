#!/usr/bin/python3
"""veille benchmark: veille side by side with its peers, in one run.

  bench.py BUILD full|quick      (bench/run.sh builds the tools, then runs this)

Sections (BENCH_SECTIONS=broker,watcher,subscriber picks some):
  broker      veille-broker (fsync batch / interval / none, and none with the
              journal on tmpfs) vs a raw libzmq XSUB/XPUB proxy and mosquitto
              QoS 0 / QoS 1: events/s end to end and ack latency at full
              speed; publish -> subscriber latency at fixed rates
  watcher     veille-watch vs urlwatch on feeds served by nginx: cold pass,
              unchanged pass (conditional GET), 1 % of the feeds edited
  subscriber  veille-sub log sink (file) and webhook sink (nginx as a local
              keep-alive receiver): events/s, and the cost of the durable cursor commit
              (state on disk vs on tmpfs)
  pipeline    (pipeline.py) broker, watcher and veille-sub together as
              deployed: detected -> webhook / SMTP latency at 1 change/s,
              quiet and under load; 10,000 then 100,000 sources every 60 s:
              CPU and RSS of each process, alerts delivered = changes made;
              urlwatch on a 60 s cron as the peer
Every figure is printed next to a peer measured in the same run, as a
ratio; this machine is small and shared, so absolute numbers are noisy.
Writes bench/results.md (and bench/results.png when gnuplot is there).
Nothing here asserts timings: targets are reported, never enforced.
"""
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
SEEDS = os.path.normpath(os.path.join(SRC, '..', 'shared', 'seeds'))
PROCS = []
RESULTS = {'broker': [], 'latency': [], 'disk': {}, 'watcher': [], 'subscriber': [], 'profile': []}
OUT = []      # lines of the report (markdown tables)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def say(line=''):
    """A line for both the terminal and results.md."""
    print(line, flush=True)
    OUT.append(line)


# ---------------------------------------------------------------- processes

class Proc:
    """A child process whose stderr is watched for a readiness line."""

    def __init__(self, argv, ready=None, timeout=20, name=None, stdout=None, env=None, cwd=None):
        self.name = name or os.path.basename(argv[0])
        self.lines = []
        self.cv = threading.Condition()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=stdout or subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, errors='replace',
                                  env=env, cwd=cwd, start_new_session=True)
        PROCS.append(self)
        threading.Thread(target=self._read, daemon=True).start()
        self.match = None
        if ready:
            self.match = self.wait_line(ready, timeout)

    def _read(self):
        for line in self.p.stderr:
            with self.cv:
                self.lines.append(line.rstrip('\n'))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_line(self, pattern, timeout):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        i = 0
        with self.cv:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    i += 1
                    if m:
                        return m
                if self.p.poll() is not None and i >= len(self.lines):
                    raise RuntimeError(f'{self.name} exited ({self.p.returncode}) before '
                                       f'{pattern!r}:\n' + '\n'.join(self.lines[-20:]))
                left = deadline - time.time()
                if left <= 0:
                    raise RuntimeError(f'{self.name}: no {pattern!r} after {timeout} s:\n'
                                       + '\n'.join(self.lines[-20:]))
                self.cv.wait(min(left, 0.2))

    @property
    def pid(self):
        return self.p.pid

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self in PROCS:
            PROCS.remove(self)


def stop_all():
    for p in list(PROCS):
        try:
            p.stop()
        except Exception:
            pass


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(proc, port, timeout=10):
    """Waits until PROC accepts connections on 127.0.0.1:PORT."""
    deadline = time.time() + timeout
    while True:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            if time.time() > deadline or proc.p.poll() is not None:
                raise RuntimeError(f'{proc.name} not listening on {port}:\n'
                                   + '\n'.join(proc.lines[-20:]))
            time.sleep(0.02)


def cpu_ns(pid):
    """CPU time used so far by every thread of PID, in ns (schedstat)."""
    total = 0
    try:
        for t in os.listdir(f'/proc/{pid}/task'):
            try:
                with open(f'/proc/{pid}/task/{t}/schedstat') as fp:
                    total += int(fp.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total


def tree_cpu_ns(pid):
    """cpu_ns of PID and of its direct children (nginx: master + workers)."""
    total = cpu_ns(pid) or 0
    try:
        for t in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{t}/children') as fp:
                total += sum(cpu_ns(int(c)) or 0 for c in fp.read().split())
    except OSError:
        pass
    return total


def parse_result(text):
    for line in text.splitlines():
        if line.startswith('RESULT '):
            r = {}
            for kv in line.split()[1:]:
                k, _, v = kv.partition('=')
                try:
                    r[k] = float(v) if '.' in v or v.isdigit() else v
                except ValueError:
                    r[k] = v
            return r
    return None


def run_driver(argv, timeout):
    try:
        cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f'  ! {os.path.basename(argv[0])} timed out')
        return None
    r = parse_result(cp.stdout)
    if r is None or cp.returncode != 0:
        log(f'  ! {os.path.basename(argv[0])} rc={cp.returncode}: {cp.stderr.strip()[-400:]}')
    return r


def timed(argv, env=None, stdout=subprocess.DEVNULL, timeout=600, started=None):
    """Runs ARGV under /usr/bin/time: (rc, wall s, cpu s, peak RSS KiB, stderr).
    STARTED, if given, is called with the pid of /usr/bin/time once it runs."""
    tf = tempfile.NamedTemporaryFile(prefix='bench-time', delete=False)
    tf.close()
    t0 = time.monotonic()
    p = subprocess.Popen(['/usr/bin/time', '-o', tf.name, '-f', '%e %U %S %M'] + argv,
                         stdout=stdout, stderr=subprocess.PIPE, text=True,
                         errors='replace', env=env, start_new_session=True)
    if started:
        started(p.pid)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
        os.unlink(tf.name)
        raise
    cp = subprocess.CompletedProcess(argv, p.returncode, None, err)
    wall = time.monotonic() - t0
    with open(tf.name) as fp:
        parts = fp.read().split()[-4:]
    os.unlink(tf.name)
    try:
        e, u, s, m = float(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])
    except (IndexError, ValueError):
        e, u, s, m = wall, 0.0, 0.0, 0
    return cp.returncode, e, u + s, m, cp.stderr


# ---------------------------------------------------------------- formatting

def fnum(v, unit=''):
    if v is None:
        return 'n/a'
    if isinstance(v, str):
        return v
    if v >= 1e6:
        return f'{v / 1e6:.2f}M{unit}'
    if v >= 1e4:
        return f'{v / 1e3:.0f}k{unit}'
    if v >= 1e3:
        return f'{v / 1e3:.1f}k{unit}'
    if v >= 100:
        return f'{v:.0f}{unit}'
    if v >= 1:
        return f'{v:.1f}{unit}'
    return f'{v:.2f}{unit}'


def fus(us):
    """Microseconds as a short duration."""
    if us is None:
        return 'n/a'
    if us >= 1e6:
        return f'{us / 1e6:.2f} s'
    if us >= 1000:
        return f'{us / 1000:.2f} ms'
    return f'{us:.0f} µs'


def ratio(a, b):
    if not a or not b:
        return 'n/a'
    return f'{a / b:.2f}x'


def table(header, rows):
    say('| ' + ' | '.join(header) + ' |')
    say('|' + '|'.join('---' for _ in header) + '|')
    for r in rows:
        say('| ' + ' | '.join(str(c) for c in r) + ' |')
    say()


# ---------------------------------------------------------------- systems

class Bench:
    def __init__(self, build, mode):
        self.build = os.path.abspath(build)
        self.mode = mode
        self.full = mode == 'full'
        self.tmp = tempfile.mkdtemp(prefix='veille-bench-')
        self.shm = tempfile.mkdtemp(prefix='veille-bench-', dir='/dev/shm') \
            if os.path.isdir('/dev/shm') else self.tmp
        self.bin = {
            'broker': os.path.join(self.build, 'broker', 'veille-broker'),
            'watch': os.path.join(self.build, 'watchers', 'veille-watch'),
            'sub': os.path.join(self.build, 'subscribers', 'veille-sub'),
            'driver': os.path.join(self.build, 'bench', 'bench_broker'),
            'mqtt': os.path.join(self.build, 'bench', 'bench_mqtt'),
            'js': os.path.join(self.build, 'bench', 'bench_js'),
            'proxy': os.path.join(self.build, 'bench', 'zmq_proxy'),
        }
        self.hwm = 100000          # the broker's default sndhwm, used everywhere
        self.window = 1000         # unacked events per publisher (veille, mosquitto)
        self.runs = 0

    def have(self, key):
        return os.access(self.bin[key], os.X_OK)

    def cleanup(self):
        stop_all()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.shm != self.tmp:
            shutil.rmtree(self.shm, ignore_errors=True)

    # -- veille-broker
    def start_veille(self, fsync, on_tmpfs=False, extra=''):
        self.runs += 1
        base = self.shm if on_tmpfs else self.tmp
        d = os.path.join(base, f'broker{self.runs}')
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, 'broker.conf')
        with open(conf, 'w') as fp:
            fp.write('broker = {\n'
                     '  publish = "tcp://127.0.0.1:*";\n'
                     '  subscribe = "tcp://127.0.0.1:*";\n'
                     '  replay = "tcp://127.0.0.1:*";\n'
                     f'  journal_dir = "{d}/journal";\n'
                     f'  fsync = "{fsync}";\n'
                     '  stats_interval_s = 0;\n'
                     '  allow_plaintext_tcp = true;\n'
                     f'  sndhwm = {self.hwm};\n'
                     f'{extra}'
                     '};\n')
        p = Proc([self.bin['broker'], '-c', conf, '--log-level', 'warn'],
                 ready=r'veille-broker: ready publish=(\S+) subscribe=(\S+) replay=(\S+)',
                 name='veille-broker')
        p.dir = d
        return p, p.match.group(1), p.match.group(2), p.match.group(3)

    def start_proxy(self):
        p = Proc([self.bin['proxy'], '--hwm', str(self.hwm), '--nodrop'],
                 ready=r'zmq_proxy: ready xsub=(\S+) xpub=(\S+)', name='zmq_proxy')
        return p, p.match.group(1), p.match.group(2)

    def start_mosquitto(self):
        self.runs += 1
        port = free_port()
        conf = os.path.join(self.tmp, f'mosquitto{self.runs}.conf')
        with open(conf, 'w') as fp:
            fp.write(f'listener {port} 127.0.0.1\n'
                     'allow_anonymous true\n'
                     'persistence false\n'
                     f'max_inflight_messages {self.window}\n'
                     'max_queued_messages 0\n'
                     'set_tcp_nodelay true\n'
                     'log_dest stderr\n'
                     'log_type error\nlog_type warning\n')
        p = Proc(['mosquitto', '-c', conf], name='mosquitto')
        wait_port(p, port)
        return p, port

    def start_nats(self):
        """nats-server -js on a free loopback port, a fresh store (file
        storage, as veille-broker's journal); the stream is R1 (one host)."""
        if not shutil.which('nats-server') or not self.have('js'):
            raise RuntimeError('nats-server or bench_js missing')
        self.runs += 1
        port = free_port()
        d = os.path.join(self.tmp, f'nats{self.runs}')
        p = Proc(['nats-server', '-js', '-a', '127.0.0.1', '-p', str(port), '-sd', d],
                 name='nats-server')
        wait_port(p, port)
        p.dir = d
        return p, port

    # -- one broker run: SYSTEM is a key of SYSTEMS
    def broker_run(self, system, pubs, subs, size, duration, rate=0):
        kind, opt = SYSTEMS[system]
        common = ['--pubs', str(pubs), '--subs', str(subs), '--size', str(size),
                  '--duration', str(duration), '--rate', str(rate), '--seeds', SEEDS,
                  '--window', str(self.window), '--label', system.replace(' ', '_')]
        timeout = duration + 60
        os.sync()   # the previous run's writes are on disk: each run starts from a quiet disk
        if kind == 'veille':
            p, pub, sub, rep = self.start_veille(opt['fsync'], opt.get('tmpfs', False))
            try:
                c0 = cpu_ns(p.pid)
                # subscribers are the real client: what the broker's high-water
                # mark drops is recovered through the replay endpoint
                r = run_driver([self.bin['driver'], '--mode', 'veille', '--pub', pub, '--sub', sub,
                                '--rep', rep, '--hwm', str(self.hwm)] + common, timeout)
                c1 = cpu_ns(p.pid)
            finally:
                p.stop()
                shutil.rmtree(p.dir, ignore_errors=True)
        elif kind == 'zmq':
            p, xsub, xpub = self.start_proxy()
            try:
                c0 = cpu_ns(p.pid)
                r = run_driver([self.bin['driver'], '--mode', 'zmq', '--pub', xsub, '--sub', xpub,
                                '--hwm', str(self.hwm)] + common, timeout)
                c1 = cpu_ns(p.pid)
            finally:
                p.stop()
        elif kind == 'nats':
            p, port = self.start_nats()
            try:
                c0 = cpu_ns(p.pid)
                r = run_driver([self.bin['js'], '--servers', f'nats://127.0.0.1:{port}']
                               + common, timeout)
                c1 = cpu_ns(p.pid)
            finally:
                p.stop()
                shutil.rmtree(p.dir, ignore_errors=True)
        else:
            p, port = self.start_mosquitto()
            try:
                c0 = cpu_ns(p.pid)
                r = run_driver([self.bin['mqtt'], '--port', str(port), '--qos', str(opt['qos'])]
                               + common, timeout)
                c1 = cpu_ns(p.pid)
            finally:
                p.stop()
        if r:
            r['system'] = system
            r['complete'] = r['received_min'] >= r['expected'] > 0
            if c0 is not None and c1 is not None and r['sent'] > 0:
                r['cpu_us_per_event'] = (c1 - c0) / 1e3 / r['sent']
        return r


SYSTEMS = {
    'veille batch': ('veille', {'fsync': 'batch'}),
    'veille interval': ('veille', {'fsync': 'interval'}),
    'veille none': ('veille', {'fsync': 'none'}),
    'veille tmpfs': ('veille', {'fsync': 'none', 'tmpfs': True}),
    'zmq proxy': ('zmq', {}),
    'mosquitto q0': ('mqtt', {'qos': 0}),
    'mosquitto q1': ('mqtt', {'qos': 1}),
    'nats js': ('nats', {}),   # the JetStream backbone: js_pub -> nats-server -js -> js_sub
}


# ---------------------------------------------------------------- broker

def section_broker(b):
    say('## Broker')
    say()
    missing = [k for k in ('broker', 'driver', 'proxy', 'mqtt') if not b.have(k)]
    if missing:
        say(f'skipped: missing {", ".join(b.bin[k] for k in missing)}')
        say()
        return
    if b.full:
        sizes, topos, dur = [512, 2048], [(1, 1), (4, 1), (1, 10)], 2.0
        systems = list(SYSTEMS)
        # the other cases without the two middle fsync variants (time budget)
        systems_other = ['veille batch', 'veille none', 'zmq proxy', 'mosquitto q0',
                         'mosquitto q1', 'nats js']
        rates, lat_dur = [1000, 10000, 50000], 2.0
        lat_systems = ['veille batch', 'veille interval', 'veille none', 'zmq proxy',
                       'mosquitto q1', 'nats js']
    else:
        sizes, topos, dur = [512], [(1, 1)], 1.0
        systems = ['veille batch', 'veille none', 'veille tmpfs', 'zmq proxy', 'mosquitto q1',
                   'nats js']
        systems_other = systems
        rates, lat_dur = [10000], 1.0
        lat_systems = ['veille batch', 'veille interval', 'zmq proxy', 'mosquitto q1', 'nats js']
    say(f'Events of exactly 512 B / 2 KiB (real veille events, event_encode), '
        f'{dur:g} s of publishing per run ({dur * 0.75:g} s outside 512 B 1->1), fresh '
        f'server per run, all on loopback. '
        f'veille and mosquitto publishers keep at most {b.window} events unacked; the '
        f'raw proxy\'s PUB sockets block at the high-water mark ({b.hwm}, XPUB_NODROP), '
        f'so every system delivers everything; veille subscribers are the real client '
        f'(client_sub: what the broker\'s high-water mark drops is recovered through the '
        f'replay endpoint, "yes (N replayed)"). "events/s" = events received by the '
        f'slowest subscriber / (first publish -> last receive); for 1->10 also the '
        f'deliveries/s (sum over subscribers). "veille tmpfs" = fsync none with the '
        f'journal on tmpfs: the broker has no journal-off switch, this is the closest. '
        f'"server CPU/event" = CPU time of the server process (all its threads, from '
        f'/proc/PID/task/*/schedstat) / events published: it moves far less than '
        f'events/s when the machine is shared. "load gen CPU/event" = the same for the '
        f'load generator (publishers and subscribers): server + load generator share the '
        f'2 cores, so 2 s / (their sum) bounds events/s on this machine. '
        f'"nats js" = the JetStream backbone (backbone = "nats") on one nats-server -js '
        f'(file storage, R1, as one veille-broker): veille\'s own publisher (js_pub: '
        f'Nats-Msg-Id, {b.window} events without PubAck) and consumer (js_sub, as in '
        f'veille-sub), same events.')
    say()
    for size in sizes:
        for pubs, subs in topos:
            main_case = size == 512 and (pubs, subs) == (1, 1)
            reps = 3 if (b.full and main_case) else 1
            rows = {}
            for rep in range(reps):
                for s in (systems if main_case else systems_other):
                    log(f'broker: {s} {size} B {pubs}->{subs} (run {rep + 1}/{reps})')
                    try:
                        r = b.broker_run(s, pubs, subs, size, dur if main_case else dur * 0.75)
                    except RuntimeError as e:
                        log(f'  ! {s}: {e}')
                        r = None
                    if r is None:
                        continue
                    r['case'] = f'{size}B {pubs}->{subs}'
                    best = rows.get(s)
                    if best is None or r['eps'] > best['eps']:
                        rows[s] = r
            for r in rows.values():
                RESULTS['broker'].append(r)
            print_broker_table(size, pubs, subs, rows, reps)
    say(f'### Latency, 512 B, 1 publisher -> 1 subscriber, fixed rates ({lat_dur:g} s each)')
    say()
    rows = []
    for rate in rates:
        per_rate = {}
        for s in lat_systems:
            log(f'latency: {s} at {rate}/s')
            try:
                r = b.broker_run(s, 1, 1, 512, lat_dur * 1.5 if rate <= 1000 else lat_dur, rate)
            except RuntimeError as e:
                log(f'  ! {s}: {e}')
                r = None
            if r is None:
                continue
            r['case'] = f'latency {rate}'
            RESULTS['latency'].append(r)
            per_rate[s] = r
        zp = per_rate.get('zmq proxy', {}).get('lat_p99_us')
        for s, r in per_rate.items():
            rows.append([f'{rate // 1000}k/s', s, fus(r.get('lat_p50_us')), fus(r.get('lat_p99_us')),
                         fus(r.get('lat_p999_us')), ratio(r.get('lat_p99_us'), zp),
                         fus(r.get('ack_p50_us')), fus(r.get('ack_p99_us')),
                         received(r)])
    table(['rate', 'system', 'p50', 'p99', 'p999', 'p99 / proxy p99', 'ack p50', 'ack p99',
           'all received'], rows)
    disk = fdatasync_latency(b.tmp, 400 if b.full else 100)
    RESULTS['disk'] = disk
    say(f'The disk under the journal (same directory): {disk["n"]} appends of 512 B, each '
        f'followed by fdatasync, as `fsync = "batch"` does once per group commit: '
        f'p50 {fus(disk["p50_us"])}, p99 {fus(disk["p99_us"])}, p999 {fus(disk["p999_us"])}. '
        f'An event acked under `batch` that arrives during a commit waits for the rest of '
        f'that fdatasync and then for its own: p99 of that wait on these samples '
        f'{fus(disk["wait2_p99_us"])}, a floor for the batch latency; `interval` and `none` '
        f'ack before the sync (the interval sync runs in a background thread).')
    say()


def fdatasync_latency(d, n):
    """p50/p99/p999 (µs) of append 512 B + fdatasync in directory D."""
    path = os.path.join(d, 'fdatasync.probe')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    lat = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, b'x' * 512)
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    # fsync batch: an event that arrives during a commit waits for the rest of
    # that fdatasync, then for the one of its own commit. Arrivals fall in a
    # sync with a chance proportional to its length (length-biased), at a
    # uniform point of it: the p99 of that wait is a floor for the batch p99.
    rng = random.Random(7)
    waits = sorted(rng.random() * a + rng.choice(lat)
                   for a in rng.choices(lat, weights=lat, k=20000))
    lat.sort()
    pick = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
    return {'n': n, 'p50_us': pick(lat, 0.50), 'p99_us': pick(lat, 0.99),
            'p999_us': pick(lat, 0.999), 'wait2_p99_us': pick(waits, 0.99)}


def received(r):
    """The 'all received' cell: yes, with how many came through replay."""
    if not r['complete']:
        return f'{int(r["received_min"])}/{int(r["expected"])}'
    rep = int(r.get('replayed', 0))
    return f'yes ({fnum(rep)} replayed)' if rep else 'yes'


def print_broker_table(size, pubs, subs, rows, reps):
    title = f'### {size} B, {pubs} publisher{"s" if pubs > 1 else ""} -> {subs} subscriber{"s" if subs > 1 else ""}'
    if reps > 1:
        title += f' (best of {reps})'
    say(title)
    say()
    zp = rows.get('zmq proxy', {}).get('eps')
    mq1 = rows.get('mosquitto q1', {}).get('eps')
    zcpu = rows.get('zmq proxy', {}).get('cpu_us_per_event')
    out = []
    for s, r in rows.items():
        line = [s, fnum(r['eps'])]
        if subs > 1:
            line.append(fnum(r['deliveries_ps']))
        cpu = r.get('cpu_us_per_event')
        line += [ratio(r['eps'], zp), ratio(r['eps'], mq1),
                 f'{cpu:.2f} µs' if cpu is not None else 'n/a',
                 ratio(cpu, zcpu) if cpu is not None else 'n/a',
                 f'{r["client_cpu_us"]:.2f} µs' if 'client_cpu_us' in r else 'n/a',
                 fus(r.get('ack_p50_us')), fus(r.get('ack_p99_us')),
                 received(r)]
        out.append(line)
    head = ['system', 'events/s']
    if subs > 1:
        head.append('deliveries/s')
    head += ['x raw proxy', 'x mosquitto q1', 'server CPU/event', 'CPU x proxy',
             'load gen CPU/event',
             'ack p50', 'ack p99', 'all received']
    table(head, out)


# ---------------------------------------------------------------- watcher

class Nginx:
    """nginx from TEMPLATE (a file in bench/) on a free loopback port."""

    def __init__(self, b, root, template='nginx.conf', name='nginx'):
        b.runs += 1
        self.dir = os.path.join(b.tmp, f'{name}{b.runs}')
        os.makedirs(os.path.join(self.dir, 'nginx-tmp'), exist_ok=True)
        self.port = free_port()
        with open(os.path.join(HERE, template)) as fp:
            conf = fp.read()
        conf = conf.replace('@DIR@', self.dir).replace('@ROOT@', root or self.dir) \
                   .replace('@PORT@', str(self.port))
        path = os.path.join(self.dir, 'nginx.conf')
        with open(path, 'w') as fp:
            fp.write(conf)
        self.proc = Proc(['nginx', '-p', self.dir, '-c', path, '-e',
                          os.path.join(self.dir, 'early-error.log')], name=name)
        wait_port(self.proc, self.port)

    def stop(self):
        self.proc.stop()


def gen(args):
    cp = subprocess.run([sys.executable, os.path.join(HERE, 'gen_feeds.py')] + args,
                        stdout=subprocess.PIPE, text=True, check=True)
    return cp.stdout.strip()


def broker_count(rep_ep):
    """Events in the broker's journal (replay op count), or None."""
    try:
        import msgpack
        import zmq
    except ImportError:
        return None
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(rep_ep)
    try:
        s.send(msgpack.packb({'op': 'count', 'after': 0}))
        if not s.poll(5000):
            return None
        while True:
            frames = s.recv_multipart()
            if frames[0] == b'END':
                return msgpack.unpackb(frames[1]).get('count')
            if frames[0] == b'ERR':
                return None
    finally:
        s.close()


def section_watcher(b):
    say('## Watcher')
    say()
    if not (b.have('watch') and b.have('broker')):
        say('skipped: veille-watch or veille-broker not built')
        say()
        return
    # quick: 100 feeds, cold and unchanged passes, both systems (the targets are
    # defined at 1,000 and 10,000 feeds: full run only)
    sizes = [1000, 10000] if b.full else [100]
    peer_at = 1000 if b.full else 100
    root = os.path.join(b.tmp, 'www')
    os.makedirs(root, exist_ok=True)
    nginx = None
    try:
        port_probe = free_port()  # nginx port is chosen before the feeds (links carry it)
        dirs = {}
        for n in sizes:
            d = os.path.join(root, f'f{n}')
            log(f'watcher: generating {n} feeds')
            gen(['--dir', d, '--count', str(n), '--port', str(port_probe), '--seeds', SEEDS])
            dirs[n] = d
        nginx = Nginx(b, root)
        say(f'Feeds: RSS 2.0, 20 items, ~12 KB each, generated from the seeds; nginx-light '
            f'(1 worker, keep-alive, ETag/Last-Modified) on 127.0.0.1:{nginx.port}. veille-watch '
            f'--once with publish_existing (every item is an event, acked by a veille-broker '
            f'with fsync none), max_concurrency = per_host_concurrency = 32 (all feeds are on '
            f'one host); urlwatch 2.25 with its default 10 worker threads. Wall and CPU time '
            f'and peak RSS from /usr/bin/time (whole process, start to exit).')
        say()
        rows = []
        uw = {}
        for n in sizes:
            cap = 600 if n <= 1000 else 60
            res = watcher_passes(b, n, dirs[n], nginx, with_urlwatch=(n == peer_at), cap=cap)
            for r in res:
                RESULTS['watcher'].append(r)
                if r['system'] == 'urlwatch':
                    uw[r['pass']] = r
            for r in res:
                peer = uw.get(r['pass']) if r['system'] == 'veille' and n == peer_at else None
                rows.append([r['system'], f'{n}', r['pass'],
                             (f'> {r["wall"]:.0f} s' if r.get('timeout') else f'{r["wall"]:.2f} s'),
                             'n/a' if r.get('timeout') else f'{r["cpu"]:.2f} s',
                             'n/a' if r.get('timeout') else f'{r["rss"] / 1024:.1f} MiB',
                             ('< ' if r.get('timeout') else '')
                             + (fnum(r['items'] / r['wall']) if r['wall'] > 0 else 'n/a'),
                             r.get('events', ''),
                             ratio(peer['wall'], r['wall']) if peer else '',
                             'ok' if r['rc'] == 0 else
                             (f'stopped after {r["wall"]:.0f} s' if r.get('timeout')
                              else f'rc={r["rc"]}')])
        table(['system', 'feeds', 'pass', 'wall', 'CPU', 'peak RSS', 'items/s', 'events',
               'speed-up vs urlwatch', 'exit'], rows)
    finally:
        if nginx:
            nginx.stop()


def watcher_passes(b, n, fdir, nginx, with_urlwatch, cap=600):
    """Cold, unchanged and edited passes; a veille pass longer than CAP s is
    stopped (and the passes after it skipped) to keep the bench bounded.
    The CPU the broker and nginx spend during each veille pass is recorded
    too: the three share the 2 cores."""
    port = nginx.port
    wd = os.path.join(b.tmp, f'watch{n}')
    os.makedirs(wd, exist_ok=True)
    bp, pub, _, rep = b.start_veille('none')
    out = []
    try:
        conf = os.path.join(wd, 'watch.conf')
        gen(['--dir', fdir, '--count', str(n), '--port', str(port), '--watch-conf', conf,
             '--broker', pub, '--state', os.path.join(wd, 'state.db'),
             '--path', f'/f{n}/feeds/'])
        uwd = os.path.join(wd, 'urlwatch')
        if with_urlwatch:
            os.makedirs(uwd, exist_ok=True)
            gen(['--dir', fdir, '--count', str(n), '--port', str(port),
                 '--urlwatch-urls', os.path.join(uwd, 'urls.yaml'), '--path', f'/f{n}/feeds/'])
            with open(os.path.join(uwd, 'urlwatch.yaml'), 'w') as fp:
                fp.write('report:\n  stdout:\n    enabled: true\n    color: false\n'
                         '  text:\n    details: true\n')
        before = 0
        for pas in ('cold', 'unchanged', 'edited 1%') if b.full else ('cold', 'unchanged'):
            if pas == 'edited 1%':
                edited = gen(['--dir', fdir, '--count', str(n), '--port', str(port),
                              '--edit', '1', '--round', '1', '--seeds', SEEDS])
                log(f'watcher: edited {edited} feeds')
            log(f'watcher: veille-watch {n} feeds, {pas}')
            os.sync()   # each pass starts from a quiet disk, as each broker run does
            cb0, cn0 = cpu_ns(bp.pid) or 0, tree_cpu_ns(nginx.proc.pid)
            try:
                rc, wall, cpu, rss, err = timed([b.bin['watch'], '-c', conf, '--once',
                                                 '--log-level', 'warn'], timeout=cap)
            except subprocess.TimeoutExpired:
                log(f'watcher: veille-watch {n} feeds {pas}: stopped after {cap} s')
                out.append({'system': 'veille', 'feeds': n, 'pass': pas, 'rc': 'timeout',
                            'wall': float(cap), 'cpu': 0.0, 'rss': 0, 'items': 20 * n,
                            'events': '', 'timeout': True})
                break
            others = ((cpu_ns(bp.pid) or 0) - cb0 + tree_cpu_ns(nginx.proc.pid) - cn0) / 1e9
            if rc != 0:
                log(err[-1000:])
            count = broker_count(rep)
            ev = count - before if count is not None else ''
            before = count or 0
            out.append({'system': 'veille', 'feeds': n, 'pass': pas, 'rc': rc, 'wall': wall,
                        'cpu': cpu, 'rss': rss, 'items': 20 * n, 'events': ev,
                        'others_cpu': others})
            if with_urlwatch:
                log(f'watcher: urlwatch {n} feeds, {pas}')
                env = dict(os.environ, HOME=uwd, XDG_CACHE_HOME=uwd, XDG_CONFIG_HOME=uwd)
                rc, wall, cpu, rss, err = timed(
                    ['urlwatch', '--urls', os.path.join(uwd, 'urls.yaml'),
                     '--config', os.path.join(uwd, 'urlwatch.yaml'),
                     '--cache', os.path.join(uwd, 'cache.db')], env=env)
                if rc != 0:
                    log(err[-1000:])
                out.append({'system': 'urlwatch', 'feeds': n, 'pass': pas, 'rc': rc,
                            'wall': wall, 'cpu': cpu, 'rss': rss, 'items': 20 * n})
    finally:
        bp.stop()
    return out


# ---------------------------------------------------------------- subscriber

def count_lines(path):
    try:
        with open(path, 'rb') as fp:
            return sum(chunk.count(b'\n') for chunk in iter(lambda: fp.read(1 << 20), b''))
    except OSError:
        return 0


def section_subscriber(b):
    say('## Subscriber')
    say()
    if not (b.have('sub') and b.have('broker') and b.have('driver')):
        say('skipped: veille-sub, veille-broker or bench_broker not built')
        say()
        return
    n = 20000 if b.full else 2000
    cap = SUB_CAP_S if b.full else 5
    say(f'{n} events of 512 B published as fast as the broker acks them (veille-broker, fsync '
        f'none) to a running veille-sub with one sink (log: JSON lines to a file; webhook: '
        f'style json to nginx answering 200 on a keep-alive connection, counted from its '
        f'access log); events/s = {n} / (first publish -> '
        f'last event written by the sink). The cursor-commit cost is the difference between '
        f'the sink\'s SQLite state on disk (WAL, synchronous=FULL: an fsync per commit) and '
        f'on tmpfs (same code, the fsync costs nothing).')
    say()
    rows = []
    for sink in ('log', 'webhook'):
        per = {}
        for where in ('disk', 'tmpfs') if (b.full or sink == 'log') else ('disk',):
            log(f'subscriber: {sink} sink, state on {where}')
            r = sub_run(b, sink, where, n, cap)
            if r:
                RESULTS['subscriber'].append(r)
                per[where] = r
        for where, r in per.items():
            cpu = r.get('cpu_us_per_event')
            rows.append([sink, where, fnum(r['eps']), f'{r["delivered"]}/{n}',
                         f'{cpu:.0f} µs' if cpu is not None else 'n/a',
                         ratio(r['eps'], per.get('tmpfs', {}).get('eps')),
                         f'{r["cost_us"]:.1f} µs' if where == 'disk' and 'cost_us' in r else ''])
        if 'disk' in per and 'tmpfs' in per and per['disk']['eps'] and per['tmpfs']['eps']:
            per['disk']['cost_us'] = 1e6 / per['disk']['eps'] - 1e6 / per['tmpfs']['eps']
            rows[-2][-1] = f'{per["disk"]["cost_us"]:.1f} µs/event'
    say(f'(each run stops after {cap} s: a slower sink is measured on what it delivered '
        f'by then.)')
    say()
    table(['sink', 'state', 'events/s', 'delivered', 'veille-sub CPU/event',
           'x state on tmpfs', 'durable commit cost'], rows)


SUB_CAP_S = 15


def sub_run(b, sink, where, n, cap):
    base = b.shm if where == 'tmpfs' else b.tmp
    b.runs += 1
    d = os.path.join(base, f'sub{b.runs}')
    os.makedirs(d, exist_ok=True)
    bp, pub, subep, rep = b.start_veille('none')
    procs = [bp]
    try:
        recv_port = None
        if sink == 'log':
            out = os.path.join(b.tmp, f'sink{b.runs}.log')
            sink_conf = f'{{ name = "log"; type = "log"; file = "{out}"; format = "json"; }}'
        else:
            hook = Nginx(b, None, template='nginx-hook.conf', name='nginx-hook')
            procs.append(hook.proc)
            recv_port = hook.port
            out = os.path.join(hook.dir, 'hook.log')
            sink_conf = (f'{{ name = "hook"; type = "webhook"; style = "json"; '
                         f'url = "http://127.0.0.1:{recv_port}/hook"; }}')
        conf = os.path.join(d, 'sub.conf')
        with open(conf, 'w') as fp:
            fp.write('sub = {\n'
                     f'  subscribe = "{subep}";\n'
                     f'  replay = "{rep}";\n'
                     f'  state = "{d}/state.db";\n'
                     f'  sinks = ( {sink_conf} );\n'
                     '};\n')
        sp = Proc([b.bin['sub'], '-c', conf, '--log-level', 'info'],
                  ready=r'veille-sub: ready', name='veille-sub', timeout=20)
        procs.append(sp)
        c0 = cpu_ns(sp.pid)
        t0 = time.monotonic()
        pr = run_driver([b.bin['driver'], '--mode', 'veille', '--pub', pub, '--subs', '0',
                         '--count', str(n), '--size', '512', '--seeds', SEEDS,
                         '--window', str(b.window)], 120)
        # wait for all of them, at most SUB_CAP_S (a slow sink is measured on what
        # it delivered by then) or 10 s without progress
        deadline = t0 + cap
        last, last_change = -1, time.monotonic()
        while True:
            got = count_lines(out)
            now = time.monotonic()
            if got >= n:
                break
            if got != last:
                last, last_change = got, now
            if now - last_change > 10 or now > deadline:
                break
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        c1 = cpu_ns(sp.pid)
        return {'sink': sink, 'state': where, 'delivered': got, 'events': n,
                'cpu_us_per_event': (c1 - c0) / 1e3 / got if got and c0 is not None
                and c1 is not None else None,
                'eps': got / elapsed if elapsed > 0 else 0, 'elapsed': elapsed,
                'publish_eps': pr['eps'] if pr else None}
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- profile

def section_profile(b):
    """perf record of the broker during one 512 B 1->1 run per fsync policy."""
    if not shutil.which('perf') or not b.have('broker'):
        return
    say('## Profile (perf record -g of veille-broker, 512 B 1->1, full speed)')
    say()
    for fsync in ('batch', 'none'):
        log(f'profile: broker fsync {fsync}')
        p, pub, sub, _ = b.start_veille(fsync)
        data = os.path.join(b.tmp, f'perf-{fsync}.data')
        try:
            perf = subprocess.Popen(['perf', 'record', '-g', '-o', data, '-p', str(p.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
            r = run_driver([b.bin['driver'], '--mode', 'veille', '--pub', pub, '--sub', sub,
                            '--size', '512', '--duration', '2', '--seeds', SEEDS,
                            '--window', str(b.window), '--hwm', str(b.hwm)], 60)
            perf.send_signal(signal.SIGINT)
            perf.wait(30)
        finally:
            p.stop()
            shutil.rmtree(p.dir, ignore_errors=True)
        rep = subprocess.run(['perf', 'report', '-i', data, '--stdio', '--no-children',
                              '--sort', 'dso,sym', '-g', 'none', '--percent-limit', '1.5'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines = [ln for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith('#')]
        say(f'fsync {fsync}: {fnum(r["eps"]) if r else "n/a"} events/s during the profile; '
            'self time by symbol (>= 1.5 %), all threads (main loop and the ZeroMQ I/O '
            'thread). `[k] pvm_irq_enable` is the kernel re-enabling interrupts under '
            'the hypervisor: time of the VM, not of the broker.')
        say()
        say('```')
        for ln in lines[:25]:
            say(ln.rstrip())
        say('```')
        say()
        RESULTS['profile'].append({'fsync': fsync, 'top': lines[:25]})


# ---------------------------------------------------------------- pipeline

def section_pipeline(b):
    """The whole pipeline as deployed, and one box at scale (pipeline.py)."""
    pipeline.run(b, sys.modules[__name__])


# ---------------------------------------------------------------- targets

def section_targets():
    def find(sec, **kw):
        for r in RESULTS[sec]:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    rows = []

    def check(name, value, ok, text):
        rows.append([name, text, 'n/a' if value is None else ('met' if ok else 'NOT met')])

    c = '512B 1->1'
    vb = find('broker', case=c, system='veille batch')
    zp = find('broker', case=c, system='zmq proxy')
    mq1 = find('broker', case=c, system='mosquitto q1')
    vt = find('broker', case=c, system='veille tmpfs')
    vn = find('broker', case=c, system='veille none')
    if vb:
        bound = ''
        if vb.get('cpu_us_per_event') and vb.get('client_cpu_us'):
            cpu = vb['cpu_us_per_event'] + vb['client_cpu_us']
            bound = (f'; bound here: broker and load generator share 2 cores, 2 s / '
                     f'({vb["cpu_us_per_event"]:.1f} + {vb["client_cpu_us"]:.1f} µs CPU per '
                     f'event) = {fnum(2e6 / cpu)}/s')
        check('journaled+acked 512 B 1->1 >= 300k events/s', vb['eps'], vb['eps'] >= 300000,
              f'{fnum(vb["eps"])}/s (fsync batch){bound}')
    def gen_cpu(r, peer):
        """The load generators' CPU per event: on 2 cores it is taken from the server."""
        if not (r.get('client_cpu_us') and peer.get('client_cpu_us')):
            return ''
        return (f'; load generator CPU per event: {r["client_cpu_us"]:.1f} µs (veille client: '
                f'live + id window) vs {peer["client_cpu_us"]:.1f} µs ({peer["system"]})')
    if vb and zp:
        x = vb['eps'] / zp['eps']
        check('... >= 0.45x the raw proxy', x, x >= 0.45, f'{x:.2f}x{gen_cpu(vb, zp)}')
    if vb and mq1:
        x = vb['eps'] / mq1['eps']
        check('... >= 5x mosquitto QoS 1', x, x >= 5, f'{x:.2f}x{gen_cpu(vb, mq1)}')
    off = vt or vn
    if off and zp:
        x = off['eps'] / zp['eps']
        bound = ''
        if off.get('cpu_us_per_event') and zp.get('cpu_us_per_event'):
            bound = (f'; bound: CPU per event, broker {off["cpu_us_per_event"]:.1f} µs vs proxy '
                     f'{zp["cpu_us_per_event"]:.1f} µs (strict decode, dedup, journal copy + CRC, '
                     f'acks: the proxy forwards bytes), on 2 cores shared with the load generator')
        check('journal off >= 0.9x the raw proxy', x, x >= 0.9,
              f'{x:.2f}x ({off["system"]}){bound}')
    def lat99(system):
        r = [x for x in RESULTS['latency'] if x.get('system') == system and x.get('rate') == 10000]
        return r[0].get('lat_p99_us') if r else None
    li, ln, lb = lat99('veille interval'), lat99('veille none'), lat99('veille batch')
    lz = lat99('zmq proxy')
    floor = f'; the raw proxy itself: {fus(lz)}' if lz is not None else ''
    disk = RESULTS.get('disk') or {}
    if ln is not None:
        check('p99 <= 1 ms at 10k events/s (journal written, no fsync)', ln, ln <= 1000,
              f'{fus(ln)} (fsync none){floor}')
    if li is not None:
        check('p99 <= 1 ms at 10k events/s (acked before the fsync)', li, li <= 1000,
              f'{fus(li)} (fsync interval){floor}')
    if lb is not None:
        bound = (f'; floor: the rest of an fdatasync in progress + one more on this disk, '
                 f'p99 {fus(disk["wait2_p99_us"])} (one fdatasync: p99 {fus(disk["p99_us"])})'
                 if disk.get('wait2_p99_us') else '')
        check('p99 <= 1 ms at 10k events/s (acked after the fsync)', lb, lb <= 1000,
              f'{fus(lb)} (fsync batch){bound}')
    w1 = find('watcher', system='veille', feeds=1000, **{'pass': 'cold'})
    u1 = find('watcher', system='urlwatch', feeds=1000, **{'pass': 'cold'})
    def cpu_floor(w):
        """(veille-watch + broker + nginx CPU) / 2 cores: no pass is shorter."""
        if not w.get('others_cpu'):
            return ''
        return (f'; bound: CPU on 2 cores, (veille-watch {w["cpu"]:.2f} + broker and nginx '
                f'{w["others_cpu"]:.2f} s) / 2 = {(w["cpu"] + w["others_cpu"]) / 2:.2f} s')
    if w1:
        check('1,000 feeds cold <= 0.4 s', w1['wall'], w1['wall'] <= 0.4,
              f'{w1["wall"]:.2f} s{cpu_floor(w1)}')
    if w1 and u1:
        x = u1['wall'] / w1['wall']
        check('... >= 5x faster than urlwatch', x, x >= 5, f'{x:.1f}x')
    w2 = find('watcher', system='veille', feeds=1000, **{'pass': 'unchanged'})
    if w2:
        check('1,000 feeds unchanged <= 0.15 s', w2['wall'], w2['wall'] <= 0.15,
              f'{w2["wall"]:.2f} s')
    w3 = find('watcher', system='veille', feeds=10000, **{'pass': 'cold'})
    if w3:
        check('10,000 feeds cold <= 4 s', w3['wall'], w3['wall'] <= 4 and not w3.get('timeout'),
              f'> {w3["wall"]:.0f} s (stopped)' if w3.get('timeout')
              else f'{w3["wall"]:.2f} s{cpu_floor(w3)}')
        rss = [r['rss'] for r in RESULTS['watcher']
               if r['system'] == 'veille' and r['feeds'] == 10000 and not r.get('timeout')]
        peak = max(rss) if rss else None
        check('peak RSS <= 64 MiB at 10,000 feeds', peak, peak is not None and peak <= 64 * 1024,
              f'{peak / 1024:.1f} MiB' if peak is not None else 'n/a (no complete pass)')
    if rows:
        say('## Targets (issue #7)')
        say()
        table(['target', 'measured', 'verdict'], rows)


# ---------------------------------------------------------------- report

def machine():
    cpu = 'unknown'
    try:
        with open('/proc/cpuinfo') as fp:
            for line in fp:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    try:
        commit = subprocess.run(['git', '-C', SRC, 'rev-parse', '--short', 'HEAD'],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', SRC, 'status', '--porcelain', '--untracked-files=no'],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True).stdout.strip()
        if dirty:
            commit += ' (with uncommitted changes)'
    except OSError:
        commit = 'unknown'

    def ver(argv, rx=r'(\d+\.\d+[\.\d]*)'):
        try:
            cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            m = re.search(rx, cp.stdout)
            return m.group(1) if m else '?'
        except OSError:
            return 'absent'
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'host': f'{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} '
                f'{platform.release()}',
        'commit': commit,
        'peers': f'libzmq {ver(["pkg-config", "--modversion", "libzmq"])}, mosquitto '
                 f'{ver(["mosquitto", "-h"])}, nginx {ver(["nginx", "-v"])}, urlwatch '
                 f'{ver(["urlwatch", "--version"])}',
    }


def plot(b, path):
    rows = [r for r in RESULTS['broker'] if r['case'] == '512B 1->1']
    # the pipeline section's CPU and RSS over its run: a second row of panels
    pipe = pipeline.plot_script(b, sys.modules[__name__])
    if not (rows or pipe) or not shutil.which('gnuplot'):
        return False
    nrows = (1 if rows else 0) + (1 if pipe else 0)
    script = (f'set terminal pngcairo size 900,{420 * nrows} noenhanced font ",10"\n'
              f'set output "{path}"\n'
              f'set multiplot layout {nrows},2\n')
    if rows:
        script += broker_plot(b, rows)
    script += pipe + 'unset multiplot\n'
    cp = subprocess.run(['gnuplot'], input=script, text=True, stderr=subprocess.PIPE)
    if cp.returncode != 0:
        script = script.replace('pngcairo', 'png')
        cp = subprocess.run(['gnuplot'], input=script, text=True, stderr=subprocess.PIPE)
    return cp.returncode == 0 and os.path.exists(path)


def broker_plot(b, rows):
    """gnuplot commands of the broker panels: events/s, p99 latency."""
    dat = os.path.join(b.tmp, 'plot.dat')
    with open(dat, 'w') as fp:
        for r in rows:
            fp.write(f'"{r["system"]}" {r["eps"]:.0f}\n')
    lat = [r for r in RESULTS['latency'] if r.get('lat_p99_us')]
    script = ('set title "events/s, 512 B, 1 -> 1"\nset style fill solid 0.6\n'
              'set boxwidth 0.6\nset yrange [0:*]\nset xtics rotate by -30\nunset key\n'
              f'plot "{dat}" using 0:2:xtic(1) with boxes\n')
    if lat:
        ldat = os.path.join(b.tmp, 'lat.dat')
        systems = sorted({r['system'] for r in lat}, key=list(SYSTEMS).index)
        with open(ldat, 'w') as fp:
            for s in systems:
                fp.write(f'# {s}\n')
                for r in lat:
                    if r['system'] == s:
                        fp.write(f'{r["rate"]:.0f} {r["lat_p99_us"] / 1000:.3f}\n')
                fp.write('\n\n')
        script += ('set title "p99 publish -> subscriber (ms), 512 B"\nset logscale xy\n'
                   'set xtics norotate\nset key top left\nset xlabel "events/s"\n'
                   'plot ' + ', '.join(f'"{ldat}" index {i} using 1:2 with linespoints title "{s}"'
                                       for i, s in enumerate(systems)) + '\n')
    else:
        script += 'set multiplot next\n'
    return script


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ('-h', '--help'):
        print(__doc__)
        return 0 if len(sys.argv) >= 2 else 2
    build = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else 'quick'
    if mode not in ('quick', 'full'):
        print('mode: quick or full', file=sys.stderr)
        return 2
    sections = os.environ.get('BENCH_SECTIONS',
                              'watcher,broker,subscriber,profile,pipeline').split(',')
    b = Bench(build, mode)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t_start = time.monotonic()
    m = machine()
    say(f'# veille benchmark ({mode})')
    say()
    say(f'- date: {m["date"]}')
    say(f'- machine: {m["host"]}')
    say(f'- commit: {m["commit"]}')
    say(f'- peers: {m["peers"]}')
    say()
    say('Every figure comes from this one run; ratios compare systems measured minutes '
        'apart on the same machine. On a 2-core machine shared with other work, absolute '
        'numbers move by tens of percent between runs; the ratios move less.')
    say()
    try:
        # the watcher first: right after the broker section (tens of journals
        # written and deleted) its 1,000-feed cold pass took 1.2 s instead of
        # 0.5-0.7 s on this machine
        for name, fn in (('watcher', section_watcher), ('broker', section_broker),
                         ('subscriber', section_subscriber), ('profile', section_profile),
                         ('pipeline', section_pipeline)):
            if name not in sections or (name == 'profile' and not b.full):
                continue
            try:
                fn(b)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                # one broken section (a binary that does not start...) must not
                # hide the others
                say(f'**{name} section stopped**: {str(e).splitlines()[0] if str(e) else e!r}')
                say()
                log(str(e))
                stop_all()
        section_targets()
        png = os.path.join(HERE, 'results.png')
        if b.full and plot(b, png):
            say('![events/s and p99 latency; pipeline CPU and RSS over its run](results.png)')
            say()
        say(f'Total bench time: {time.monotonic() - t_start:.0f} s.')
        with open(os.path.join(HERE, 'results.md'), 'w') as fp:
            fp.write('\n'.join(OUT) + '\n')
            fp.write('\n<details><summary>raw results (JSON)</summary>\n\n```json\n')
            fp.write(json.dumps(RESULTS, indent=1, default=str))
            fp.write('\n```\n</details>\n')
        log(f'bench: wrote {os.path.join(HERE, "results.md")}')
    finally:
        b.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
