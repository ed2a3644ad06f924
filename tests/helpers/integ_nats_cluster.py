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

    def start(self, timeout=60):
        for n in self.nodes:
            self.start_node(n)
        self.wait_healthy(timeout)
        return self

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
