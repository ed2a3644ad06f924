"""console_harness: run veille-console against a broker started with
broker_harness, fetch its pages over HTTP, and drive a headless Chromium
with Selenium (tests/integration/9x-console-*.py). Every process is killed
at exit (procs.PROCS)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from procs import PROCS as _PROCS, free_port

READY_RE = r"veille-console: ready (http://\S+/) alerts=(\d+)"


def console_bin():
    return os.path.join(os.environ.get("VEILLE_BIN", "build"), "console", "veille-console")


class Console:
    """One veille-console process; stderr collected by a thread."""

    def __init__(self, broker, archive, args=(), env=None, port=None):
        self.broker = broker
        self.archive = archive
        self.args = list(args)
        self.env = env
        self.port = port or free_port()
        self.proc = None
        self.lines = []
        self.cond = threading.Condition()
        self.url = None

    def argv(self):
        return [console_bin(), "--archive", self.archive, "--listen",
                "127.0.0.1:%d" % self.port, "--subscribe", self.broker.subscribe,
                "--replay", self.broker.replay] + self.args

    def start(self, wait_ready=True, timeout=60):
        self.lines = []
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=self.env)
        _PROCS.append(self.proc)
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        if wait_ready:
            self.url = self.wait_log(READY_RE, timeout).group(1)
        return self

    def _reader(self, proc):
        for raw in proc.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def log_text(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout=30):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                if self.proc.poll() is not None:
                    raise AssertionError("veille-console exited (%s) before %r:\n%s"
                                         % (self.proc.wait(), pattern, "\n".join(self.lines[-30:])))
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timeout waiting for %r:\n%s"
                                         % (pattern, "\n".join(self.lines[-30:])))
                self.cond.wait(min(left, 0.5))

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def get(self, path, headers=None, method="GET"):
        """Returns (status, headers, body text) of PATH on the console."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path),
                                     headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")


def archive_count(path):
    """Rows in the console archive (read directly, for exactly-once checks)."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*), count(DISTINCT eid) FROM alert").fetchone()
    finally:
        db.close()


# --- the browser ---------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1200,900"]


def browser_available():
    """None if Selenium, chromium and chromedriver are there, else why not."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium is not installed"
    for b in ("chromium", "chromedriver"):
        if not shutil.which(b) and not os.path.exists("/usr/bin/" + b):
            return "%s is not installed" % b
    return None


def browser(workdir):
    """A headless Chromium (fresh profile under WORKDIR) driven by Selenium.
    The caller quits it (driver.quit())."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for f in CHROMIUM_FLAGS:
        opts.add_argument(f)
    opts.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="chrome-", dir=workdir))
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver",
                      log_path=os.path.join(workdir, "chromedriver.log"))
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(60)
    return driver


def screenshot(driver, workdir, name):
    """Saves a PNG under WORKDIR and copies it to build/test-artifacts/."""
    path = os.path.join(workdir, name + ".png")
    driver.save_screenshot(path)
    dest = os.path.join(os.environ.get("VEILLE_BIN", "build"), "test-artifacts")
    os.makedirs(dest, exist_ok=True)
    shutil.copy(path, os.path.join(dest, name + ".png"))
    return path


def alert(n, topic="un.test", type_="new", title=None, summary="", diff=None, tags=None,
          source="src-console", url=None, salt="console"):
    """A valid event for the console tests; returns (topic, id, msgpack bytes)."""
    import hashlib
    import msgpack
    eid = hashlib.md5(("%s:%d" % (salt, n)).encode()).hexdigest()
    ev = {"v": 1, "id": eid, "type": type_, "source": source, "topic": topic,
          "url": url if url is not None else "https://example.org/%s/%d" % (salt, n),
          "title": title if title is not None else "Alert %d" % n, "summary": summary,
          "detected": int(time.time() * 1000), "tags": tags or []}
    if diff is not None:
        ev["diff"] = diff
    return topic, eid, msgpack.packb(ev)
