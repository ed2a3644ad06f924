#!/usr/bin/python3
"""sub_log_sinks_deliver_clean_lines: veille-sub with a text file sink, a
JSON-lines file sink filtered by topic and keyword, fed through a real
broker: every hostile event becomes exactly one clean line (no control or
escape characters, valid UTF-8), JSON lines parse back, filters apply,
SIGHUP reopens the file after a logrotate rename, --test-sink and the
command-line contract (--help, --version, bad config = exit 2) hold."""
import json
import os
import signal
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, run_sub, wait_until, \
    workdir, write_conf

HOSTILE = [
    "Line one\r\nBcc: evil@example.org\r\nSubject: pwned",
    "He said \"hi\" \\ \\\" \\n",
    "\U0001F6A8 Alerte \U0001F1EB\U0001F1F7 cybers\u00e9curit\u00e9",
    "\u0645\u0631\u062d\u0628\u0627 \u202eevil.exe\u202c",
    "</script><script>alert(1)</script>",
    "\x1b[31mred\x1b[0m \x1b]0;owned\x07 tail\x7f\x01",
]


def clean(line):
    return (all(ord(c) >= 0x20 and ord(c) != 0x7f and not 0x80 <= ord(c) < 0xa0 for c in line)
            and "\u202e" not in line)


def main():
    d = workdir("sublog")
    b = Broker(d).start()
    text_path = os.path.join(d, "alerts.log")
    json_path = os.path.join(d, "alerts.jsonl")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "text"; type = "log"; file = "%s";' % text_path,
        'name = "json"; type = "log"; format = "json"; file = "%s"; topics = ["un."];'
        ' keywords = ["cybersecurite", "script"];' % json_path,
    ])
    assert run_sub(conf, "--help")[0] == 0
    assert run_sub(conf, "--version")[0] == 0
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write('sub = { state = "x.db"; sinks = ({ name = "a"; type = "log"; fromat = "json"; }); };')
    rc, _, err = run_sub(bad)
    assert rc == 2 and "fromat" in err, (rc, err)

    s = Sub(conf).start()
    topics = ["un.hostile"] * len(HOSTILE) + ["press.other"]
    items = [event(i, topic=topics[i], title=t, summary="s\r\n%d" % i, salt="h")
             for i, t in enumerate(HOSTILE + ["cybersecurite elsewhere"])]
    publish(b, list(zip(topics, (ev[1] for ev in items))))
    wait_until(lambda: len(read_lines(text_path)) >= len(items), what="text lines")
    wait_until(lambda: len(read_lines(json_path)) >= 2, what="json lines")
    lines = read_lines(text_path)
    assert len(lines) == len(items), lines
    for line in lines:
        assert clean(line), repr(line)
    for eid, _ in items:
        assert sum(1 for l in lines if " id=%s " % eid in l) == 1, eid
    js = [json.loads(l) for l in read_lines(json_path)]
    # un. only, keyword cybersecurite (accent-insensitive) or script
    assert sorted(j["title"] for j in js) == sorted([HOSTILE[2], HOSTILE[4]]), js
    assert all("</script>" not in l for l in read_lines(json_path))

    # logrotate: rename, SIGHUP, next alert goes to a new file
    os.rename(text_path, text_path + ".1")
    s.signal(signal.SIGHUP)
    s.wait_log(r"reopened .*alerts\.log")
    publish(b, [("un.test", event(100, title="after rotate", salt="h")[1])])
    wait_until(lambda: len(read_lines(text_path)) == 1, what="line in the new file")
    assert "after rotate" in read_lines(text_path)[0]
    assert len(read_lines(text_path + ".1")) == len(items)
    assert s.stop() == 0

    rc, out, err = run_sub(conf, "--test-sink", "text")
    assert rc == 0 and "delivered" in out, (rc, out, err)
    assert "veille test alert" in read_lines(text_path)[-1]
    rc, out, _ = run_sub(conf, "--test-sink", "nope")
    assert rc == 2, (rc, out)

    # a sink added later with start = "head" gets only what comes next
    late_path = os.path.join(d, "late.log")
    conf2 = write_conf(os.path.join(d, "sub2.conf"), b, os.path.join(d, "sub.db"), [
        'name = "text"; type = "log"; file = "%s";' % text_path,
        'name = "late"; type = "log"; file = "%s"; start = "head";' % late_path,
    ])
    s = Sub(conf2).start()
    s.wait_log(r"sink late: new, starts after seq \d+ .*start = head")
    publish(b, [("un.test", event(101, title="for late", salt="h")[1])])
    wait_until(lambda: len(read_lines(late_path)) >= 1 and len(read_lines(text_path)) >= 3,
               what="late sink")
    assert s.stop() == 0
    assert len(read_lines(late_path)) == 1 and "for late" in read_lines(late_path)[0]
    assert b.stop() == 0
    print("ok: %d hostile events -> clean lines; JSON filtered %d; SIGHUP reopen; --test-sink"
          % (len(items), len(js)))


if __name__ == "__main__":
    main()
    sys.exit(0)
