#!/usr/bin/env python3
"""13-broker-diskfull: the broker runs with a file size limit
(RLIMIT_FSIZE: writes past it fail with EFBIG, handled like ENOSPC). When
the journal cannot grow, publishes are acked UNAVAILABLE (nothing stored,
one log line for the episode), the broker keeps serving (replay, duplicates);
once the limit is lifted (prlimit on the running process) the same events
are stored on resend, and after a restart the journal is consistent."""
import os
import resource
import shutil
import subprocess

import zmq

from skip import skip
from broker_harness import (Broker, Publisher, Replayer, make_event, workdir, check,
                            STORED, DUPLICATE, UNAVAILABLE)

LIMIT = 256 * 1024


class LimitedBroker(Broker):
    def start(self, timeout=60, args=("--log-level", "info")):
        import broker_harness as h
        orig = subprocess.Popen

        def popen(*a, **kw):
            kw["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
            return orig(*a, **kw)
        h.subprocess.Popen = popen
        try:
            return Broker.start(self, timeout, args)
        finally:
            h.subprocess.Popen = orig


def main():
    if shutil.which("prlimit") is None:
        skip("prlimit (util-linux) not installed: cannot lift the limit")
    if (os.geteuid() != 0
            and resource.getrlimit(resource.RLIMIT_FSIZE)[1] != resource.RLIM_INFINITY):
        skip("the hard RLIMIT_FSIZE is finite: cannot lift the limit")
    wd = workdir("b13")
    b = LimitedBroker(wd)
    b.start()
    ctx = zmq.Context()
    pub = Publisher(ctx, b.publish)
    items = [("un.a", make_event(n, "un.a", 1000)[1]) for n in range(1000)]  # ~1 MB total
    acks = pub.publish_many(items, window=50)
    stored = [i for i, a in enumerate(acks) if a[0] == STORED]
    unavail = [i for i, a in enumerate(acks) if a[0] == UNAVAILABLE]
    check(stored and unavail, "some stored, then UNAVAILABLE (%d/%d)" % (len(stored), len(unavail)))
    check(all(a[0] in (STORED, UNAVAILABLE) for a in acks), "only STORED/UNAVAILABLE")
    check(all(acks[i][1] == 0 and acks[i][2] for i in unavail), "UNAVAILABLE: seq 0 and a reason")
    check(max(stored) < min(unavail), "stored are the first ones")
    b.wait_log(r"journal cannot store \(no space", 5)
    check(b.log_text().count("journal cannot store") == 1, "one log line per episode")

    # still serving: duplicates and replay
    pub.send(*items[stored[0]])
    a = pub.recv_ack()
    check(a[1] == DUPLICATE and a[2] == acks[stored[0]][1], "duplicate answered while full")
    rp = Replayer(ctx, b.replay)
    kind, _, end = rp.request({"op": "count"})
    check(kind == "END" and end["count"] == len(stored) and end["head"] == len(stored),
          "journal holds exactly the stored ones: %r" % (end,))

    # space comes back
    subprocess.check_call(["prlimit", "--pid", str(b.proc.pid), "--fsize=unlimited"])
    rest = [items[i] for i in unavail]
    deadline_acks = None
    for _ in range(50):   # the broker retries the journal at most once a second
        deadline_acks = pub.publish_many(rest[:1], window=1)
        if deadline_acks[0][0] == STORED:
            break
        check(deadline_acks[0][0] == UNAVAILABLE, "retry: %r" % (deadline_acks,))
        pub.sock.poll(200)   # pace the retries (not a synchronisation)
    check(deadline_acks[0][0] == STORED, "stored once space is back")
    b.wait_log(r"journal stores again", 5)
    acks2 = pub.publish_many(rest[1:], window=100)
    check(all(a[0] == STORED for a in acks2), "all the refused events stored on resend")
    seqs = [deadline_acks[0][1]] + [a[1] for a in acks2]
    check(seqs == list(range(len(stored) + 1, len(items) + 1)), "seqs continue without gap")
    rp.close()
    pub.close()
    check(b.stop() == 0, "clean stop")

    Broker.start(b)
    check(b.head == len(items), "head after restart %r" % b.head)
    rp = Replayer(ctx, b.replay)
    evs, end = rp.replay_all(limit=5000)
    check(len(evs) == len(items) and len({e[2]["id"] for e in evs}) == len(items),
          "every event once in the journal")
    rp.close()
    check(b.stop() == 0, "clean stop 2")
    ctx.term()
    print("ok: %d stored before the limit, %d UNAVAILABLE then stored" % (len(stored), len(unavail)))


if __name__ == "__main__":
    main()
