#!/usr/bin/python3
"""65-sub-disk-full: sub_disk_full_waits_and_delivers_each_event_once.

Real ENOSPC on small tmpfs mounts (needs root; otherwise the test exits 77,
"Skipped" in ctest, and checks nothing):
  - log sink: the file's tmpfs is filled up while events arrive. The sink
    logs the full disk once, writes no partial line, parks nothing (even
    with max_attempts = 2), and its cursor stays at or below the last line
    in the file; when the filler goes, it writes every event once by itself
    and logs the end of the episode. A second episode ends with SIGTERM
    while full: exit 0, and after a restart with space every event is in
    the file once, each line whole.
  - state: the SQLite state's tmpfs is filled up. The log sink writes
    nothing it cannot first record as an intent, the webhook sink stops
    after the confirmations it cannot store, each logs it once and keeps
    running; when space returns every event reaches the file and the
    webhook exactly once and the cursors reach the last seq."""
import atexit
import collections
import json
import os
import signal
import subprocess
import sys

from tmpfs import fill, mount_tmpfs, require_tmpfs
from sub_harness import Broker, Sub, event, publish, run_sub, stored_cursor, wait_until, \
    workdir, write_conf
from sub_webhook import Receiver

RETRY = "max_attempts = 2; backoff_initial_ms = 50; backoff_max_ms = 200;"


def file_ids(path):
    """Ids of the JSON lines in PATH; fails on a partial or broken line."""
    with open(path, "rb") as f:
        data = f.read()
    assert data == b"" or data.endswith(b"\n"), "partial line at the end: %r" % data[-200:]
    return [json.loads(l)["id"] for l in data.split(b"\n")[:-1]]


def once_each(ids, want, what):
    c = collections.Counter(ids)
    dup = [i for i, v in c.items() if v > 1]
    assert not dup, "%s: %d id(s) more than once: %s" % (what, len(dup), dup[:3])
    assert set(ids) == set(want), "%s: %d of %d ids, %d unexpected" % (
        what, len(set(ids) & set(want)), len(want), len(set(ids) - set(want)))


def items(n, salt, size=600):
    return [event(i, topic="un.full", salt=salt, summary="x" * size) for i in range(n)]


def log_sink_part(d):
    os.makedirs(os.path.join(d, "b1"))
    b = Broker(os.path.join(d, "b1")).start()
    out = os.path.join(d, "out")
    mount_tmpfs(out, "256k")
    path = os.path.join(out, "alerts.jsonl")
    state = os.path.join(d, "sub1.db")
    conf = write_conf(os.path.join(d, "sub1.conf"), b, state, [
        'name = "file"; type = "log"; format = "json"; file = "%s"; %s' % (path, RETRY)])
    s = Sub(conf, args=["--log-level", "debug"]).start()
    want = []

    def send(evs):
        want.extend(eid for eid, _ in evs)
        return publish(b, [("un.full", raw) for _, raw in evs])

    send(items(10, "pre"))
    wait_until(lambda: len(file_ids(path)) == 10, what="the first 10 lines")

    # episode 1: full while running, space returns while running
    filler = fill(out)
    seqs = send(items(30, "full"))
    s.wait_log(r"sink file: .*No space left on device")
    s.wait_log(r"sink file: still failing", count=3)   # it retried, quietly
    assert s.count_log(r"No space left on device") == 1, s.log_text()
    assert s.proc.poll() is None, "veille-sub keeps running"
    in_file = file_ids(path)                      # whole lines only
    assert len(in_file) < 40, "the disk was not full (%d lines)" % len(in_file)
    rc, dead, _ = run_sub(conf, "--list-dead")
    assert rc == 0 and "un.full" not in dead, "nothing parked: %r" % dead
    last_in_file = max([0] + [q for (eid, _), q in zip(items(30, "full"), seqs) if eid in in_file])
    assert stored_cursor(state, "file") <= max(last_in_file, 10), \
        "cursor %d past the last line written" % stored_cursor(state, "file")
    os.unlink(filler)
    wait_until(lambda: len(file_ids(path)) >= 40, what="the 30 events after space returned")
    s.wait_log(r"sink file: .*writes again")
    once_each(file_ids(path), want, "episode 1")
    wait_until(lambda: stored_cursor(state, "file") >= seqs[-1], what="the cursor")

    # episode 2: full, stopped while full, restarted with space
    filler = fill(out)
    send(items(20, "stop"))
    s.wait_log(r"sink file: .*No space left on device", count=2)
    s.wait_log(r"sink file: still failing", count=s.count_log(r"still failing") + 2)
    assert s.stop() == 0, "exit 0 when stopped while the disk is full"
    file_ids(path)                                # whole lines only
    os.unlink(filler)
    s = Sub(conf).start()
    wait_until(lambda: len(file_ids(path)) >= 60, what="the 20 events after the restart")
    once_each(file_ids(path), want, "episode 2")
    assert s.stop() == 0
    assert b.stop() == 0
    print("log sink disk full: logged once per episode, no partial line, nothing parked, "
          "60/60 once each (in the running process and across a stop while full)")


def state_part(d):
    os.makedirs(os.path.join(d, "b2"))
    b = Broker(os.path.join(d, "b2")).start()
    sdir = os.path.join(d, "state")
    mount_tmpfs(sdir, "2m")
    state = os.path.join(sdir, "sub.db")
    path = os.path.join(d, "alerts2.jsonl")
    rx = Receiver()
    atexit.register(rx.close)
    conf = write_conf(os.path.join(d, "sub2.conf"), b, state, [
        'name = "file"; type = "log"; format = "json"; file = "%s"; %s' % (path, RETRY),
        'name = "hook"; type = "webhook"; url = "%s/in"; %s' % (rx.url, RETRY)])
    s = Sub(conf, args=["--log-level", "debug"]).start()
    want = []

    def send(evs):
        want.extend(eid for eid, _ in evs)
        return publish(b, [("un.full", raw) for _, raw in evs])

    hook_ids = lambda: [json.loads(r["body"])["id"] for r in rx.delivered()]
    seqs = send(items(10, "pre"))
    wait_until(lambda: len(file_ids(path)) == 10 and len(hook_ids()) == 10, what="10 + 10")
    wait_until(lambda: min(stored_cursor(state, "file"), stored_cursor(state, "hook")) >= seqs[-1],
               what="the first cursors")

    filler = fill(sdir)
    seqs = send(items(200, "full", size=2000))
    for sink in ("file", "hook"):
        s.wait_log(r"sink %s: cannot record delivery (intents|state): no space left" % sink)
        s.wait_log(r"sink %s: still failing" % sink, count=3)
    for sink in ("file", "hook"):
        assert s.count_log(r"sink %s: cannot record" % sink) == 1, s.log_text()
    assert s.proc.poll() is None, "veille-sub keeps running"
    n_file, n_hook = len(file_ids(path)), len(hook_ids())
    assert n_file < 210 and n_hook < 210, "the state never filled (%d, %d)" % (n_file, n_hook)
    once_each(hook_ids(), want[:n_hook], "webhook while full")
    os.unlink(filler)
    wait_until(lambda: len(file_ids(path)) >= 210 and len(hook_ids()) >= 210,
               what="every event after space returned")
    for sink in ("file", "hook"):
        s.wait_log(r"sink %s: .*writes again" % sink)
    once_each(file_ids(path), want, "file")
    once_each(hook_ids(), want, "webhook")
    wait_until(lambda: min(stored_cursor(state, "file"), stored_cursor(state, "hook")) >= seqs[-1],
               what="the cursors after space returned")
    assert s.stop() == 0
    assert b.stop() == 0
    print("state disk full: nothing written without an intent, logged once per sink, "
          "210/210 once each in the file and at the webhook (%d + %d while full)"
          % (n_file - 10, n_hook - 10))


def main():
    require_tmpfs()
    d = workdir("subdiskfull")
    log_sink_part(d)
    state_part(d)
    print("sub disk full: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
