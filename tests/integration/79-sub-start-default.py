#!/usr/bin/python3
"""sub_new_sink_starts_where_expected: where a sink with no cursor begins
(`start`, default "auto"; subscribers/README.md):
1. running installation (the journal's oldest event was detected 2 h ago):
   a sink added with the default start gets only what is published after
   it was first run, not the stale backlog; `start = "all"` still gets the
   whole journal;
2. brand-new installation (the watcher published a moment before the
   subscriber first started): the default sink gets those events too;
3. a restart between the first run and the first delivery keeps the
   decision: sinks first run on an empty journal (auto and head), stopped,
   then events arrive whose `detected` is 2 h old (a re-decision would now
   call the installation old): after the restart both sinks get them."""
import hashlib
import json
import os
import sqlite3
import sys
import time

import msgpack

from sub_harness import Broker, Sub, publish, read_lines, wait_until, workdir, write_conf

OLD_MS = int(time.time() * 1000) - 2 * 3600 * 1000


def ev(salt, n, detected=None):
    eid = hashlib.md5(("%s:%d" % (salt, n)).encode()).hexdigest()
    e = {"v": 1, "id": eid, "type": "new", "source": "src", "topic": "un.test",
         "url": "https://example.org/%s/%d" % (salt, n), "title": "%s %d" % (salt, n),
         "detected": detected if detected is not None else int(time.time() * 1000)}
    return ("un.test", msgpack.packb(e))


def titles(path):
    return [json.loads(line)["title"] for line in read_lines(path)]


def has_row(state, sink):
    db = sqlite3.connect(state, timeout=10)
    try:
        return db.execute("SELECT seq FROM sink_cursor WHERE sink = ?", (sink,)).fetchone()
    finally:
        db.close()


def log_sink(name, path, extra=""):
    return 'name = "%s"; type = "log"; format = "json"; file = "%s"; %s' % (name, path, extra)


def running_installation():
    d = workdir("start-running")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    publish(b, [ev("stale", i, OLD_MS + i) for i in range(5)])     # days-old backlog
    publish(b, [ev("recent", i) for i in range(3)])                # before the sink existed
    late, full = os.path.join(d, "late.log"), os.path.join(d, "full.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        log_sink("late", late), log_sink("full", full, 'start = "all";')])
    s = Sub(conf).start()
    s.wait_log(r"sink late: new, starts after seq 8 \(broker head 8\): start = auto, "
               r"running installation")
    publish(b, [ev("fresh", i) for i in range(2)])
    wait_until(lambda: len(read_lines(late)) >= 2 and len(read_lines(full)) >= 10,
               what="deliveries")
    assert s.stop() == 0
    assert titles(late) == ["fresh 0", "fresh 1"], "a sink added later flooded: %s" % titles(late)
    assert len(titles(full)) == 10 and titles(full)[0] == "stale 0", titles(full)
    assert b.stop() == 0


def new_installation():
    d = workdir("start-new")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    publish(b, [ev("first", i) for i in range(4)])     # the watcher was a moment faster
    out = os.path.join(d, "out.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"),
                      [log_sink("desk", out)])
    s = Sub(conf).start()
    s.wait_log(r"sink desk: new, starts after seq 0 .*new installation")
    publish(b, [ev("then", i) for i in range(2)])
    wait_until(lambda: len(read_lines(out)) >= 6, what="new installation deliveries")
    assert s.stop() == 0
    assert sorted(titles(out)) == sorted(["first %d" % i for i in range(4)]
                                         + ["then 0", "then 1"]), titles(out)
    assert b.stop() == 0


def restart_keeps_the_decision():
    d = workdir("start-restart")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    state = os.path.join(d, "sub.db")
    auto, head = os.path.join(d, "auto.log"), os.path.join(d, "head.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, state, [
        log_sink("auto", auto), log_sink("head", head, 'start = "head";')])
    s = Sub(conf).start()
    s.wait_log(r"sink auto: new, starts after seq 0 .*empty journal")
    s.wait_log(r"sink head: new, starts after seq 0 .*start = head")
    assert s.stop() == 0
    assert has_row(state, "auto") == (0,) and has_row(state, "head") == (0,)
    publish(b, [ev("meanwhile", i, OLD_MS + i) for i in range(3)])
    s = Sub(conf).start()
    wait_until(lambda: len(read_lines(auto)) >= 3 and len(read_lines(head)) >= 3,
               what="events published between the first run and the restart")
    assert s.stop() == 0
    assert "new, starts after" not in s.log_text(), s.log_text()
    want = ["meanwhile %d" % i for i in range(3)]
    assert titles(auto) == want and titles(head) == want, (titles(auto), titles(head))
    assert b.stop() == 0


def main():
    running_installation()
    new_installation()
    restart_keeps_the_decision()
    print("ok: a sink added to a running installation starts at the head (2 of 10 events), "
          "a new installation's sink gets everything (6 of 6), the decision survives a restart")


if __name__ == "__main__":
    main()
    sys.exit(0)
