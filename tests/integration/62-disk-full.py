#!/usr/bin/python3
"""62-disk-full: disk_full_stops_acking_and_resumes_without_loss.

Real ENOSPC on small tmpfs mounts (needs root; otherwise the test exits 77,
"Skipped" in ctest, and checks nothing):
  - broker: the journal's tmpfs is filled up; every publish is answered
    UNAVAILABLE (never STORED), the episode is logged once; subscribers get
    nothing. When the filler is removed, the publisher's retries are stored,
    each event exactly once, and the end of the episode is logged.
  - watcher: its SQLite state's tmpfs is filled up while its feed grows;
    it reports the failure and publishes nothing for the new items; when
    space returns, the next poll records and publishes each new item
    exactly once."""
import atexit
import collections
import os
import subprocess
import sys
import time

from tmpfs import fill, mount_tmpfs, require_tmpfs
from broker_harness import Broker, Publisher, Replayer, check, make_event, workdir
from soak_driver import Proc, journal_ids, write_feed

import zmq

WATCH = os.path.join(os.environ.get("VEILLE_BIN", "build"), "watchers", "veille-watch")


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timeout waiting for " + what)
        time.sleep(0.05)


def broker_part(d):
    mount_tmpfs(os.path.join(d, "journal"), "1m")
    b = Broker(d).start()
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, b.publish)
    ok = pub.publish_many([("un.full", make_event(i, "un.full", 300, salt="pre")[1])
                           for i in range(10)])
    check(all(a[0] == 0 for a in ok), "events before the disk is full are stored")
    filler = fill(os.path.join(d, "journal"))
    # the last page of the segment may still have room for a few records
    slack = 0
    while True:
        a = pub.publish_many([("un.full", make_event(slack, "un.full", 300, salt="slack")[1])])[0]
        if a[0] == 3:
            break
        check(a[0] == 0 and slack < 100, "the journal never reports the full disk")
        slack += 1
    slack_items = [("un.full", make_event(i, "un.full", 300, salt="slack")[1])
                   for i in range(slack + 1)]

    # disk full: every publish is answered UNAVAILABLE, nothing is stored
    items = [("un.full", make_event(i, "un.full", 300, salt="full")[1]) for i in range(50)]
    acks = pub.publish_many(items)
    check(all(a[0] == 3 for a in acks), "UNAVAILABLE while the disk is full: %r"
          % collections.Counter(a[0] for a in acks))
    b.wait_log(r"journal cannot store")
    acks = pub.publish_many(items)   # still full: refused again, logged once
    check(all(a[0] == 3 for a in acks), "still UNAVAILABLE")
    check(b.log_text().count("journal cannot store") == 1, "the episode is logged once")

    # space returns: the retries are stored, each once
    os.unlink(filler)
    items += slack_items
    deadline = time.time() + 30
    while True:
        acks = pub.publish_many(items)
        if all(a[0] in (0, 1) for a in acks):
            break
        check(time.time() < deadline, "the broker never stored again")
        time.sleep(0.3)
    b.wait_log(r"journal stores again")
    ids = [i for _, i, _ in journal_ids(b.replay)]
    c = collections.Counter(ids)
    check(len(ids) == 61 + slack and all(v == 1 for v in c.values()),
          "journal holds the %d events once each (%d records)" % (61 + slack, len(ids)))
    pub.close()
    check(b.stop() == 0, "broker exits 0")
    print("broker disk full: UNAVAILABLE while full (%d fitted in the last page), "
          "%d/%d stored once after" % (slack, len(ids), 61 + slack))
    return b


def watcher_part(d):
    bdir = os.path.join(d, "b2")
    os.makedirs(bdir)
    b = Broker(bdir).start()
    state_dir = os.path.join(d, "wstate")
    mount_tmpfs(state_dir, "2m")
    feed = os.path.join(d, "feed.xml")
    write_feed(feed, 20)
    conf = os.path.join(d, "watch.conf")
    with open(conf, "w") as f:
        f.write('watch = {\n  broker = "%s";\n  state = "%s/watch.db";\n  sources = (\n'
                '    { id = "full"; topic = "press.full"; url = "file://%s"; interval = 1; }\n'
                '  );\n};\n' % (b.publish, state_dir, feed))
    w = Proc("watcher", [WATCH, "-c", conf, "--publish-existing"],
             os.path.join(d, "watch.log"), r"veille-watch: ready")
    atexit.register(lambda: w.p and w.p.poll() is None and w.p.kill())
    w.start()
    titles = lambda: [e for e in journal_ids(b.replay) if e[2] == "press.full"]
    wait_for(lambda: len(titles()) >= 20, 60, "the first 20 items")
    filler = fill(state_dir)
    write_feed(feed, 40)

    def watch_log():
        with open(w.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")
    wait_for(lambda: "cannot record" in watch_log() or "disk is full" in watch_log(), 60,
             "the watcher to report the full disk")
    n_full = len(titles())
    check(n_full == 20, "nothing published while the state cannot be written (%d)" % n_full)
    check(w.p.poll() is None, "the watcher keeps running")
    os.unlink(filler)
    wait_for(lambda: len(titles()) >= 40, 60, "the 20 new items after space returned")
    ev = titles()
    c = collections.Counter(i for _, i, _ in ev)
    check(len(ev) == 40 and all(v == 1 for v in c.values()),
          "40 items, each once (%d events)" % len(ev))
    check(w.stop() == 0, "watcher exits 0")
    check(b.stop() == 0, "broker exits 0")
    print("watcher disk full: reported, nothing published while full, 20/20 after, once each")


def main():
    require_tmpfs()
    d = workdir("diskfull")
    broker_part(d)
    watcher_part(d)
    print("disk full: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
