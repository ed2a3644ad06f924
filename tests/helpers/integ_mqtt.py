"""integ_mqtt: a real mosquitto on loopback (generated config, temp dir)
and mosquitto_sub readers for the tests of the mqtt sink. Every process
started is killed at exit."""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from integ_nats import free_port

from procs import PROCS as _PROCS  # noqa: E402 (killed at exit)


class Mosquitto:
    """mosquitto listening on 127.0.0.1:PORT, anonymous, persistence in WORKDIR."""

    def __init__(self, workdir):
        self.bin = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.port = free_port()
        self.conf = os.path.join(workdir, "mosquitto.conf")
        self.log = os.path.join(workdir, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "persistence_location %s/\nlog_dest stderr\n" % (self.port, workdir))
        self.proc = None

    def start(self, timeout=30):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([self.bin, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf)
        logf.close()
        _PROCS.append(self.proc)
        deadline = time.time() + timeout
        while True:
            assert self.proc.poll() is None, "mosquitto exited:\n" + open(self.log).read()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                pass
            assert time.time() < deadline, "mosquitto not ready"
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


class MqttReader:
    """mosquitto_sub -v on TOPIC at QoS 1; collects (topic, payload) lines.
    With CLIENT_ID, a persistent session (it gets what was published while
    it was reconnecting)."""

    def __init__(self, port, topic, client_id=None, extra=()):
        argv = ["stdbuf", "-oL",       # line-buffered output through the pipe
                shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub", "-h", "127.0.0.1",
                "-p", str(port), "-t", topic, "-q", "1", "-v", "-d"]
        if client_id:
            argv += ["-c", "-i", client_id]
        self.proc = subprocess.Popen(argv + list(extra), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _PROCS.append(self.proc)
        self.msgs = []
        self.debug = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                if line.startswith("Client ") or line.startswith("Subscribed"):
                    self.debug.append(line)
                else:
                    topic, _, payload = line.partition(" ")
                    self.msgs.append((topic, payload))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait(self, pred, timeout=60, what="condition"):
        deadline = time.time() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.time()
                assert left > 0, "timeout waiting for %s; got %d messages; debug tail:\n%s" % (
                    what, len(self.msgs), "\n".join(self.debug[-10:]))
                self.cond.wait(min(left, 0.5))

    def wait_subscribed(self, count=1, timeout=30):
        self.wait(lambda r: sum("SUBACK" in l for l in r.debug) >= count, timeout, "SUBACK")

    def stop(self):
        """Ends the reader. mosquitto_sub 2.0.11 sometimes ignores SIGTERM
        once -C has its count (seen in CI: still running 30 s later): what
        it printed is all read by then, so it is killed after 5 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
