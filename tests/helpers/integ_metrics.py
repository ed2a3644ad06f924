"""integ_metrics: scrape a veille daemon's /metrics endpoint (urllib) and
parse the Prometheus text format strictly enough to catch a malformed line."""
import re
import time
import urllib.error
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|[+-]Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
PORT_RE = r"metrics: serving http://127\.0\.0\.1:(\d+)/metrics"


def parse(text):
    """Returns {(name, ((label, value), ...)): float}; raises on bad lines."""
    out = {}
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            typed.add(name)
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        name, labels = m.group(1), ()
        if m.group(3):
            pairs = LABEL.findall(m.group(3))
            assert ",".join('%s="%s"' % (k, v) for k, v, _ in pairs) == m.group(3), line
            labels = tuple((k, v) for k, v, _ in pairs)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "sample before its # TYPE: %r" % line
        out[(name, labels)] = float(m.group(4))
    return out


def scrape(port, path="/metrics"):
    """GETs the endpoint; returns (parsed samples, raw text)."""
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        assert r.status == 200, r.status
        assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
        text = r.read().decode("utf-8")
    return parse(text), text


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))),
                       samples.get((name, tuple(labels.items()))))


def wait_value(port, name, pred, timeout=60, **labels):
    """Scrapes until PRED(value of NAME{LABELS}) holds; returns the samples."""
    deadline = time.time() + timeout
    last = None
    while True:
        samples, _ = scrape(port)
        last = value(samples, name, **labels)
        if last is not None and pred(last):
            return samples
        assert time.time() < deadline, "timeout: %s%s = %s" % (name, labels, last)
        time.sleep(0.1)


def status_of(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
