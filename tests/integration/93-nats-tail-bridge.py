#!/usr/bin/env python3
"""93-nats-tail-bridge: veille_tail_reads_the_jetstream_backbone, and an edge
broker bridged into the stream without loss.

`veille tail -c sub.conf` where the sub section has backbone = "nats"
reads the stream of a 3-node cluster: --from-seq 0 replays every event of
the given prefix once, in stream order, and nothing of other prefixes;
a live tail (no --from-seq) started before a second round gets exactly
that round's events. Before, tail ignored the backbone and waited for a
broker that does not run (exit 1).

The lossless replacement of the pipe-based broker chain: an edge
veille-broker's events go into the backbone stream through an edge
veille-sub with a `nats` sink (PubAck before its cursor moves,
Nats-Msg-Id = event id); the bridge is killed -9 mid-way and restarted:
the stream gets each of the 40 events once, and a tail reads them."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats_cluster import Cluster, Flow  # noqa: E402
from sub_harness import Broker, Sub, event, publish, wait_until, write_conf  # noqa: E402
from watch_harness import VEILLE, Harness, check  # noqa: E402

h = Harness("nats93")
cluster = Cluster(h.dir).start()
h.start_fixture()
flow = Flow(h, cluster, per_round=30)
flow.grow()
flow.write_watch_conf()
conf = flow.write_sub_conf()
h.watch_once("--publish-existing", expect_rc=0)
N = flow.expected


def tail(*args, count, prefix):
    return subprocess.Popen([VEILLE, "tail", "-c", conf, "--json", "--count", str(count),
                             "--timeout-ms", "60000"] + list(args) + [prefix],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(p):
    out, err = p.communicate(timeout=90)
    sys.stderr.write(err)
    return p.returncode, [json.loads(l) for l in out.splitlines() if l.strip()], err


rc, evs, _ = result(tail("--from-seq", "0", count=N // 2, prefix="feed.a"))
seqs = [e["seq"] for e in evs]
check(rc == 0 and len(evs) == N // 2, "tail --from-seq 0 feed.a: %d events (rc %d)" % (len(evs), rc))
check({e["topic"] for e in evs} == {"feed.a"}, "only the prefix asked for")
check(len({e["id"] for e in evs}) == len(evs) and seqs == sorted(seqs),
      "each once, in stream order")

live = tail(count=flow.per_round * len(flow.sources), prefix="")
ready = live.stderr.readline()
check("veille tail: subscribed" in ready, "live tail ready: " + ready.strip())
flow.grow()
h.watch_once("--publish-existing", expect_rc=0)
rc, evs, _ = result(live)
titles = {e["title"] for e in evs}
check(rc == 0 and len(evs) == flow.per_round * 2, "live tail got the %d new events (rc %d)"
      % (len(evs), rc))
check(all(t.split()[2].isdigit() and int(t.split()[2]) >= flow.per_round for t in titles),
      "only the second round's events (nothing replayed)")

edge_dir = os.path.join(h.dir, "edge")
os.makedirs(edge_dir)
edge = Broker(edge_dir).start()
items = [("edge.news",) + event(i, topic="edge.news", salt="edge") for i in range(40)]
bridge_conf = write_conf(os.path.join(edge_dir, "bridge.conf"), edge,
                         os.path.join(edge_dir, "bridge.db"), [
                             'name = "to-nats"; type = "nats"; url = "%s"; stream = "VEILLE"; '
                             'payload = "msgpack"; topics = ["edge."]; timeout_s = 2; '
                             'backoff_initial_ms = 100; backoff_max_ms = 500;' % cluster.servers])
before = flow.stream_msgs()
bridge = Sub(bridge_conf).start()
publish(edge, [(t, raw) for t, _, raw in items[:20]])
wait_until(lambda: flow.stream_msgs() > before, 60, "the bridge to start publishing")
bridge.kill9()
publish(edge, [(t, raw) for t, _, raw in items[20:]])
bridge = Sub(bridge_conf).start()
wait_until(lambda: flow.stream_msgs() >= before + 40, 60, "the 40 edge events in the stream")
bridge.stop()
check(flow.stream_msgs() == before + 40, "the stream got each edge event once (%d)"
      % (flow.stream_msgs() - before))
rc, evs, _ = result(tail("--from-seq", str(before), count=40, prefix="edge."))
check(rc == 0 and sorted(e["id"] for e in evs) == sorted(i for _, i, _ in items),
      "tail reads the 40 bridged events, the edge's ids, once each")
print("93-nats-tail-bridge: PASS")
