#!/usr/bin/env python3
"""90-nats-cluster-leader-kill: jetstream_backbone_survives_leader_kill9.

veille-watch and veille-sub with backbone = "nats" on a real 3-node
nats-server cluster on loopback (R3 stream created by the watcher). Two
feeds grow by a batch of items every round; the stream leader is killed
with SIGKILL as the watcher polls and publishes a round (and restarted two
rounds later on the same store), so PubAcks and the consumer are cut while
events are flowing. At the end: the outbox is empty, the stream holds each
event once, and each of two log sinks delivered every event exactly once
(lost = 0, duplicated = 0) with the titles of the items. Before this
backbone existed, `backbone`/`nats` were unknown keys: nothing arrived."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats_cluster import Cluster, Flow  # noqa: E402
from sub_harness import Sub, wait_until  # noqa: E402
from watch_harness import Harness, check  # noqa: E402

ROUNDS, KILL_AT, RESTART_AT = 8, 3, 5

h = Harness("nats90")
cluster = Cluster(h.dir).start()
h.start_fixture()
flow = Flow(h, cluster)
flow.grow()
flow.write_watch_conf()
w = h.start_watch("--publish-existing")
sys.stderr.write("stream leader: %s\n" % cluster.wait_stream("VEILLE").name)
sub = Sub(flow.write_sub_conf()).start(timeout=90)

killed = None
for rnd in range(1, ROUNDS):
    before = flow.hits()
    if rnd == KILL_AT:
        killed = cluster.node(cluster.stream_info("VEILLE")[0])
    flow.grow()
    if rnd == KILL_AT:   # as the watcher polls and publishes this round
        wait_until(lambda: any(n > before[s] for s, n in flow.hits().items()), 60, "a poll")
        cluster.kill9(killed)
        sys.stderr.write("round %d: killed stream leader %s (kill -9)\n" % (rnd, killed.name))
    wait_until(lambda: all(flow.hits()[s] >= before[s] + 2 for s in flow.sources), 60,
               "the watcher to poll round %d" % rnd)
    if rnd == RESTART_AT:
        cluster.start_node(killed)
        cluster.wait_healthy(90, [killed])
        sys.stderr.write("round %d: %s restarted\n" % (rnd, killed.name))

N = flow.expected
wait_until(lambda: h.outbox_count() == 0, 120, "the outbox to drain")
check(True, "outbox drained (every row PubAcked)")
cluster.wait_stream("VEILLE")
wait_until(lambda: flow.stream_msgs() >= N, 60, "the stream to hold %d events" % N)
check(flow.stream_msgs() == N, "the stream holds exactly %d events (got %d)"
      % (N, flow.stream_msgs()))
for sink in flow.outs:
    wait_until(lambda: len({e["id"] for e in flow.lines(sink)}) >= N, 120,
               "sink %s to get %d events" % (sink, N))
rc_sub = sub.stop()
with open(os.path.join(h.dir, "sub.log"), "w") as f:
    f.write(sub.log_text())
w.terminate()
check(w.wait(30) == 0 and rc_sub == 0, "veille-watch and veille-sub stop cleanly on SIGTERM "
      "(rc %s, %s; under ASan: no leak)" % (w.returncode, rc_sub))
for sink in flow.outs:
    ids = [e["id"] for e in flow.lines(sink)]
    lost, dup = N - len(set(ids)), len(ids) - len(set(ids))
    check(lost == 0 and dup == 0, "sink %s: %d events, lost = %d, duplicated = %d"
          % (sink, len(ids), lost, dup))
    check({e.get("title") for e in flow.lines(sink)} == flow.titles(),
          "sink %s: every item's title (the event schema of the broker path)" % sink)
print("90-nats-cluster-leader-kill: PASS")
