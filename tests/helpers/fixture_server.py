#!/usr/bin/env python3
"""fixture_server.py: loopback HTTP server for veille tests, demo and bench.

Serves files from a directory (default: tests/fixtures) and a set of fault
routes. Binds 127.0.0.1 on an ephemeral port (or --port) and prints
`READY port=N` on stdout once it accepts connections.

Routes
  /PATH                     a file under the root, with ETag and Last-Modified;
                            If-None-Match / If-Modified-Since -> 304
  /gzip/PATH                the same file, Content-Encoding: gzip
  /redirect?to=URL          302 to URL (any scheme: file://, gopher://...)
  /redirect-chain/N?to=PATH N redirects, then to /PATH
  /status/CODE              an empty answer with that status (500, 404...)
  /slow?delay=S&path=PATH   waits S seconds, then serves PATH (or a tiny body)
  /trickle?bytes=N&rate=R   sends N bytes at R bytes per second
  /reset                    closes the connection without an answer (RST)
  /huge?bytes=N[&chunked=1] N bytes generated on the fly
  /bomb?mb=N                gzip of N MiB of zeros (a decompression bomb)
  /endless                  chunked body that never ends
  /feed?n=N[&tag=T][&edit=E] an RSS 2.0 feed of N generated items; items
                            whose number is in E (comma list) get an edited body
  /echo                     the request headers, as text (one per line)
  /noisy                    a press page whose clock (p.stamp) and visit counter
                            (#visits) change on every request, its news not
  /_ctl/status?path=/P&code=C  force status C for /P (0 clears)
  /_ctl/hits?path=/P        number of requests seen for /P (text)
  /_ctl/concurrency?target=T  most requests for target T (path?query) in progress at once
  /_ctl/arrivals?path=/P    arrival times of requests for /P (monotonic s, one a line)
  /_ctl/reset               clears overrides and counters

Use from Python tests: `with FixtureServer(root) as fs: fs.url("/a.xml")`,
or in-process (demo/demo.py): `Server(("127.0.0.1", 0), State(root), False)`;
State.lock and State.hits (requests per path) are part of that interface.
"""
import argparse
import email.utils
import gzip
import hashlib
import mimetypes
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


class State:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.lock = threading.Lock()
        self.overrides = {}
        self.hits = {}
        self.arrivals = {}
        self.active = {}
        self.max_active = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "veille-fixture/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fixture: " + (fmt % args) + "\n")

    # ---- helpers ---------------------------------------------------------
    def send_body(self, code, body, ctype="text/plain; charset=utf-8", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def qs(self):
        return urllib.parse.parse_qs(self.parsed.query)

    def q(self, name, default=None):
        v = self.qs().get(name)
        return v[0] if v else default

    # ---- dispatch --------------------------------------------------------
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(self.parsed.path)
        st = self.server.state
        with st.lock:
            st.hits[path] = st.hits.get(path, 0) + 1
            forced = st.overrides.get(path, 0)
        if path.startswith("/_ctl/"):
            return self.control(path)
        with st.lock:
            st.arrivals.setdefault(path, []).append(time.monotonic())
            t = self.path
            st.active[t] = st.active.get(t, 0) + 1
            st.max_active[t] = max(st.max_active.get(t, 0), st.active[t])
        try:
            return self.route(path, forced)
        finally:
            with st.lock:
                st.active[t] -= 1

    def route(self, path, forced):
        if forced:
            return self.send_body(forced, b"forced status\n")
        routes = [
            ("/gzip/", self.r_gzip), ("/redirect-chain/", self.r_chain),
            ("/status/", self.r_status),
        ]
        for prefix, fn in routes:
            if path.startswith(prefix):
                return fn(path[len(prefix):])
        exact = {
            "/redirect": self.r_redirect, "/slow": self.r_slow, "/reset": self.r_reset,
            "/huge": self.r_huge, "/bomb": self.r_bomb, "/endless": self.r_endless,
            "/feed": self.r_feed, "/trickle": self.r_trickle, "/echo": self.r_echo,
            "/noisy": self.r_noisy,
        }
        if path in exact:
            return exact[path]()
        return self.r_file(path)

    def control(self, path):
        st = self.server.state
        if path == "/_ctl/status":
            code = int(self.q("code", "0"))
            with st.lock:
                if code:
                    st.overrides[self.q("path")] = code
                else:
                    st.overrides.pop(self.q("path"), None)
            return self.send_body(200, b"ok\n")
        if path == "/_ctl/hits":
            with st.lock:
                n = st.hits.get(self.q("path"), 0)
            return self.send_body(200, b"%d\n" % n)
        if path == "/_ctl/concurrency":
            with st.lock:
                n = st.max_active.get(self.q("target"), 0)
            return self.send_body(200, b"%d\n" % n)
        if path == "/_ctl/arrivals":
            with st.lock:
                times = list(st.arrivals.get(self.q("path"), []))
            return self.send_body(200, "".join("%.6f\n" % t for t in times).encode())
        if path == "/_ctl/reset":
            with st.lock:
                st.overrides.clear()
                st.hits.clear()
                st.arrivals.clear()
                st.max_active.clear()
            return self.send_body(200, b"ok\n")
        return self.send_body(404, b"no such control\n")

    # ---- files -----------------------------------------------------------
    def resolve(self, rel):
        root = self.server.state.root
        full = os.path.realpath(os.path.join(root, rel.lstrip("/")))
        if not (full == root or full.startswith(root + os.sep)) or not os.path.isfile(full):
            return None
        return full

    def r_file(self, path, encode_gzip=False):
        full = self.resolve(path)
        if not full:
            return self.send_body(404, b"not found\n")
        with open(full, "rb") as f:
            data = f.read()
        mtime = int(os.stat(full).st_mtime)
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        lastmod = email.utils.formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            fresh = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        elif ims is not None:
            try:
                fresh = email.utils.parsedate_to_datetime(ims).timestamp() >= mtime
            except (TypeError, ValueError):
                fresh = False
        validators = {"ETag": etag, "Last-Modified": lastmod}
        if fresh:
            self.send_response(304)
            for k, v in validators.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ctype = mimetypes.guess_type(full)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("xml") or ctype.endswith("json"):
            if "charset" not in ctype and self.q("charset"):
                ctype += "; charset=" + self.q("charset")
        if encode_gzip:
            data = gzip.compress(data)
            validators["Content-Encoding"] = "gzip"
        self.send_body(200, data, ctype, validators)

    def r_gzip(self, rest):
        return self.r_file("/" + rest, encode_gzip=True)

    # ---- redirects and statuses -------------------------------------------
    def r_redirect(self):
        self.send_body(302, b"", headers={"Location": self.q("to", "/")})

    def r_chain(self, rest):
        n = int(rest or "0")
        target = self.q("to", "/")
        loc = "/redirect-chain/%d?to=%s" % (n - 1, urllib.parse.quote(target)) if n > 1 else target
        self.send_body(302, b"", headers={"Location": loc})

    def r_status(self, rest):
        self.send_body(int(rest), b"status %s\n" % rest.encode())

    # ---- slow, broken, big ------------------------------------------------
    def r_slow(self):
        time.sleep(float(self.q("delay", "5")))
        if self.q("path"):
            return self.r_file(self.q("path"))
        self.send_body(200, b"slow\n")

    def r_trickle(self):
        n, rate = int(self.q("bytes", "1000")), max(1, int(self.q("rate", "10")))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        try:
            for _ in range(n):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1.0 / rate)
        except OSError:
            pass

    def r_reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def r_huge(self):
        n = int(self.q("bytes", str(50 * 1024 * 1024)))
        chunked = self.q("chunked") == "1"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        block = b"0123456789abcdef" * 4096
        try:
            while n > 0:
                part = block[:min(n, len(block))]
                if chunked:
                    self.send_chunk(part)
                else:
                    self.wfile.write(part)
                n -= len(part)
            if chunked:
                self.end_chunks()
        except OSError:
            self.close_connection = True

    def r_bomb(self):
        mb = int(self.q("mb", "1024"))
        body = self.server.bomb(mb)
        self.send_body(200, body, "text/html; charset=utf-8", {"Content-Encoding": "gzip"})

    def r_endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"endless " * 1024
        try:
            while True:
                self.send_chunk(block)
        except OSError:
            self.close_connection = True

    def r_echo(self):
        body = "".join("%s: %s\n" % (k, v) for k, v in self.headers.items())
        self.send_body(200, body.encode())

    def r_noisy(self):
        with self.server.state.lock:
            n = self.server.state.hits.get("/noisy", 0)
        body = ("<html><head><meta charset='utf-8'><title>Presse</title></head><body>"
                "<div id='main'><h1>Communiqués</h1><ul>"
                "<li><a href='/cp/1'>Plan contre la cybercriminalité</a></li>"
                "<li><a href='/cp/2'>Coopération internationale</a></li></ul>"
                "<p class='stamp'>Page générée à %s.%03d</p>"
                "<div class='outils'><span id='visits'>Visites : %d</span></div></div>"
                "</body></html>" % (time.strftime("%H:%M:%S"), n % 1000, 1000 + 7 * n))
        self.send_body(200, body.encode(), "text/html; charset=utf-8")

    # ---- generated feed ---------------------------------------------------
    def r_feed(self):
        n = int(self.q("n", "10"))
        tag = self.q("tag", "item")
        edits = set(int(x) for x in self.q("edit", "").split(",") if x)
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
                 "<title>generated %s</title><link>http://127.0.0.1/</link>" % tag]
        for i in range(n):
            body = "Body of %s number %d." % (tag, i)
            if i in edits:
                body += " Edited."
            parts.append("<item><guid>%s-%d</guid><title>%s %d</title>"
                         "<link>http://127.0.0.1/%s/%d</link><description>%s</description>"
                         "</item>" % (tag, i, tag, i, tag, i, body))
        parts.append("</channel></rss>\n")
        self.send_body(200, "".join(parts).encode(), "application/rss+xml; charset=utf-8")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, verbose):
        super().__init__(addr, Handler)
        self.state = state
        self.verbose = verbose
        self._bombs = {}
        self._bomb_lock = threading.Lock()

    def handle_error(self, request, client_address):
        # Clients hanging up (size caps, timeouts, /reset) are expected.
        if self.verbose:
            super().handle_error(request, client_address)

    def bomb(self, mb):
        with self._bomb_lock:
            if mb not in self._bombs:
                c = zlib.compressobj(9, zlib.DEFLATED, 31)
                zeros = b"\0" * (1024 * 1024)
                out = [c.compress(zeros) for _ in range(mb)]
                out.append(c.flush())
                self._bombs[mb] = b"".join(out)
            return self._bombs[mb]


def main():
    ap = argparse.ArgumentParser(description="veille loopback fixture HTTP server")
    ap.add_argument("--root", default=DEFAULT_ROOT, help="directory served (default tests/fixtures)")
    ap.add_argument("--port", type=int, default=0, help="port (default: ephemeral)")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), State(args.root), args.verbose)
    print("READY port=%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


class FixtureServer:
    """Runs fixture_server.py as a child process (context manager)."""

    def __init__(self, root=DEFAULT_ROOT, verbose=False):
        cmd = [sys.executable, os.path.abspath(__file__), "--root", root]
        if verbose:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY port="):
            self.proc.kill()
            raise RuntimeError("fixture server did not start: %r" % line)
        self.port = int(line.split("=", 1)[1])

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path):
        import urllib.request
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return r.read().decode()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    main()
