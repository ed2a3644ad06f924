"""integ_nats_cluster: a real 3-node nats-server cluster with JetStream on
loopback (tests 90-94): one config file per node (client, monitoring and
cluster ports from free_port, store dirs in the test's temp dir), optional
users with permissions, readiness by the monitoring endpoint (/healthz),
kill -9 and restart of a node on the same ports and store, and the stream
leader read from /jsz. Every server started is killed at exit."""
import json
import os
import shutil
import signal
import subprocess
import time

from integ_nats import http_json
from procs import PROCS as _PROCS, free_port


class Node:
    def __init__(self, cluster, i):
        self.name = "n%d" % (i + 1)
        self.port, self.mport, self.cport = free_port(), free_port(), free_port()
        self.store = os.path.join(cluster.dir, "nats-" + self.name)
        self.conf = os.path.join(cluster.dir, "nats-%s.conf" % self.name)
        self.log = os.path.join(cluster.dir, "nats-%s.log" % self.name)
        self.proc = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def healthy(self):
        try:
            return http_json("http://127.0.0.1:%d/healthz" % self.mport, timeout=1) \
                .get("status") == "ok"
        except OSError:
            return False

    def tail_log(self):
        try:
            return open(self.log).read()[-3000:]
        except OSError:
            return ""


class Cluster:
    """Three nodes named n1..n3; USERS is a libconfig-like `authorization`
    body for nats-server (None = no auth)."""

    def __init__(self, workdir, users=None, size=3):
        self.dir = workdir
        self.bin = shutil.which("nats-server") or "/usr/bin/nats-server"
        self.users = users
        self.nodes = [Node(self, i) for i in range(size)]
        for n in self.nodes:
            self._write_conf(n)

    @property
    def servers(self):
        return ",".join(n.url for n in self.nodes)

    def _write_conf(self, n):
        routes = ", ".join('"nats-route://127.0.0.1:%d"' % o.cport for o in self.nodes if o is not n)
        auth = ("authorization {\n%s\n}\n" % self.users) if self.users else ""
        with open(n.conf, "w") as f:
            f.write('server_name: %s\nlisten: "127.0.0.1:%d"\nhttp: "127.0.0.1:%d"\n'
                    'max_payload: 2097152\n'
                    'jetstream { store_dir: "%s" }\n'
                    'cluster { name: "veille"\n listen: "127.0.0.1:%d"\n routes: [%s] }\n%s'
                    % (n.name, n.port, n.mport, n.store, n.cport, routes, auth))

    def start_node(self, n):
        logf = open(n.log, "a")
        n.proc = subprocess.Popen([self.bin, "-c", n.conf], stdin=subprocess.DEVNULL,
                                  stdout=logf, stderr=logf)
        logf.close()
        _PROCS.append(n.proc)

    def start(self, timeout=60, tries=3):
        """Starts every node; when a port picked by free_port was taken by
        another process meanwhile (tests run in parallel), starts again on
        new ports, TRIES times at most."""
        for attempt in range(tries):
            for n in self.nodes:
                self.start_node(n)
            try:
                self.wait_healthy(timeout)
                return self
            except AssertionError:
                if attempt == tries - 1 or not any("address already in use" in n.tail_log()
                                                   for n in self.nodes):
                    raise
            self._restart_on_new_ports()
        return self

    def _restart_on_new_ports(self):
        for n in self.nodes:
            if n.proc.poll() is None:
                n.proc.kill()
            n.proc.wait(30)
            n.port, n.mport, n.cport = free_port(), free_port(), free_port()
            shutil.rmtree(n.store, ignore_errors=True)
            open(n.log, "w").close()
        for n in self.nodes:
            self._write_conf(n)

    def wait_healthy(self, timeout=60, nodes=None):
        """Every node (or NODES) answers /healthz ok: JetStream up and the
        meta group current."""
        deadline = time.time() + timeout
        for n in nodes or self.nodes:
            while not n.healthy():
                assert n.proc.poll() is None, "%s exited:\n%s" % (n.name, n.tail_log())
                assert time.time() < deadline, "%s not healthy:\n%s" % (n.name, n.tail_log())
                time.sleep(0.1)

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def kill9(self, n):
        n.proc.send_signal(signal.SIGKILL)
        n.proc.wait(30)

    def stream_info(self, stream):
        """(leader name, state dict) of STREAM as a live node's /jsz tells,
        or (None, None)."""
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            try:
                j = http_json("http://127.0.0.1:%d/jsz?streams=true" % n.mport, timeout=2)
            except OSError:
                continue
            for acc in j.get("account_details") or []:
                for st in acc.get("stream_detail") or []:
                    if st.get("name") == stream:
                        return (st.get("cluster") or {}).get("leader"), st.get("state")
        return None, None

    def wait_stream(self, stream, timeout=60):
        """The stream exists and has a leader: returns the leader node."""
        deadline = time.time() + timeout
        while True:
            leader, _ = self.stream_info(stream)
            if leader:
                return self.node(leader)
            assert time.time() < deadline, "stream %s has no leader" % stream
            time.sleep(0.1)


def dump(obj):
    return json.dumps(obj, indent=1)


class Flow:
    """The pipeline of tests 90-94 over a Cluster: feeds (SOURCES) served
    by the fixture server of watch_harness.Harness H, growing by PER_ROUND
    items a round; veille-watch and veille-sub configured with
    backbone = "nats"; log sinks (json) whose files are read back."""

    def __init__(self, h, cluster, sources=("a", "b"), per_round=100, sinks=("one", "two"),
                 nats_extra=""):
        self.h, self.cluster = h, cluster
        self.sources, self.per_round = sources, per_round
        self.items = {s: [] for s in sources}
        self.rounds = 0
        self.group = ('{ servers = "%s"; stream = "VEILLE"; replicas = 3; timeout_ms = 2000; %s}'
                      % (cluster.servers, nats_extra))
        self.outs = {n: os.path.join(h.dir, "sink-%s.jsonl" % n) for n in sinks}
        self.sub_conf = os.path.join(h.dir, "sub.conf")

    @property
    def expected(self):
        return self.rounds * self.per_round * len(self.sources)

    def titles(self):
        return {t for s in self.sources for _, t, _ in self.items[s]}

    def grow(self):
        from watch_harness import rss
        rnd = self.rounds
        self.rounds += 1
        for s in self.sources:
            for i in range(self.per_round):
                k = rnd * self.per_round + i
                self.items[s].append(("%s-%d" % (s, k), "item %s %d" % (s, k), "body %s" % k))
            path = os.path.join(self.h.www, s + ".xml")
            with open(path + ".tmp", "w") as f:
                f.write(rss(list(reversed(self.items[s])), title=s))
            os.replace(path + ".tmp", path)

    def hits(self):
        return {s: int(self.h.ctl("hits?path=/%s.xml" % s).strip() or 0) for s in self.sources}

    def write_watch_conf(self, **opts):
        conf = self.h.write_watch_conf([{"id": s, "topic": "feed." + s,
                                         "url": self.h.url("/%s.xml" % s), "interval": 1}
                                        for s in self.sources], jitter_percent=0, **opts)
        text = open(conf).read().replace("watch = {", 'watch = {\n  backbone = "nats";\n'
                                         '  nats = %s;' % self.group, 1)
        with open(conf, "w") as f:
            f.write(text)
        return conf

    def write_sub_conf(self):
        sinks = ",\n".join('    { name = "%s"; type = "log"; format = "json"; file = "%s"; '
                           'start = "all"; topics = ["%s"]; }'
                           % (n, p, "" if i == 0 else "feed.")
                           for i, (n, p) in enumerate(self.outs.items()))
        with open(self.sub_conf, "w") as f:
            f.write('sub = {\n  backbone = "nats";\n  nats = %s;\n  state = "%s";\n'
                    '  sinks = (\n%s\n  );\n};\n'
                    % (self.group, os.path.join(self.h.dir, "sub.db"), sinks))
        return self.sub_conf

    def lines(self, sink):
        try:
            with open(self.outs[sink]) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def stream_msgs(self):
        return (self.cluster.stream_info("VEILLE")[1] or {}).get("messages", 0)
