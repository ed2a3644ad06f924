"""integ_nats: a real nats-server with JetStream on loopback for the tests
of the nats sink, plus just enough of the NATS client protocol (raw socket)
to read a stream back message by message ($JS.API.STREAM.MSG.GET).
There is no Python NATS client on the machine; this needs none.
Every server started is killed at exit."""
import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

from procs import PROCS as _PROCS  # noqa: E402 (killed at exit)


from procs import free_port  # noqa: E402,F401


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


class NatsServer:
    """nats-server -js on 127.0.0.1 with a store dir in WORKDIR; the same
    ports and store across restarts."""

    def __init__(self, workdir):
        self.bin = shutil.which("nats-server") or "/usr/bin/nats-server"
        self.store = os.path.join(workdir, "nats-store")
        self.log = os.path.join(workdir, "nats.log")
        self.port = free_port()
        self.mport = free_port()
        self.proc = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self, timeout=30):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([self.bin, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                                      "-m", str(self.mport), "-sd", self.store],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        _PROCS.append(self.proc)
        deadline = time.time() + timeout
        while True:
            assert self.proc.poll() is None, "nats-server exited:\n" + open(self.log).read()[-2000:]
            try:
                if http_json("http://127.0.0.1:%d/healthz?js-enabled-only=true" % self.mport,
                             timeout=1).get("status") == "ok":
                    return self
            except OSError:
                pass
            assert time.time() < deadline, "nats-server not ready:\n" + open(self.log).read()[-2000:]
            time.sleep(0.05)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def stream_state(self, name):
        """The stream's state from the monitoring endpoint (/jsz), or None."""
        j = http_json("http://127.0.0.1:%d/jsz?streams=true" % self.mport)
        for acc in j.get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                if st.get("name") == name:
                    return st.get("state")
        return None

    def stream_msgs(self, name):
        try:
            st = self.stream_state(name)
        except OSError:
            return -1
        return st.get("messages", 0) if st else 0


class NatsClient:
    """A minimal NATS protocol client: request/reply only."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        info = self._line()
        assert info.startswith(b"INFO "), info
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,'
                          b'"no_responders":true,"protocol":1}\r\nSUB _INBOX.integ 1\r\nPING\r\n')
        while self._line() != b"PONG":
            pass
        self.sid = 1

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("NATS server closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload):
        self.sock.sendall(b"PUB %s _INBOX.integ %d\r\n%s\r\n"
                          % (subject.encode(), len(payload), payload))
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                n = int(line.split()[-1])
                return self._take(n)
            elif line.startswith(b"HMSG "):
                parts = line.split()
                total = int(parts[-1])
                data = self._take(total)
                return data[int(parts[-2]):]
            elif line.startswith(b"-ERR"):
                raise ConnectionError(line.decode())

    def stream_msg(self, stream, seq):
        """Returns (subject, headers bytes, data bytes) of message SEQ."""
        r = json.loads(self.request("$JS.API.STREAM.MSG.GET." + stream,
                                    json.dumps({"seq": seq}).encode()))
        if "error" in r:
            raise KeyError("seq %d: %s" % (seq, r["error"]))
        m = r["message"]
        hdrs = base64.b64decode(m["hdrs"]) if m.get("hdrs") else b""
        return m["subject"], hdrs, base64.b64decode(m.get("data") or "")

    def close(self):
        self.sock.close()
