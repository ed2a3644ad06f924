#!/usr/bin/python3
"""status_shows_sources_sinks_and_broker: a broker, veille-watch (two
sources: one served, one answering 500 twice) and veille-sub (a log sink
that works, a webhook sink whose server is down and retries, a webhook
sink down with max_attempts = 1 that parks its events) run on loopback;
`veille status -c ...` then shows, in the terminal and as JSON, per source
the last poll, HTTP status, last change, last error, failures in a row
and next poll; per sink the cursor, backlog, age of the oldest
undelivered event and dead letters; the broker's head, journal size and
replay clients (metrics endpoint). A state file that is absent, and one
written by an older veille-watch (no status columns), are said clearly.
Fails before #17: there is no `veille status`."""
import json
import os
import re
import socket
import sqlite3
import subprocess
import threading
import time

from watch_harness import BROKER, Harness, VEILLE, check, fail
from sub_harness import Sub


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status(*confs, json_out=False, expect=0):
    cmd = [VEILLE, "status"] + [a for c in confs for a in ("-c", c)]
    if json_out:
        cmd.append("--json")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != expect:
        fail("veille status exited %d, expected %d:\n%s%s" % (r.returncode, expect, r.stdout,
                                                             r.stderr))
    return json.loads(r.stdout) if json_out else r.stdout


h = Harness("80-status")
h.start_fixture()
# the broker, with its metrics endpoint (replay clients)
metrics_port = free_port()
journal = os.path.join(h.dir, "journal")
broker_conf = os.path.join(h.dir, "broker.conf")
BODY = ('broker = {\n  publish = "%s";\n  subscribe = "%s";\n  replay = "%s";\n'
        '  journal_dir = "%s";\n  heartbeat_ms = 200;\n  allow_plaintext_tcp = true;\n'
        '  metrics_listen = "127.0.0.1:%d";\n};\n')
with open(broker_conf, "w") as f:
    f.write(BODY % ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", journal,
                    metrics_port))
p = h.track(subprocess.Popen([BROKER, "-c", broker_conf], stderr=subprocess.PIPE,
                             text=True))
while True:
    line = p.stderr.readline()
    if not line:
        fail("broker exited before ready")
    m = re.search(r"ready publish=(\S+) subscribe=(\S+) replay=(\S+)", line)
    if m:
        h.ep = {"publish": m.group(1), "subscribe": m.group(2), "replay": m.group(3)}
        break
threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
h.broker = p
# what status reads: the same file with the ports the broker bound
with open(broker_conf, "w") as f:
    f.write(BODY % (h.ep["publish"], h.ep["subscribe"], h.ep["replay"], journal, metrics_port))

watch_conf = h.write_watch_conf([
    {"id": "good", "url": h.url("/feed?n=3"), "topic": "t.good", "type": "feed"},
    {"id": "bad", "url": h.url("/status/500"), "topic": "t.bad", "type": "feed"},
], publish_existing=True, fail_threshold=5)
h.watch_once()
h.watch_once()

sub_state = os.path.join(h.dir, "sub.db")
sub_conf = os.path.join(h.dir, "sub.conf")
down = free_port()
with open(sub_conf, "w") as f:
    f.write('sub = {\n  subscribe = "%s";\n  replay = "%s";\n  state = "%s";\n'
            '  request_timeout_ms = 1000;\n  sinks = (\n'
            '    { name = "archive"; type = "log"; file = "%s"; format = "json"; start = "all"; },\n'
            '    { name = "hook"; type = "webhook"; url = "http://127.0.0.1:%d/x"; start = "all";\n'
            '      topics = ["t."]; backoff_initial_ms = 60000; backoff_max_ms = 60000; },\n'
            '    { name = "parked"; type = "webhook"; url = "http://127.0.0.1:%d/x";\n'
            '      start = "all"; max_attempts = 1; }\n'
            '  );\n};\n' % (h.ep["subscribe"], h.ep["replay"], sub_state,
                            os.path.join(h.dir, "alerts.jsonl"), down, down))
sub = Sub(sub_conf).start()

# wait until the parked sink has parked every event and archive delivered them
deadline = time.time() + 90
while True:
    st = status(broker_conf, watch_conf, sub_conf, json_out=True)
    sinks = {s["name"]: s for s in st["sub"]["sinks"]}
    head = st["broker"]["head"]
    if (head and sinks["archive"]["cursor"] == head and sinks["parked"]["dead_letters"] >= 3
            and sinks["hook"]["backlog"]):
        break
    if time.time() > deadline:
        fail("status never showed the sinks settled: %s" % json.dumps(st, indent=1))
    time.sleep(0.3)

# ---- JSON ---------------------------------------------------------------
b = st["broker"]
check(b["reachable"] and b["head"] >= 3 and b["first"] >= 1, "broker head/first: %s" % b)
check(b["journal_bytes"] and b["journal_bytes"] > 0 and b["segments"] >= 1,
      "journal size %s in %s segments" % (b["journal_bytes"], b["segments"]))
check(b["replay_clients"] is not None and b["replay_clients"] >= 1,
      "replay clients %s (veille-sub holds one)" % b["replay_clients"])
srcs = {s["id"]: s for s in st["watch"]["sources"]}
g, bad = srcs["good"], srcs["bad"]
now = st["time"]
check(g["known"] and g["http_status"] == 200 and g["failures"] == 0
      and 0 < now - g["last_poll"] < 120000 and g["last_change"] and g["last_error"] is None
      and g["next_poll"] > g["last_poll"], "good source: %s" % g)
check(bad["http_status"] == 500 and bad["failures"] == 2 and bad["last_change"] is None
      and "500" in (bad["last_error"] or "") and bad["last_error_at"] and bad["next_poll"],
      "failing source: 500, 2 failures in a row, last error %r" % bad["last_error"])
check(sinks["archive"]["cursor"] == head and sinks["archive"]["backlog"] == 0
      and sinks["archive"]["oldest_undelivered"] is None and sinks["archive"]["dead_letters"] == 0,
      "working sink: cursor at the head, no backlog")
hk = sinks["hook"]
check(hk["backlog"] >= 3 and hk["oldest_undelivered"] and hk["oldest_age_s"] is not None
      and hk["oldest_age_s"] >= 0 and hk["dead_letters"] == 0,
      "down sink: backlog %s, oldest undelivered %ss old" % (hk["backlog"], hk["oldest_age_s"]))
check(sinks["parked"]["dead_letters"] >= 3 and sinks["parked"]["backlog"] == 0,
      "parking sink: %d dead letters" % sinks["parked"]["dead_letters"])

# ---- terminal -------------------------------------------------------------
out = status(broker_conf, watch_conf, sub_conf)
sys_lines = out.splitlines()
check(re.search(r"^  head %d  first \d+" % head, out, re.M) is not None, "terminal: broker head")
check(re.search(r"journal [\d.]+ (bytes|KiB|MiB) in \d+ segment", out) is not None, "terminal: journal size")
check(re.search(r"replay clients [1-9]", out) is not None, "terminal: replay clients")
check(re.search(r"^  good +\d+s ago +200 +\d+s ago +0 +in \S+ +-$", out, re.M) is not None,
      "terminal: good source line")
check(re.search(r"^  bad +\d+s ago +500 +never +2 +(in \S+|due) +.*500.*\(\d+s ago\)$", out, re.M)
      is not None, "terminal: failing source line with its error")
check(re.search(r"^  hook +\S+ +[1-9]\d* +\d+s ago +0$", out, re.M) is not None,
      "terminal: down sink line (backlog, oldest)")
check(re.search(r"^  parked +\d+ +0 +- +[3-9]\d*$", out, re.M) is not None,
      "terminal: parking sink line (dead letters)")

sub.stop()

# ---- absent, older schema, broker down --------------------------------------
absent = os.path.join(h.dir, "absent.conf")
with open(absent, "w") as f:
    f.write('sub = { replay = "%s"; state = "%s/nope.db"; sinks = ( { name = "x"; type = "log"; } ); };\n'
            % (h.ep["replay"], h.dir))
out = status(absent, expect=1)
check("state file absent" in out, "absent state file said clearly")
old_db = os.path.join(h.dir, "old.db")
db = sqlite3.connect(old_db)
db.execute("CREATE TABLE sources (id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,"
           " failures INTEGER NOT NULL DEFAULT 0, error_sent INTEGER NOT NULL DEFAULT 0,"
           " baseline_done INTEGER NOT NULL DEFAULT 0, next_due INTEGER NOT NULL DEFAULT 0,"
           " conf_hash TEXT, doc_keys BLOB)")
db.execute("INSERT INTO sources (id, failures, next_due) VALUES ('good', 1, 0)")
db.commit()
db.close()
old_conf = os.path.join(h.dir, "old.conf")
with open(old_conf, "w") as f:
    f.write(open(watch_conf).read().replace(h.state, old_db))
st = status(broker_conf, old_conf, json_out=True)
check(st["watch"]["file"] == "old" and "older veille-watch" in st["watch"]["problem"]
      and st["watch"]["sources"][0]["failures"] == 1, "older schema: said, what exists shown")
h.broker.terminate()
h.broker.wait(30)
st = status(broker_conf, watch_conf, json_out=True, expect=1)
check(not st["broker"]["reachable"] and st["broker"]["error"], "broker down: unreachable")
print("ok: veille status shows sources, sinks and broker (terminal and JSON)")
