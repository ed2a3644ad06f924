#!/usr/bin/python3
"""console_archive_survives_a_journal_replaced_while_down: veille-console
archives events 1..5 and stops (its archive holds cursor 5 and the
journal's epoch). While it is down the broker's journal is wiped and 8 new
events are published under a new epoch (seq 1..8 again). Started again,
the console sees the other epoch, replays the new journal from the start
and archives all 8 (without the persisted epoch, new seqs 1..5 would be
taken for the old ones and skipped); the old 5 stay, none twice (14 rows
after one more live event). A restart on the same journal adds nothing."""
import os
import shutil
import sqlite3
import sys

from broker_harness import Broker, workdir
from console_harness import Console, alert, archive_count
from sub_harness import publish, wait_until


def meta(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return dict(db.execute("SELECT k, v FROM meta").fetchall())
    finally:
        db.close()


def main():
    d = workdir("console-wipe")
    b = Broker(d, endpoints="ipc", conf_extra="heartbeat_ms = 100;").start()
    archive = os.path.join(d, "console.db")
    c = Console(b, archive).start()
    old = [alert(i, topic="un.wipe", salt="old") for i in range(5)]
    assert publish(b, [(t, raw) for t, _, raw in old]) == [1, 2, 3, 4, 5]
    wait_until(lambda: meta(archive).get("cursor", 0) >= 5, what="cursor 5")
    assert c.stop() == 0
    first_epoch = meta(archive).get("epoch")
    assert first_epoch, meta(archive)

    assert b.stop() == 0
    shutil.rmtree(b.journal_dir)
    b.start()
    new = [alert(i, topic="un.wipe", salt="new") for i in range(8)]
    assert publish(b, [(t, raw) for t, _, raw in new]) == list(range(1, 9))

    c = Console(b, archive).start()
    last = alert(99, topic="un.wipe", salt="new")
    publish(b, [(last[0], last[2])])
    wait_until(lambda: archive_count(archive)[0] >= 14, what="14 alerts archived")
    wait_until(lambda: meta(archive).get("cursor", 0) >= 9, what="cursor 9")
    assert c.stop() == 0
    n, distinct = archive_count(archive)
    assert n == distinct == 14, (n, distinct)
    assert meta(archive)["epoch"] not in (None, first_epoch), meta(archive)

    c = Console(b, archive).start()
    after = alert(100, topic="un.wipe", salt="new")
    publish(b, [(after[0], after[2])])
    wait_until(lambda: archive_count(archive)[0] >= 15, what="the event after the restart")
    assert c.stop() == 0
    assert archive_count(archive) == (15, 15), archive_count(archive)
    b.stop()
    print("console journal wiped: 14 then 15 alerts, once each: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
