#!/usr/bin/env python3
"""92-nats-kill-loop: jetstream_backbone_kill9_loop_loses_and_duplicates_nothing.

The pipeline of test 90 (3-node cluster, R3 stream, veille-watch and
veille-sub with backbone = "nats", two log sinks), in a loop: each round
the feeds grow and, while the round is being polled and published, one
process is killed with SIGKILL and started again: in turn veille-watch,
veille-sub, the stream leader, a NATS server that is not the leader. At
the end, per sink: lost = 0 and duplicated = 0; the stream holds each
event once."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats_cluster import Cluster, Flow  # noqa: E402
from sub_harness import Sub, wait_until  # noqa: E402
from watch_harness import Harness, check  # noqa: E402

VICTIMS = ("watch", "sub", "leader", "follower")
ROUNDS = 2 * len(VICTIMS)

h = Harness("nats92")
cluster = Cluster(h.dir).start()
h.start_fixture()
flow = Flow(h, cluster, per_round=60)
flow.grow()
flow.write_watch_conf()
procs = {"watch": h.start_watch("--publish-existing")}
cluster.wait_stream("VEILLE")
procs["sub"] = Sub(flow.write_sub_conf()).start(timeout=90)
subs_log = []


def kill_restart(victim):
    if victim == "watch":
        procs["watch"].kill()
        procs["watch"].wait(30)
        procs["watch"] = h.start_watch("--publish-existing")
    elif victim == "sub":
        subs_log.append(procs["sub"].log_text())
        procs["sub"].kill9()
        procs["sub"] = Sub(flow.sub_conf).start(wait_ready=False)
    else:
        leader = cluster.wait_stream("VEILLE")
        node = leader if victim == "leader" else next(n for n in cluster.nodes if n is not leader)
        cluster.kill9(node)
        cluster.start_node(node)
        cluster.wait_healthy(90, [node])
    return victim


for rnd in range(ROUNDS):
    before = flow.hits()
    flow.grow()
    wait_until(lambda: any(n > before[s] for s, n in flow.hits().items()), 60, "a poll")
    victim = kill_restart(VICTIMS[rnd % len(VICTIMS)])
    sys.stderr.write("round %d: kill -9 %s, restarted\n" % (rnd, victim))
    before = flow.hits()
    wait_until(lambda: all(flow.hits()[s] >= before[s] + 1 for s in flow.sources), 60,
               "the watcher to poll after round %d" % rnd)

N = flow.expected
wait_until(lambda: h.outbox_count() == 0, 120, "the outbox to drain")
cluster.wait_stream("VEILLE")
wait_until(lambda: flow.stream_msgs() >= N, 60, "the stream to hold %d events" % N)
check(flow.stream_msgs() == N, "the stream holds exactly %d events (got %d)"
      % (N, flow.stream_msgs()))
for sink in flow.outs:
    wait_until(lambda: len({e["id"] for e in flow.lines(sink)}) >= N, 120,
               "sink %s to get %d events" % (sink, N))
procs["sub"].stop()
subs_log.append(procs["sub"].log_text())
with open(os.path.join(h.dir, "sub.log"), "w") as f:
    f.write("\n".join(subs_log))
for sink in flow.outs:
    ids = [e["id"] for e in flow.lines(sink)]
    lost, dup = N - len(set(ids)), len(ids) - len(set(ids))
    check(lost == 0 and dup == 0, "sink %s after %d kills: %d events, lost = %d, duplicated = %d"
          % (sink, ROUNDS, len(ids), lost, dup))
print("92-nats-kill-loop: PASS")
