#!/usr/bin/env python3
"""90-nats-cluster-leader-kill: jetstream_backbone_survives_leader_kill9.

veille-watch and veille-sub with backbone = "nats" on a real 3-node
nats-server cluster on loopback (R3 stream created by the watcher). Two
feeds grow by a batch of items every round; mid-flow the stream leader is
killed with SIGKILL (and restarted a few rounds later on the same store),
so PubAcks and the consumer are cut while events are flowing. At the end:
the outbox is empty, the stream holds each event once, and each of two
log sinks delivered every event exactly once (lost = 0, duplicated = 0).
Before this backbone existed, veille-watch ignored `backbone`/`nats` and
published to a broker that is not running: nothing arrives."""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats_cluster import Cluster  # noqa: E402
from sub_harness import Sub, wait_until  # noqa: E402
from watch_harness import Harness, check, rss  # noqa: E402

ROUNDS, PER_ROUND, SOURCES = 8, 100, ("a", "b")
KILL_AFTER, RESTART_AFTER = 3, 5
N = ROUNDS * PER_ROUND * len(SOURCES)

h = Harness("nats90")
cluster = Cluster(h.dir).start()
sys.stderr.write("cluster up: %s\n" % cluster.servers)
h.start_fixture()
items = {s: [] for s in SOURCES}


def grow(rnd):
    for s in SOURCES:
        for i in range(PER_ROUND):
            k = rnd * PER_ROUND + i
            items[s].append(("%s-%d" % (s, k), "item %s %d" % (s, k), "body %s %d" % (s, k)))
        path = os.path.join(h.www, s + ".xml")
        with open(path + ".tmp", "w") as f:
            f.write(rss(list(reversed(items[s])), title=s))
        os.replace(path + ".tmp", path)


def hits(s):
    return int(h.ctl("hits?path=/%s.xml" % s).strip() or 0)


nats_group = ('{ servers = "%s"; stream = "VEILLE"; replicas = 3; timeout_ms = 2000; }'
              % cluster.servers)
grow(0)
conf = h.write_watch_conf([{"id": s, "topic": "feed." + s, "url": h.url("/%s.xml" % s),
                            "interval": 1} for s in SOURCES], jitter_percent=0)
text = open(conf).read().replace("watch = {", 'watch = {\n  backbone = "nats";\n  nats = %s;'
                                 % nats_group, 1)
open(conf, "w").write(text)
w = h.start_watch("--publish-existing")
leader = cluster.wait_stream("VEILLE")
sys.stderr.write("stream leader: %s\n" % leader.name)

outs = [os.path.join(h.dir, "sink-%d.jsonl" % i) for i in (1, 2)]
sub_conf = os.path.join(h.dir, "sub.conf")
with open(sub_conf, "w") as f:
    f.write('sub = {\n  backbone = "nats";\n  nats = %s;\n  state = "%s";\n  sinks = (\n'
            '    { name = "one"; type = "log"; format = "json"; file = "%s"; start = "all"; },\n'
            '    { name = "two"; type = "log"; format = "json"; file = "%s"; start = "all";'
            ' topics = ["feed."]; }\n  );\n};\n'
            % (nats_group, os.path.join(h.dir, "sub.db"), outs[0], outs[1]))
sub = Sub(sub_conf).start(timeout=90)


def lines(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


killed = None
for rnd in range(1, ROUNDS):
    before = {s: hits(s) for s in SOURCES}
    if rnd == KILL_AFTER:
        killed = cluster.node(cluster.stream_info("VEILLE")[0])
    grow(rnd)
    if rnd == KILL_AFTER:   # as the watcher polls and publishes this round
        wait_until(lambda: any(hits(s) > before[s] for s in SOURCES), 60, "a poll")
        cluster.kill9(killed)
        sys.stderr.write("round %d: killed stream leader %s (kill -9)\n" % (rnd, killed.name))
    wait_until(lambda: all(hits(s) >= before[s] + 2 for s in SOURCES), 60,
               "the watcher to poll round %d" % rnd)
    if rnd == RESTART_AFTER:
        cluster.start_node(killed)
        cluster.wait_healthy(90, [killed])
        sys.stderr.write("round %d: %s restarted\n" % (rnd, killed.name))

wait_until(lambda: h.outbox_count() == 0, 120, "the outbox to drain")
check(True, "outbox drained (every row PubAcked)")
leader = cluster.wait_stream("VEILLE")
wait_until(lambda: (cluster.stream_info("VEILLE")[1] or {}).get("messages", 0) >= N, 60,
           "the stream to hold %d events" % N)
stored = cluster.stream_info("VEILLE")[1]["messages"]
check(stored == N, "the stream holds exactly %d events (got %d)" % (N, stored))
for out in outs:
    wait_until(lambda: len({e["id"] for e in lines(out)}) >= N, 120,
               "%s to get %d events" % (out, N))
sub.stop()
with open(os.path.join(h.dir, "sub.log"), "w") as f:
    f.write(sub.log_text())
w.terminate()
w.wait(30)
for out in outs:
    evs = lines(out)
    ids = [e["id"] for e in evs]
    lost, dup = N - len(set(ids)), len(ids) - len(set(ids))
    check(lost == 0 and dup == 0, "%s: %d events, lost = %d, duplicated = %d"
          % (os.path.basename(out), len(ids), lost, dup))
    check({e.get("title") for e in evs} == {t for s in SOURCES for _, t, _ in items[s]},
          "%s: every item's title, same event schema as over the broker" % os.path.basename(out))
print("90-nats-cluster-leader-kill: PASS")
