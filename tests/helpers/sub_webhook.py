"""sub_webhook: a local HTTP receiver for the webhook sink tests. HTTP/1.1
with keep-alive; answers from a script of statuses (e.g. [500, 200]), 429
with Retry-After, or hangs (never answers) until released. Records every
request (method, path, headers, body, connection id, time). stop() closes
the port and every open connection (a client gets "connection refused"),
start() listens on the same port again."""
import http.server
import itertools
import json
import socket
import threading
import time

from procs import free_port  # noqa: E402

_conn_ids = itertools.count(1)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body are separate writes: without TCP_NODELAY, Nagle
        # plus the client's delayed ACK adds 40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = next(_conn_ids)
        with self.server.receiver.cond:
            self.server.receiver.conns.append(self.connection)

    def log_message(self, *args):
        pass

    def _handle(self):
        rx = self.server.receiver
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        status, extra = rx.next_answer()
        if status == "hang":
            rx.hang_event.wait()
            self.close_connection = True
            return
        rx.record(self.command, self.path, dict(self.headers), body, self.conn_id, status)
        payload = b'{"ok":true}' if status < 300 else b'{"error":"scripted"}'
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = _handle
    do_PUT = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Receiver:
    """script: list of answers consumed in order, then `default` forever.
    An answer is a status (int), (status, {headers}) or "hang"."""

    def __init__(self, script=(), default=200, port=0, up=True):
        self.script = list(script)
        self.default = default
        self.requests = []
        self.conns = []
        self.cond = threading.Condition()
        self.hang_event = threading.Event()
        self.server = None
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        if up:
            self.start()

    def start(self):
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.receiver = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Closes the port and every connection: clients are refused."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.cond:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def next_answer(self):
        with self.cond:
            a = self.script.pop(0) if self.script else self.default
        if a == "hang":
            return "hang", {}
        if isinstance(a, tuple):
            return a[0], a[1]
        return a, {}

    def set_default(self, answer):
        with self.cond:
            self.default = answer

    def release(self):
        self.hang_event.set()

    def record(self, method, path, headers, body, conn_id, status):
        with self.cond:
            self.requests.append({"method": method, "path": path, "headers": headers,
                                  "body": body, "conn": conn_id, "status": status,
                                  "time": time.time()})
            self.cond.notify_all()

    def delivered(self):
        """Requests answered 2xx."""
        with self.cond:
            return [r for r in self.requests if 200 <= r["status"] < 300]

    def wait(self, pred, timeout=60, what="requests"):
        with self.cond:
            ok = self.cond.wait_for(lambda: pred(self.requests), timeout)
            assert ok, "receiver: timeout waiting for %s (%d requests)" % (what, len(self.requests))
            return list(self.requests)

    def json_bodies(self):
        return [json.loads(r["body"]) for r in self.delivered()]

    def close(self):
        self.release()
        self.stop()
