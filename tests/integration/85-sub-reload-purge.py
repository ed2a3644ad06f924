#!/usr/bin/python3
"""sub_reload_keeps_removed_cursors_until_purged: sinks a and b run.
1. a reload whose new sink cannot be built (its log file's directory does
   not exist) changes nothing, all or nothing: b is not touched, c never
   starts;
2. b removed by a reload, events published, b added again: its kept
   cursor brings it exactly what it missed, nothing twice;
3. `--purge-sink` refuses a configured sink; b removed again, purged
   while veille-sub runs (its cursor row is gone; a second purge finds
   nothing), events published, b added again with start = "head": it is
   placed afresh and gets only what comes after."""
import json
import os
import signal

from sub_harness import (Broker, Sub, event, publish, read_lines, run_sub, stored_cursor,
                         wait_until, workdir, write_conf)


def log_sink(name, path, extra=""):
    return 'name = "%s"; type = "log"; format = "json"; file = "%s"; %s' % (name, path, extra)


def ids(path):
    return [json.loads(line)["id"] for line in read_lines(path)]


def once(got, want):
    """GOT holds each of WANT exactly once (in any order: after a
    re-subscription live events may pass replayed ones)."""
    return sorted(got) == sorted(want)


class Events:
    def __init__(self, broker):
        self.broker, self.ids = broker, []

    def send(self, n):
        items = [event(len(self.ids) + i, salt="purge") for i in range(n)]
        publish(self.broker, [("un.test", data) for _, data in items])
        self.ids += [eid for eid, _ in items]
        return [eid for eid, _ in items]


def main():
    d = workdir("sub-reload-purge")
    b = Broker(d, conf_extra="heartbeat_ms = 100;").start()
    state, conf = os.path.join(d, "sub.db"), os.path.join(d, "sub.conf")
    pa, pb, pc = (os.path.join(d, n + ".log") for n in "abc")
    A, B = log_sink("a", pa), log_sink("b", pb)
    write_conf(conf, b, state, [A, B])
    s = Sub(conf).start()
    ev = Events(b)
    reloads = [0]

    def reload(sinks, expect):
        write_conf(conf, b, state, sinks)
        reloads[0] += 1
        seen = s.count_log(expect)            # counted before the signal
        s.signal(signal.SIGHUP)
        s.wait_log(expect, 60, count=seen + 1)

    ev.send(5)
    wait_until(lambda: once(ids(pa), ev.ids) and once(ids(pb), ev.ids), what="first events")

    # 1. all or nothing
    bad = log_sink("c", os.path.join(d, "no-such-dir", "c.log"))
    reload([A, log_sink("b", pb, "max_attempts = 3;"), bad],
           r"reload: nothing changed .*the running configuration stays")
    assert not os.path.exists(pc) and s.count_log(r"sink b: stopped") == 0
    ev.send(3)
    wait_until(lambda: once(ids(pa), ev.ids) and once(ids(pb), ev.ids), what="b still running")

    # 1b. what `veille check` refuses is refused by a reload too: a sink
    # that would never fire (types = ["neww"]) keeps the running sinks
    reload([A, log_sink("b", pb, 'types = ["neww"];')],
           r"reload: .* has errors \(above\); the running configuration stays")
    ev.send(2)
    wait_until(lambda: once(ids(pa), ev.ids) and once(ids(pb), ev.ids),
               what="b unchanged after a refused reload")

    # 2. removed, then back: resumes from its cursor
    reload([A], r"reload: 0 sink\(s\) added, 1 removed, 0 changed")
    missed = ev.send(4)
    wait_until(lambda: once(ids(pa), ev.ids), what="a alone")
    assert once(ids(pb), ev.ids[:-4]), "a removed sink still got events"
    reload([A, B], r"reload: 1 sink\(s\) added, 0 removed, 0 changed")
    wait_until(lambda: once(ids(pb), ev.ids), what="b catching up from its cursor")
    assert once(ids(pb)[-4:], missed)

    # 3. purge
    rc, out, _ = run_sub(conf, "--purge-sink", "a")
    assert rc == 2 and "is configured" in out, out
    reload([A], r"reload: 0 sink\(s\) added, 1 removed, 0 changed")
    assert stored_cursor(state, "b") > 0
    rc, out, _ = run_sub(conf, "--purge-sink", "b")
    assert rc == 0 and "sink b: purged" in out, out
    assert stored_cursor(state, "b") == 0
    rc, out, _ = run_sub(conf, "--purge-sink", "b")
    assert rc == 2 and "nothing stored" in out, out
    gone = ev.send(3)
    wait_until(lambda: once(ids(pa), ev.ids), what="a alone again")
    before = len(ids(pb))
    reload([A, log_sink("b", pb, 'start = "head";')],
           r"reload: 1 sink\(s\) added, 0 removed, 0 changed")
    s.wait_log(r"sink b: new, starts after seq %d" % len(ev.ids), 60)
    fresh = ev.send(2)
    wait_until(lambda: once(ids(pa), ev.ids) and len(ids(pb)) >= before + 2,
               what="b placed afresh")
    assert once(ids(pb)[before:], fresh), "purged b got %r" % ids(pb)[before:]
    assert not set(gone) & set(ids(pb))
    assert s.stop() == 0
    print("ok: %d events, %d reloads" % (len(ev.ids), reloads[0]))
    assert b.stop() == 0


if __name__ == "__main__":
    main()
