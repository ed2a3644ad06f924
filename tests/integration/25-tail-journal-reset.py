#!/usr/bin/python3
"""tail_survives_broker_restart_and_journal_wipe: a live `veille tail` keeps
its sockets while the broker restarts (same ipc endpoints): after a normal
restart it gets the new events without gap or duplicate; after a restart
with a wiped journal (seqs start again at 1, new journal epoch) it warns,
resyncs from 0 and still prints every new event once; a second wipe where
the new head already passes the tail's cursor (200 > 150: the old "head
behind the cursor" sign never shows) is caught by the epoch too."""
import re
import shutil
import sys

from client_procs import Broker, event_lines, parse_json_lines, pub_stdin, tail, workdir


def main():
    d = workdir("reset")
    b = Broker(d, endpoints="ipc", conf_extra="heartbeat_ms = 100;").start()
    t = tail(b, ["un."], "--json", "--count", "650", "--request-timeout-ms", "1000")
    assert pub_stdin(b, event_lines(200, salt="a"))[0] == 0
    first = parse_json_lines(t.read_lines(200))
    assert [e["seq"] for e in first] == list(range(1, 201))

    assert b.stop() == 0                       # plain restart: journal kept
    b.start()
    assert pub_stdin(b, event_lines(100, salt="b"))[0] == 0
    second = parse_json_lines(t.read_lines(100))
    assert sorted(e["seq"] for e in second) == list(range(201, 301)), "gap after restart"

    assert b.stop() == 0                       # wiped journal: seqs restart at 1
    shutil.rmtree(b.journal_dir)
    b.start()
    assert pub_stdin(b, event_lines(150, salt="c"))[0] == 0
    third = parse_json_lines(t.read_lines(150))
    assert sorted(e["title"] for e in third) == sorted("c %d" % i for i in range(150))
    assert sorted(e["seq"] for e in third) == list(range(1, 151))
    t.wait_stderr(r"epoch changed .*resyncing from 0")

    assert b.stop() == 0                       # wiped again; new head passes the cursor
    shutil.rmtree(b.journal_dir)
    b.start()
    assert pub_stdin(b, event_lines(200, salt="d"))[0] == 0
    fourth = parse_json_lines(t.read_lines(200))
    assert t.wait(60) == 0, t.stderr_text()
    assert sorted(e["title"] for e in fourth) == sorted("d %d" % i for i in range(200))
    assert sorted(e["seq"] for e in fourth) == list(range(1, 201))
    err = t.stderr_text()
    assert len(re.findall(r"epoch changed .*resyncing from 0", err)) == 2, err
    assert b.stop() == 0
    print("ok: tail kept going across a restart and a journal wipe")


if __name__ == "__main__":
    main()
    sys.exit(0)
