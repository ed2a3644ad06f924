#!/usr/bin/python3
"""console_archive_search_feed_exactly_once: veille-console archives the
broker's alerts once each (a restart resumes from its cursor: events
published while it was down arrive by replay, none twice), lists them newest
first, finds "cybersécurité" when asked for "cybersecurite" (and "CYBER"),
filters by topic prefix, source and type, serves a permalink per alert with
the diff of a `changed` side by side, an Atom feed of any search, and source
health as `veille status` reads it (last poll, HTTP status, last change,
failures in a row, last error; failing sources first). Hostile texts come out escaped; every answer has the strict CSP; it
is read-only (POST 405); without a token it answers only to a loopback
Host (403 otherwise: no DNS rebinding); bound off loopback it refuses to start without a
token, and with one answers 401 without it."""
import os
import re
import sqlite3
import sys
import xml.etree.ElementTree as ET
from urllib.parse import quote

from broker_harness import Broker, workdir
from console_harness import Console, alert, archive_count
from sub_harness import publish, wait_until

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


def check_headers(h):
    csp = h.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp, csp
    assert h.get("X-Content-Type-Options") == "nosniff", dict(h)


def main():
    d = workdir("console")
    b = Broker(d).start()
    archive = os.path.join(d, "console.db")
    evs = [
        alert(1, topic="un.ctitf", title="Stratégie de cybersécurité", tags=["cyber"]),
        alert(2, topic="press.rfi", title="Élections", summary="Résultats"),
        alert(3, topic="un.ga", type_="changed", title="Page edited",
              diff="- old line one\n- old line two\n+ new line one"),
        alert(4, topic="un.ga", title=HOSTILE, summary=HOSTILE, tags=[HOSTILE],
              url="javascript:alert(3)", source="src-<b>"),
    ]
    publish(b, [(t, raw) for t, _, raw in evs])
    watch = os.path.join(d, "watch.db")     # the columns veille-watch writes
    with sqlite3.connect(watch) as db:
        db.execute("CREATE TABLE sources (id TEXT PRIMARY KEY, failures INTEGER, error_sent"
                   " INTEGER, next_due INTEGER, poll_at INTEGER, http_status INTEGER,"
                   " change_at INTEGER, last_error TEXT, error_at INTEGER)")
        db.executemany("INSERT INTO sources VALUES (?,?,?,?,?,?,?,?,?)", [
            ("a-fine", 0, 0, 1700000600000, 1700000000000, 200, 1690000000000, None, 0),
            ("z-down", 4, 1, 1700000900000, 1700000100000, 503, 0, "HTTP 503 " + HOSTILE,
             1700000100000)])
    c = Console(b, archive, args=["--watch-state", watch]).start()
    wait_until(lambda: archive_count(archive)[0] == 4, what="4 alerts archived")

    # the list: newest first, escaped
    st, h, body = c.get("/")
    assert st == 200, st
    check_headers(h)
    titles = re.findall(r'class="title" href="/alert/([0-9a-f]+)"', body)
    assert titles == [e[1] for e in evs][::-1], titles
    assert "<script>alert" not in body and "<img src=x" not in body, body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, body
    assert 'src="/console.js"' in body and "<script>" not in body.replace(
        '<script src="/console.js" defer></script>', "")

    # accent- and case-insensitive search, prefix terms
    for q in ("cybersecurite", "CYBERSÉCURITÉ", "cyber", "strategie cyber"):
        st, _, body = c.get("/?q=" + quote(q))
        found = re.findall(r'href="/alert/([0-9a-f]+)"', body)
        assert found == [evs[0][1]], (q, found)
    st, _, body = c.get("/?q=elections")
    assert re.findall(r'class="title" href="/alert/([0-9a-f]+)"', body) == [evs[1][1]]
    # hostile search text is never FTS5 syntax
    for q in ('"', "NEAR(", "a OR", "*", "title:x", ")"):
        st, _, body = c.get("/?q=" + quote(q))
        assert st == 200, (q, st)

    # filters
    def ids(path):
        return re.findall(r'class="title" href="/alert/([0-9a-f]+)"', c.get(path)[2])
    assert ids("/?topic=un.") == [evs[3][1], evs[2][1], evs[0][1]]
    assert ids("/?type=changed") == [evs[2][1]]
    assert ids("/?source=src-%3Cb%3E") == [evs[3][1]]
    assert ids("/?since=2000-01-01&until=2000-01-02") == []

    # the alert page with the diff side by side
    st, h, body = c.get("/alert/" + evs[2][1])
    assert st == 200
    check_headers(h)
    rows = re.findall(r'<tr><td class="(\w+)">(.*?)</td><td class="(\w+)">(.*?)</td></tr>', body)
    assert rows == [("del", "old line one", "add", "new line one"),
                    ("del", "old line two", "none", "")], rows
    st, _, body = c.get("/alert/" + evs[3][1])
    assert "javascript:" not in body.split("Link (not a web address)")[0], body
    assert 'href="javascript' not in body and "<script>alert" not in body
    assert c.get("/alert/nope")[0] == 404

    # Atom feed of a search (well-formed, the escaped hostile title intact)
    st, h, feed = c.get("/feed.atom?topic=un.")
    assert st == 200 and h.get("Content-Type").startswith("application/atom+xml")
    root = ET.fromstring(feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    got = [e.find("a:title", ns).text for e in root.findall("a:entry", ns)]
    assert got == [HOSTILE, "Page edited", "Stratégie de cybersécurité"], got

    # sources page, assets, read-only
    st, h, body = c.get("/sources")
    assert st == 200 and "src-console" in body and "src-&lt;b&gt;" in body, body
    check_headers(h)
    rows = re.findall(r'<tr class="(\w+)"><td>([^<]*)</td>', body)
    assert rows == [("failing", "z-down"), ("ok", "a-fine")], rows     # failing first
    down = body.split('<td>z-down</td>')[1].split("</tr>")[0]
    assert ('<td><time>2023-11-14T22:15:00Z</time></td><td class="http">503</td><td>never</td>'
            '<td class="failures">4</td>') in down, down
    assert "HTTP 503 &lt;script&gt;alert(1)&lt;/script&gt;&lt;img" in down, down
    assert "<script>alert" not in body and "<img src=x" not in body
    st, h, js = c.get("/console.js")
    assert st == 200 and "EventSource" in js and h.get("Content-Type").startswith("text/javascript")
    assert c.get("/", method="POST")[0] == 405
    # DNS rebinding: a page of another name that resolves to 127.0.0.1
    assert c.get("/", headers={"Host": "evil.example:%d" % c.port})[0] == 403
    assert c.get("/", headers={"Host": "localhost:%d" % c.port})[0] == 200

    # restart: the events published while down come by replay, nothing twice
    assert c.stop() == 0
    more = [alert(10 + i, topic="un.late") for i in range(5)]
    publish(b, [(t, raw) for t, _, raw in more + evs])     # evs again: duplicates
    c = Console(b, archive).start()
    wait_until(lambda: archive_count(archive)[0] == 9, what="9 alerts archived")
    c2 = Console(b, archive + "-2")    # unused: just the port for the token check
    n, distinct = archive_count(archive)
    assert n == distinct == 9, (n, distinct)
    st, _, body = c.get("/?topic=un.late")
    assert len(re.findall(r'class="title"', body)) == 5

    # off loopback: token required
    c.stop()
    bad = Console(b, archive, port=c2.port)
    bad.argv = lambda: [a.replace("127.0.0.1:", "0.0.0.0:") for a in Console.argv(bad)]
    bad.start(wait_ready=False)
    assert bad.proc.wait(30) == 2, bad.log_text()
    assert "token is required" in bad.log_text(), bad.log_text()
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write("s3cret-token-0123456789\n")
    os.chmod(tok, 0o600)
    t = Console(b, archive, args=["--token-file", tok]).start()
    assert t.get("/")[0] == 401
    assert t.get("/", headers={"Authorization": "Bearer s3cret-token-0123456789"})[0] == 200
    st, h, _ = t.get("/?token=s3cret-token-0123456789")
    assert st == 200 and "HttpOnly" in h.get("Set-Cookie", ""), dict(h)
    assert t.stop() == 0
    b.stop()
    print("console archive: 9 alerts once each, search, filters, diff, atom, token: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
