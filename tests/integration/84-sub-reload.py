#!/usr/bin/python3
"""sub_reload_adds_removes_changes_sinks_exactly_once: a running veille-sub
with three log sinks (keep, drop, chg) gets SIGHUP while events are being
published: the new configuration adds `new` (start = "head"), removes
`drop` and changes `chg` (another file). Every event reaches each sink
exactly once for as long as it exists:
  - keep: every event, once (not disturbed by the reload; only events
    published while it happens may come in another order, as after any
    re-subscription);
  - drop: a gapless prefix, at least what it had before the reload, and
    its cursor stays in the state file;
  - chg: chg.log then chg2.log hold every event exactly once between them;
  - new: a gapless suffix with everything published after the reload.
Then a broken file (syntax error) and a change outside `sinks` are
refused with file:line in the log: the running sinks keep delivering."""
import json
import os
import signal
import threading
import time

from sub_harness import (Broker, Sub, event, publish, read_lines, stored_cursor, wait_until,
                         workdir, write_conf)


def log_sink(name, path, extra=""):
    return 'name = "%s"; type = "log"; format = "json"; file = "%s"; %s' % (name, path, extra)


def ids(path):
    return [json.loads(line)["id"] for line in read_lines(path)]


class Feeder(threading.Thread):
    """Publishes events one by one until stopped; keeps their ids in order."""

    def __init__(self, broker, salt):
        super().__init__(daemon=True)
        self.broker, self.salt, self.ids, self.stop = broker, salt, [], threading.Event()
        self.n = 0

    def one(self):
        eid, data = event(self.n, salt=self.salt)
        publish(self.broker, [("un.test", data)])
        self.ids.append(eid)
        self.n += 1

    def run(self):
        while not self.stop.is_set():
            self.one()
            time.sleep(0.01)          # a steady stream, not a synchronisation


def same(name, got, want):
    """Asserts GOT holds each event of WANT exactly once. Not the order: a
    re-subscription returns live events as they come while it replays
    (core/client_sub.h), so events published during the reload may pass
    each other."""
    dups = sorted({x for x in got if got.count(x) > 1})
    missing = set(want) - set(got)
    extra = set(got) - set(want)
    assert not dups and not missing and not extra, (
        "%s: %d lines for %d events: %d duplicated, %d missing, %d unexpected"
        % (name, len(got), len(want), len(dups), len(missing), len(extra)))


def main():
    d = workdir("sub-reload")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    state = os.path.join(d, "sub.db")
    p = {n: os.path.join(d, n + ".log") for n in ("keep", "drop", "chg", "chg2", "new")}
    conf = os.path.join(d, "sub.conf")
    write_conf(conf, b, state, [log_sink("keep", p["keep"]), log_sink("drop", p["drop"]),
                                log_sink("chg", p["chg"])])
    s = Sub(conf).start()
    f = Feeder(b, "reload")
    for _ in range(20):
        f.one()
    wait_until(lambda: all(len(ids(p[n])) == 20 for n in ("keep", "drop", "chg")),
               what="first deliveries")
    f.start()
    wait_until(lambda: len(f.ids) >= 60, what="stream going")
    write_conf(conf, b, state, [log_sink("keep", p["keep"]), log_sink("chg", p["chg2"]),
                                log_sink("new", p["new"], 'start = "head";')])
    s.signal(signal.SIGHUP)
    s.wait_log(r"reload: 1 sink\(s\) added, 1 removed, 1 changed", 60)
    s.wait_log(r"veille-sub: ready sinks=3", 60, count=2)     # subscribed again
    # the feeder has at most one event acked but not yet counted: what it
    # counts from here on was published once the new sink was placed
    after = len(f.ids) + 1
    wait_until(lambda: len(f.ids) >= after + 60, what="stream after the reload")

    # a broken file, then a change outside `sinks`: both refused, nothing stops
    with open(conf) as fh:
        good = fh.read()
    with open(conf, "w") as fh:
        fh.write(good.replace("sinks = (", "sinks = ( oops"))
    s.signal(signal.SIGHUP)
    s.wait_log(r"reload: .*sub\.conf:\d+", 60)
    s.wait_log(r"reload: .*does not load; the running configuration stays", 60)
    with open(conf, "w") as fh:
        fh.write(good.replace("request_timeout_ms = 1000", "request_timeout_ms = 1500"))
    s.signal(signal.SIGHUP)
    s.wait_log(r"reload: .*sub\.conf:\d+: `request_timeout_ms` changed.*restart", 60)
    f.stop.set()
    f.join()
    for _ in range(10):
        f.one()
    allids = f.ids
    wait_until(lambda: len(ids(p["keep"])) >= len(allids) and len(ids(p["new"])) > 0
               and allids[-1] in ids(p["new"])
               and len(ids(p["chg"])) + len(ids(p["chg2"])) >= len(allids),
               timeout=120, what="every event delivered")
    assert s.stop() == 0

    keep = ids(p["keep"])
    same("keep", keep, allids)
    drop = ids(p["drop"])
    assert len(drop) >= 60, "drop: %d lines" % len(drop)
    same("drop (a gapless prefix)", drop, allids[:len(drop)])
    assert stored_cursor(state, "drop") > 0, "drop's cursor was not kept"
    chg, chg2 = ids(p["chg"]), ids(p["chg2"])
    assert chg2, "chg: the new file got nothing"
    same("chg + chg2", chg + chg2, allids)
    new = ids(p["new"])
    k = min(allids.index(x) for x in new)
    same("new (a gapless suffix)", new, allids[k:])
    assert k <= after, "new: started at %d, after events published once it ran (%d)" % (k, after)
    assert s.count_log(r"reload: sinks unchanged") == 0
    print("ok: %d events; drop got %d, chg %d + chg2 %d, new %d (from #%d)"
          % (len(allids), len(drop), len(chg), len(chg2), len(new), k))
    assert b.stop() == 0


if __name__ == "__main__":
    main()
