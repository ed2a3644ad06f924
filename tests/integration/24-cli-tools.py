#!/usr/bin/python3
"""veille_cli_tools_behave: --help/--version/usage exit codes of every
subcommand; `veille check` (ok, file:line errors, exit 2, --dump-keys);
`veille keygen` (0600 secret, no overwrite); `veille pub` exit codes
(stored, rejected by the broker, invalid locally); `veille tail` text lines
carry no control characters from hostile content and SIGTERM ends it
cleanly; `veille stats` prints a stats message."""
import re
import json
import os
import stat
import subprocess
import sys
import time

from client_procs import Broker, pub_stdin, tail, veille_bin, workdir


def run(*args, stdin=None):
    p = subprocess.run([veille_bin()] + list(args), input=stdin, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check_usage():
    rc, out, _ = run("--version")
    assert rc == 0 and out.startswith("veille "), out
    assert run("--help")[0] == 0
    for cmd in ("tail", "pub", "check", "keygen", "stats", "status"):
        rc, out, _ = run(cmd, "--help")
        assert rc == 0 and "usage: veille " + cmd in out, (cmd, out)
        assert run(cmd, "--no-such-option")[0] == 2, cmd
    assert run("frobnicate")[0] == 2
    assert run()[0] == 2
    assert run("tail")[0] == 2                     # no prefix
    assert run("pub")[0] == 2                      # no topic
    assert run("check")[0] == 2
    assert run("status")[0] == 2                   # no -c CONFIG
    assert run("keygen")[0] == 2
    assert run("tail", "--count", "x", "un.")[0] == 2


def check_check(d):
    good = os.path.join(d, "good.conf")
    with open(good, "w") as f:
        f.write('broker = { journal_dir = "%s/j"; heartbeat_ms = 200; };\n' % d)
    rc, out, _ = run("check", good)
    assert rc == 0 and "ok" in out, out
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write('broker = {\n  journal_dir = "%s/j";\n  heartbeat_msx = 3;\n};\n' % d)
    rc, out, _ = run("check", good, bad)
    assert rc == 2, out
    assert "%s:3:" % bad in out and "heartbeat_ms" in out, out
    rc, out, _ = run("check", "--dump-keys")
    assert rc == 0
    for section in ("## `broker`", "## `watch`", "## `sub`", "`broker.journal_dir`"):
        assert section in out, section


def check_keygen(d):
    keys = os.path.join(d, "keys")
    os.mkdir(keys)
    rc, out, err = run("keygen", "-d", keys, "alice")
    assert rc == 0, err
    mode = stat.S_IMODE(os.stat(os.path.join(keys, "alice.key")).st_mode)
    assert mode == 0o600, oct(mode)
    assert os.path.exists(os.path.join(keys, "alice.pub"))
    assert run("keygen", "-d", keys, "alice")[0] != 0     # never overwrites


def check_pub_tail_stats(d):
    b = Broker(d, conf_extra="heartbeat_ms = 100;\n  stats_interval_s = 1;").start()
    t = tail(b, ["un."], "--count", "2")
    evil = "evil\x1b[31mred\x07 title\nsecond line\u202e"
    rc, out, err = run("pub", "-p", b.publish, "--topic", "un.test", "--title", evil,
                       "--url", "https://example.org/\x1b]0;x\x07", "--tag", "t\x1bag")
    assert rc == 0 and "1 stored" in err, err
    rc, err = pub_stdin(b, ['{"topic":"un.test","title":"plain","url":"https://example.org/2"}'])
    assert rc == 0, err
    lines = t.read_lines(2)
    assert t.wait(30) == 0
    for line in lines:
        assert all(ord(c) >= 0x20 and ord(c) != 0x7f for c in line), repr(line)
    # "#seq TIME topic type (source) title url [tags]"
    time_re = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.match(r"#1 %s un\.test new \(\S+\) " % time_re, lines[0]) \
        and "second line" in lines[0], lines[0]
    assert re.match(r"#2 %s un\.test new \(\S+\) plain https://example\.org/2" % time_re,
                    lines[1]), lines[1]
    # same event again: duplicate, still exit 0
    rc, err = pub_stdin(b, ['{"topic":"un.test","title":"plain","url":"https://example.org/2"}'])
    assert rc == 0 and "1 duplicate" in err, err
    # reserved topic: the broker rejects it -> exit 1
    rc, out, err = run("pub", "-p", b.publish, "--topic", "_sys.heartbeat", "--title", "x")
    assert rc == 1 and "1 rejected" in err, err
    # invalid locally: bad topic, bad JSON, wrong type -> exit 1, the rest published
    rc, err = pub_stdin(b, ['{"topic":"Bad Topic","title":"x"}', "{not json",
                            '{"topic":"un.x","title":5}', '{"topic":"un.x","title":"fine"}'])
    assert rc == 1 and "3 invalid" in err and "1 stored" in err, err
    # SIGTERM: a clean, prompt exit with the summary
    idle = tail(b, ["un."])
    t0 = time.time()
    assert idle.stop(10) == 0 and time.time() - t0 < 5
    idle.wait_stderr(r"^veille tail: 0 events")
    rc, out, err = run("stats", "-s", b.subscribe, "--timeout-ms", "10000")
    assert rc == 0, err
    st = json.loads(out)
    assert st["type"] == "stats" and st["head"] == 3 and st["stored"] == 3, st
    assert b.stop() == 0
    rc, out, err = run("pub", "-p", b.publish, "--topic", "un.test", "--timeout-ms", "500")
    assert rc == 1 and "1 unacked" in err, err     # broker gone: gives up


def main():
    d = workdir("cli")
    check_usage()
    check_check(d)
    check_keygen(d)
    check_pub_tail_stats(d)
    print("ok: veille CLI usage, check, keygen, pub, tail sanitising, stats")


if __name__ == "__main__":
    main()
    sys.exit(0)
