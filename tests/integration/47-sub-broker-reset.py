#!/usr/bin/python3
"""sub_follows_a_broker_whose_journal_was_replaced: veille-sub has
delivered events 1..5; the broker is stopped, its journal wiped, and it
comes back with its sequence restarting at 1 under a new journal epoch.
The subscriber notices the new epoch (heartbeat or END), resets its cursors, and delivers the new events (seq
1..3 again) instead of skipping them as already seen; the old events,
published again, are not delivered twice (id window)."""
import os
import shutil
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, stored_cursor, wait_until, \
    workdir, write_conf


def main():
    d = workdir("subreset")
    b = Broker(d, endpoints="ipc", conf_extra="heartbeat_ms = 100;").start()
    path = os.path.join(d, "alerts.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"),
                      ['name = "text"; type = "log"; file = "%s";' % path])
    s = Sub(conf).start()
    old = [event(i, topic="un.reset", salt="old") for i in range(5)]
    publish(b, [("un.reset", e[1]) for e in old])
    wait_until(lambda: len(read_lines(path)) >= 5, what="first events")
    # let the cursor reach 5 first: with the old "head below the cursor"
    # sign alone, a wipe while the cursor was still < 3 went unnoticed (the
    # intermittent failure); the epoch now catches it whatever the cursor
    state = os.path.join(d, "sub.db")
    wait_until(lambda: stored_cursor(state, "text") >= 5, what="cursor 5")
    assert b.stop() == 0
    shutil.rmtree(b.journal_dir)
    b.start()
    new = [event(i, topic="un.reset", salt="new") for i in range(3)]
    seqs = publish(b, [("un.reset", e[1]) for e in new])
    assert seqs == [1, 2, 3], seqs
    s.wait_log(r"broker sequence restarted")
    s.wait_log(r"journal epoch changed")
    wait_until(lambda: len(read_lines(path)) >= 8, what="events after the reset")
    publish(b, [("un.reset", e[1]) for e in old[:2]])     # seq 4, 5 with old ids
    last = event(99, topic="un.reset", salt="new")
    publish(b, [("un.reset", last[1])])
    wait_until(lambda: any(last[0] in l for l in read_lines(path)), what="last event")
    assert s.stop() == 0
    lines = read_lines(path)
    for e in old:
        assert sum(1 for l in lines if " id=%s " % e[0] in l) == 1, e[0]
    for e in new + [last]:
        assert sum(1 for l in lines if " id=%s " % e[0] in l) == 1, e[0]
    assert len(lines) == 9, "\n".join(lines)
    assert b.stop() == 0
    print("ok: journal replaced under the subscriber; new events delivered, old ones not repeated")


if __name__ == "__main__":
    main()
    sys.exit(0)
