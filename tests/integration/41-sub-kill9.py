#!/usr/bin/python3
"""sub_kill9_during_burst_delivers_each_event_once_per_sink: 10,000 events
are published in a burst while veille-sub writes them to three sinks (text
file, JSON-lines file, and a JSON file limited to one topic prefix); the
subscriber is killed with SIGKILL in the middle of the burst and
restarted: after the restart every event is in every sink that wants it
exactly once (the cursor, the id window and the delivery intents checked
against the file cover the kill)."""
import json
import os
import re
import sys
import threading

from sub_harness import Broker, Sub, event, publish, read_lines, wait_until, workdir, write_conf

N = 10000


def ids_in_text(path):
    rx = re.compile(r" id=([0-9a-f]{32}) seq=")
    return [rx.search(l).group(1) for l in read_lines(path)]


def ids_in_json(path):
    return [json.loads(l)["id"] for l in read_lines(path)]


def main():
    d = workdir("subkill")
    b = Broker(d).start()
    paths = {k: os.path.join(d, k) for k in ("all.log", "all.jsonl", "odd.jsonl")}
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "text"; type = "log"; file = "%s";' % paths["all.log"],
        'name = "json"; type = "log"; format = "json"; file = "%s";' % paths["all.jsonl"],
        'name = "odd"; type = "log"; format = "json"; file = "%s"; topics = ["un.odd"];'
        % paths["odd.jsonl"],
    ])
    items = []
    for i in range(N):
        topic = "un.odd" if i % 2 else "un.even"
        items.append((topic, event(i, topic=topic, salt="k9")))
    want_all = sorted(e[1][0] for e in items)
    want_odd = sorted(e[1][0] for e in items if e[0] == "un.odd")

    s = Sub(conf).start()
    pub = threading.Thread(target=publish, args=(b, [(t, e[1]) for t, e in items]), daemon=True)
    pub.start()
    wait_until(lambda: len(read_lines(paths["all.log"])) >= N // 4, timeout=120,
               what="a quarter of the burst")
    s.kill9()
    killed_at = len(read_lines(paths["all.log"]))
    assert killed_at < N, "the kill came after the burst: the test proves nothing"
    pub.join(300)
    assert not pub.is_alive()

    s = Sub(conf, args=["--log-level", "info"]).start()
    try:
        wait_until(lambda: len(read_lines(paths["all.log"])) >= N
                   and len(read_lines(paths["all.jsonl"])) >= N
                   and len(read_lines(paths["odd.jsonl"])) >= N // 2, timeout=240,
                   what="every event in every sink")
    except AssertionError:
        print("lines: %s; killed at %d; veille-sub log tail:\n%s"
              % ({k: len(read_lines(v)) for k, v in paths.items()}, killed_at,
                 "\n".join(s.log_text().splitlines()[-40:])))
        raise
    assert s.stop() == 0       # anything duplicated would be written by now
    for name, got, want in (("text", ids_in_text(paths["all.log"]), want_all),
                            ("json", ids_in_json(paths["all.jsonl"]), want_all),
                            ("odd", ids_in_json(paths["odd.jsonl"]), want_odd)):
        assert len(got) == len(set(got)), "%s: %d duplicates" % (name, len(got) - len(set(got)))
        assert sorted(got) == want, "%s: %d events, want %d" % (name, len(got), len(want))
    settled = re.search(r"(\d+) delivery\(ies\) confirmed in the output", s.log_text())
    assert b.stop() == 0
    print("ok: killed after %d of %d lines; every event exactly once in 3 sinks (%s)"
          % (killed_at, N, settled.group(0) if settled else "no intent to settle"))


if __name__ == "__main__":
    main()
    sys.exit(0)
