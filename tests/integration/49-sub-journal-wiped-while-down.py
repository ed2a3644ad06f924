#!/usr/bin/python3
"""sub_notices_a_journal_replaced_while_it_was_down: veille-sub delivers
events 1..5 and stops (cursor 5). While it is down the broker's journal is
wiped, the broker restarts under a new journal epoch, and 8 new events are
published (seq 1..8: the new head is already past the old cursor, so "head
below the cursor" shows nothing). veille-sub starts again: the epoch it
persisted next to its cursors differs from the broker's, so it resyncs from
0 and delivers every new event exactly once, in order (the epoch is
checked before anything after the old cursor is replayed; without the
persisted epoch, new events 1..5 were taken for the old ones and skipped);
the old events are not repeated. A second restart with the same journal repeats nothing."""
import os
import shutil
import sqlite3
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, stored_cursor, wait_until, \
    workdir, write_conf


def count(lines, eid):
    return sum(1 for l in lines if " id=%s " % eid in l)


def stored_epoch(state):
    db = sqlite3.connect(state, timeout=10)
    try:
        row = db.execute("SELECT value FROM sub_meta WHERE key = 'broker_epoch'").fetchone()
    except sqlite3.OperationalError:
        row = None
    db.close()
    return row[0] if row else None


def main():
    d = workdir("subwipedown")
    b = Broker(d, endpoints="ipc", conf_extra="heartbeat_ms = 100;").start()
    path = os.path.join(d, "alerts.log")
    state = os.path.join(d, "sub.db")
    conf = write_conf(os.path.join(d, "sub.conf"), b, state,
                      ['name = "text"; type = "log"; file = "%s";' % path])
    s = Sub(conf).start()
    old = [event(i, topic="un.wipe", salt="old") for i in range(5)]
    assert publish(b, [("un.wipe", e[1]) for e in old]) == [1, 2, 3, 4, 5]
    wait_until(lambda: stored_cursor(state, "text") >= 5, what="cursor 5")
    assert s.stop() == 0
    first_epoch = stored_epoch(state)

    assert b.stop() == 0
    shutil.rmtree(b.journal_dir)
    b.start()
    new = [event(i, topic="un.wipe", salt="new") for i in range(8)]
    assert publish(b, [("un.wipe", e[1]) for e in new]) == list(range(1, 9))

    s = Sub(conf).start()
    last = event(99, topic="un.wipe", salt="new")
    publish(b, [("un.wipe", last[1])])
    wait_until(lambda: any(last[0] in l for l in read_lines(path)), what="last event")
    wait_until(lambda: stored_cursor(state, "text") >= 9, what="cursor 9")
    assert s.stop() == 0
    lines = read_lines(path)
    missing = [e[0] for e in new if count(lines, e[0]) == 0]
    assert not missing, "new events skipped: %s\n%s" % (missing, "\n".join(lines))
    for e in old + new + [last]:
        assert count(lines, e[0]) == 1, (e[0], "\n".join(lines))
    assert len(lines) == 14, "\n".join(lines)
    # the epoch is checked before anything after the old cursor is
    # replayed: the new journal comes in its own order, 1..8
    assert [l.split(" id=")[1].split()[0] for l in lines[5:13]] == [e[0] for e in new], \
        "\n".join(lines)
    assert s.count_log(r"journal epoch changed") == 1, s.log_text()
    assert first_epoch is not None and stored_epoch(state) not in (None, first_epoch)

    # same journal, same epoch: a restart neither resyncs nor repeats
    s = Sub(conf).start()
    after = event(100, topic="un.wipe", salt="new")
    publish(b, [("un.wipe", after[1])])
    wait_until(lambda: any(after[0] in l for l in read_lines(path)), what="event after restart")
    assert s.stop() == 0
    assert s.count_log(r"journal epoch changed|broker sequence restarted") == 0, s.log_text()
    assert len(read_lines(path)) == 15
    assert b.stop() == 0
    print("ok: journal wiped while veille-sub was down (new head 8 > cursor 5): "
          "9 new events delivered once each, 5 old ones not repeated")


if __name__ == "__main__":
    main()
    sys.exit(0)
