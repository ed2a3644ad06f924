"""client_procs: run the `veille` CLI (tail, pub, stats) against a broker
started with broker_harness, for the client integration tests
(tests/integration/2x-*.py). Every process is killed at exit."""
import atexit
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time

from broker_harness import Broker, workdir  # noqa: F401  (re-exported)

from procs import PROCS as _PROCS  # noqa: E402 (killed at exit)


def veille_bin():
    return os.path.join(os.environ.get("VEILLE_BIN", "build"), "tools", "veille")



class Proc:
    """A child process whose stdout lines and stderr lines are collected by
    reader threads (so a full pipe never blocks it)."""

    def __init__(self, argv, stdin=subprocess.DEVNULL):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        _PROCS.append(self.proc)
        self.out = queue.Queue()
        self.err_lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self):
        for raw in self.proc.stdout:
            self.out.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.out.put(None)

    def _read_err(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.err_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def stderr_text(self):
        with self.cond:
            return "\n".join(self.err_lines)

    def wait_stderr(self, pattern, timeout=30):
        """Waits for a stderr line matching PATTERN; returns the match."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for line in self.err_lines:
                    m = rx.search(line)
                    if m:
                        return m
                if self.proc.poll() is not None:
                    self.cond.wait(0.3)
                    for line in self.err_lines:
                        m = rx.search(line)
                        if m:
                            return m
                    raise AssertionError("%s exited (%s) before %r; stderr:\n%s"
                                         % (self.argv[1], self.proc.returncode, pattern,
                                            "\n".join(self.err_lines[-20:])))
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timeout waiting for %r; stderr:\n%s"
                                         % (pattern, "\n".join(self.err_lines[-20:])))
                self.cond.wait(min(left, 0.5))

    def read_lines(self, n, timeout=60):
        """Returns the next N stdout lines (fails on timeout or EOF)."""
        lines = []
        deadline = time.time() + timeout
        while len(lines) < n:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("timeout: %d/%d lines; stderr:\n%s"
                                     % (len(lines), n, self.stderr_text()))
            try:
                line = self.out.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("EOF after %d/%d lines (exit %s); stderr:\n%s"
                                     % (len(lines), n, self.proc.poll(), self.stderr_text()))
            lines.append(line)
        return lines

    def wait(self, timeout=60):
        return self.proc.wait(timeout)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def tail(broker, prefixes, *args):
    """Starts `veille tail` on BROKER and waits until it is subscribed."""
    p = Proc([veille_bin(), "tail", "-s", broker.subscribe, "-r", broker.replay]
             + list(args) + list(prefixes))
    p.wait_stderr(r"^veille tail: subscribed")
    return p


def event_lines(n, start=0, topic="un.test", salt="e"):
    """N JSON lines for `veille pub --stdin`; titles are unique: "<salt> <i>"."""
    return ["{\"topic\":\"%s\",\"title\":\"%s %d\",\"url\":\"https://example.org/%s/%d\","
            "\"tags\":[\"t%d\"]}" % (topic, salt, i, salt, i, i % 7)
            for i in range(start, start + n)]


def pub_stdin(broker, lines, *args, timeout=300):
    """Runs `veille pub --stdin` with LINES; returns (exit code, stderr)."""
    p = subprocess.Popen([veille_bin(), "pub", "-p", broker.publish, "--stdin"] + list(args),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _PROCS.append(p)
    _, err = p.communicate(("\n".join(lines) + "\n").encode(), timeout=timeout)
    return p.returncode, err.decode("utf-8", "replace")


def parse_json_lines(lines):
    return [json.loads(line) for line in lines]


def check_unique_increasing(events, what):
    """Asserts seqs strictly increase (hence no duplicate)."""
    seqs = [e["seq"] for e in events]
    for a, b in zip(seqs, seqs[1:]):
        assert b > a, "%s: seq %d after %d" % (what, b, a)
