#!/usr/bin/python3
"""console_stream_filters_resumes_and_ends: the console's live stream
(/events, server-sent events) sends only the alerts stored after `after`
that match the stream's filters, one JSON line each with its row id as the
SSE id; a reconnection with Last-Event-ID resumes after that id (nothing
lost, nothing twice); a title with a newline and "</script>" stays one
data line that parses back; a console stopping with streams open ends them
and exits 0 promptly."""
import http.client
import json
import os
import socket
import sys
import threading
import time

from broker_harness import Broker, workdir
from console_harness import Console, alert, archive_count
from sub_harness import publish, wait_until


class Stream:
    """Reads one /events response in a thread, collecting its SSE events."""

    def __init__(self, port, path, headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        assert self.resp.getheader("Content-Type").startswith("text/event-stream")
        self.events, self.comments, self.ended = [], [], False
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        cur = {}
        try:
            for raw in self.resp:
                line = raw.decode("utf-8").rstrip("\n")
                with self.cond:
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif line == "" and cur:
                        if "data" in cur:          # not the retry: line alone
                            self.events.append(cur)
                        cur = {}
                    elif ": " in line:
                        k, v = line.split(": ", 1)
                        assert k not in cur, "field %s twice in one event" % k
                        cur[k] = v
                    self.cond.notify_all()
        except (OSError, AttributeError, ValueError, http.client.HTTPException):  # closed
            pass
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def wait(self, pred, what, timeout=60):
        deadline = time.time() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.time()
                assert left > 0, "stream: timeout waiting for %s (%r)" % (what, self.events)
                self.cond.wait(left)

    def close(self):
        # shutdown first: it wakes the reader thread (close alone would wait
        # for the buffered reader's lock, held until the next ping)
        self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


def main():
    d = workdir("console-sse")
    b = Broker(d).start()
    archive = os.path.join(d, "console.db")
    c = Console(b, archive).start()
    s = Stream(c.port, "/events?after=0&topic=un.")
    s.wait(lambda st: any(x == ": live" for x in st.comments), "the stream to open")
    evil = "line one\n</script><script>alert(1)</script>"
    evs = [alert(i, topic="un.sc" if i % 2 else "press.rfi", title=evil if i == 3 else None,
                 salt="sse") for i in range(1, 9)]
    publish(b, [(t, raw) for t, _, raw in evs])
    want = [e[1] for e in evs if e[0].startswith("un.")]
    s.wait(lambda st: len(st.events) >= len(want), "%d alerts" % len(want))
    got = [json.loads(e["data"]) for e in s.events]
    assert [g["eid"] for g in got] == want, got
    assert all(e["event"] == "alert" for e in s.events)
    ids = [int(e["id"]) for e in s.events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    assert [g["id"] for g in got] == ids
    hostile = [g for g in got if g["eid"] == evs[2][1]][0]
    assert hostile["title"] == evil.replace("\n", " "), hostile["title"]
    assert "</script>" not in s.events[[g["eid"] for g in got].index(evs[2][1])]["data"]
    s.close()

    # resume: Last-Event-ID = the second alert's id -> the rest, once each
    r = Stream(c.port, "/events?topic=un.", headers={"Last-Event-ID": str(ids[1])})
    r.wait(lambda st: len(st.events) >= len(want) - 2, "the resumed alerts")
    late = alert(20, topic="un.sc", salt="sse")
    publish(b, [(late[0], late[2])])
    r.wait(lambda st: len(st.events) >= len(want) - 1, "the late alert")
    got2 = [json.loads(e["data"])["eid"] for e in r.events]
    assert got2 == want[2:] + [late[1]], got2

    # stopping with a stream open ends it and exits 0
    wait_until(lambda: archive_count(archive)[0] == 9, what="9 alerts archived")
    t0 = time.time()
    assert c.stop(timeout=30) == 0, c.log_text()
    r.wait(lambda st: st.ended, "the stream to end", timeout=30)
    took = time.time() - t0
    assert took < 20, took
    b.stop()
    print("console stream: filtered, resumed, ended in %.1f s: ok" % took)
    return 0


if __name__ == "__main__":
    sys.exit(main())
