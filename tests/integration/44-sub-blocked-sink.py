#!/usr/bin/python3
"""sub_blocked_sink_does_not_hold_back_the_others: two webhook sinks on the
same subscription; the receiver of one never answers. The other receives
every event while the first is still stuck on its first request. The stuck
sink's small queue overflows: it is suspended (the others go on), and once
its receiver answers again it catches up through the broker's replay
endpoint: every event reaches both receivers exactly once."""
import json
import os
import sys

from sub_harness import Broker, Sub, event, publish, workdir, write_conf
from sub_webhook import Receiver

N = 200


def main():
    d = workdir("subblock")
    b = Broker(d).start()
    stuck = Receiver(default="hang")
    live = Receiver()
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "stuck"; type = "webhook"; url = "%s/x"; timeout_s = 60; queue = 16;'
        ' backoff_initial_ms = 50; backoff_max_ms = 200;' % stuck.url,
        'name = "live"; type = "webhook"; url = "%s/x";' % live.url,
    ])
    s = Sub(conf).start()
    items = [event(i, topic="un.block", salt="blk") for i in range(N)]
    want = [e[0] for e in items]
    publish(b, [("un.block", e[1]) for e in items])
    live.wait(lambda r: len(r) >= N, timeout=120, what="all events at the live sink")
    assert len(stuck.delivered()) == 0, "the stuck receiver answered?"
    s.wait_log(r"sink stuck: queue full at seq")
    assert [json.loads(r["body"])["id"] for r in live.delivered()] == want

    stuck.set_default(200)
    stuck.release()       # the hanging request fails, is retried; the rest is replayed
    stuck.wait(lambda r: len([x for x in r if x["status"] == 200]) >= N, timeout=120,
               what="the stuck sink to catch up")
    s.wait_log(r"sink stuck: caught up its queue; replaying from")
    extra = event(N, topic="un.block", salt="blk")
    publish(b, [("un.block", extra[1])])
    want.append(extra[0])
    live.wait(lambda r: len(r) >= N + 1)
    stuck.wait(lambda r: len([x for x in r if x["status"] == 200]) >= N + 1)
    assert s.stop() == 0
    got_stuck = [json.loads(r["body"])["id"] for r in stuck.delivered()]
    got_live = [json.loads(r["body"])["id"] for r in live.delivered()]
    assert len(got_live) == N + 1 and got_live == want
    assert len(got_stuck) == len(set(got_stuck)), "duplicates at the stuck sink"
    assert sorted(got_stuck) == sorted(want), "%d of %d" % (len(set(got_stuck)), len(want))
    stuck.close()
    live.close()
    assert b.stop() == 0
    print("ok: live sink got %d events while the other was stuck; the stuck one overflowed, "
          "caught up by replay, each event exactly once" % N)


if __name__ == "__main__":
    main()
    sys.exit(0)
