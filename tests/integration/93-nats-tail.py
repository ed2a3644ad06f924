#!/usr/bin/env python3
"""93-nats-tail: veille_tail_reads_the_jetstream_backbone.

`veille tail -c sub.conf` where the sub section has backbone = "nats"
reads the stream of a 3-node cluster: --from-seq 0 replays every event of
the given prefix once, in stream order, and nothing of other prefixes;
a live tail (no --from-seq) started before a second round gets exactly
that round's events. Before, tail ignored the backbone and waited for a
broker that does not run (exit 1)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats_cluster import Cluster, Flow  # noqa: E402
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
print("93-nats-tail: PASS")
