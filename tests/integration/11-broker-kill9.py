#!/usr/bin/env python3
"""11-broker-kill9: kill -9 the broker in the middle of a pipelined stream
(ipc endpoints, fsync batch), add a torn record to the journal tail by
hand, restart: the torn tail is cut with a log line naming file, offset and
bytes; every event acked before the kill is in the journal exactly once
with its acked seq (resends get DUPLICATE with that seq); the events not
acked are stored after the restart when resent; no seq is reused."""
import glob
import os
import re

import zmq

from broker_harness import (Broker, Publisher, Replayer, make_event, workdir, check,
                            STORED, DUPLICATE)

N = 30000
KILL_AFTER = 10000


def stream_until_kill(b, items):
    """Publishes pipelined; kills the broker with events in flight.
    Returns {index: seq} of the events acked before the kill."""
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, b.publish)
    base = pub.next_token
    acked, sent, window = {}, 0, 2000
    while len(acked) < KILL_AFTER:
        while sent < len(items) and sent - len(acked) < window:
            pub.send(*items[sent])
            sent += 1
        a = pub.recv_ack()
        check(a is not None and a[1] == STORED, "ack before the kill: %r" % (a,))
        acked[a[0] - base] = a[2]
    inflight = sent - len(acked)
    check(inflight > 0, "events in flight at the kill")
    b.kill9()
    # acks already on their way to us (the broker is dead: nothing new comes)
    while True:
        a = pub.recv_ack(300)
        if a is None:
            break
        acked[a[0] - base] = a[2]
    pub.close()
    print("killed with %d sent, %d acked" % (sent, len(acked)))
    return acked


def tear_tail(journal_dir):
    """Appends half a record to the last segment; returns (path, size, len)."""
    segs = sorted(glob.glob(os.path.join(journal_dir, "*.vlj")))
    path = segs[-1]
    size = os.path.getsize(path)
    half = b"\x40\x02\x00\x00" + b"\xde\xad\xbe\xef" + b"\x01\x02\x03"   # len 576, body cut
    with open(path, "ab") as f:
        f.write(half)
    return path, size, len(half)


def main():
    wd = workdir("b11")
    b = Broker(wd, endpoints="ipc", conf_extra='  fsync = "batch";')
    b.start()
    topics = ["un.a", "gov.fr.b", "press.c"]
    items, ids = [], []
    for n in range(N):
        eid, ev = make_event(n, topics[n % 3], size=300)
        items.append((topics[n % 3], ev))
        ids.append(eid)

    acked = stream_until_kill(b, items)
    max_acked = max(acked.values())
    path, size_before, half = tear_tail(b.journal_dir)

    b.start()
    m = b.wait_log(r"journal: (\S+): torn or corrupt tail at offset (\d+) \(([^)]*)\): cut (\d+) bytes", 10)
    check(os.path.basename(m.group(1)) == os.path.basename(path), "cut names the file: %s" % m.group(0))
    off, cut = int(m.group(2)), int(m.group(4))
    check(cut >= half and off + cut == size_before + half, "offset + cut = old size: %s" % m.group(0))
    check(os.path.getsize(path) == off, "file truncated at the offset")
    check(b.head >= max_acked, "head %d >= max acked seq %d" % (b.head, max_acked))
    head_at_restart = b.head

    # resend everything: acked ones are DUPLICATE with their seq
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, b.publish)
    acks = pub.publish_many(items, window=5000)
    for i, seq in acked.items():
        st, s2, _ = acks[i]
        check(st == DUPLICATE and s2 == seq, "acked #%d: DUPLICATE seq %d, got %r" % (i, seq, acks[i]))
    new = [a[1] for a in acks if a[0] == STORED]
    check(all(a[0] in (STORED, DUPLICATE) for a in acks), "every resend STORED or DUPLICATE")
    check(all(s > head_at_restart for s in new), "no seq reused: new seqs > %d" % head_at_restart)
    check(len(new) == len(set(new)), "new seqs unique")
    pub.close()

    # the journal holds every event exactly once
    rp = Replayer(ctx, b.replay)
    evs, end = rp.replay_all(after=0, limit=5000)
    seqs = [e[1] for e in evs]
    got = [e[2]["id"] for e in evs]
    check(len(evs) == N, "journal holds N events (%d)" % len(evs))
    check(len(set(got)) == N and set(got) == set(ids), "each event exactly once")
    check(all(seqs[i] < seqs[i + 1] for i in range(len(seqs) - 1)), "replay seqs increasing")
    by_id = {e[2]["id"]: e[1] for e in evs}
    check(all(by_id[ids[i]] == s for i, s in acked.items()), "acked events kept their seq")
    check(end["head"] == max(seqs) and end["first"] == 1, "END head/first: %r" % (end,))
    rp.close()
    check(b.stop() == 0, "clean stop")
    print("ok: %d acked before kill -9, all %d stored exactly once" % (len(acked), N))


if __name__ == "__main__":
    main()
