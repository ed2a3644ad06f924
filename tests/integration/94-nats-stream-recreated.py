#!/usr/bin/env python3
"""94-nats-stream-recreated: a_stream_deleted_and_made_again_resets_the_cursors.

On the JetStream backbone the stream's creation time plays the broker
journal's epoch. veille-sub delivers a first round and stops; the stream
is deleted (stream sequences start again at 1); the running veille-watch
finds its publishes have no stream, creates it again and publishes the
second round; veille-sub started again sees another epoch, resets its
cursors and delivers the second round: each sink has both rounds once
(lost = 0, duplicated = 0). Without the epoch, the stored cursor (60) is
at the new stream's head and the second round is skipped."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats import NatsClient  # noqa: E402
from integ_nats_cluster import Cluster, Flow  # noqa: E402
from sub_harness import Sub, wait_until  # noqa: E402
from watch_harness import Harness, check  # noqa: E402

h = Harness("nats94")
cluster = Cluster(h.dir).start()
h.start_fixture()
flow = Flow(h, cluster, per_round=30)
flow.grow()
flow.write_watch_conf()
w = h.start_watch("--publish-existing")
cluster.wait_stream("VEILLE")
sub = Sub(flow.write_sub_conf()).start(timeout=90)
first = flow.expected
for sink in flow.outs:
    wait_until(lambda: len(flow.lines(sink)) >= first, 60, "round 1 in sink %s" % sink)
sub.stop()

nc = NatsClient(cluster.nodes[0].port)
answer = nc.request("$JS.API.STREAM.DELETE.VEILLE", b"")
nc.close()
check(b'"success":true' in answer, "stream deleted: %s" % answer[:80])
flow.grow()
N = flow.expected
wait_until(lambda: flow.stream_msgs() == N - first, 90,
           "the watcher to make the stream again with round 2")
check(True, "the running watcher made the stream again and published round 2 (%d)"
      % (N - first))

sub = Sub(flow.sub_conf).start(timeout=90)
for sink in flow.outs:
    wait_until(lambda: len({e["id"] for e in flow.lines(sink)}) >= N, 60,
               "sink %s to get both rounds" % sink)
sub.stop()
check(sub.count_log(r"sequence restarted") >= 1, "veille-sub saw another stream epoch: reset")
for sink in flow.outs:
    ids = [e["id"] for e in flow.lines(sink)]
    lost, dup = N - len(set(ids)), len(ids) - len(set(ids))
    check(lost == 0 and dup == 0, "sink %s: %d events, lost = %d, duplicated = %d"
          % (sink, len(ids), lost, dup))
w.terminate()
w.wait(30)
print("94-nats-stream-recreated: PASS")
