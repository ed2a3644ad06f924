#!/usr/bin/env python3
"""14-broker-cli: veille-broker's command line and process contract:
--help/--version exit 0, usage errors and bad configs exit 2 with a
file:line message, a second broker on the same journal or on a busy port
exits 1, SIGHUP reopens the log and keeps serving, SIGINT stops cleanly,
ipc:// endpoints work and are printed in the ready line."""
import os
import signal
import subprocess

import zmq

from broker_harness import Broker, Replayer, broker_bin, workdir, check


def run(args, timeout=30):
    p = subprocess.run([broker_bin()] + args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main():
    rc, out, _ = run(["--help"])
    check(rc == 0 and "usage: veille-broker" in out, "--help: %d" % rc)
    rc, out, _ = run(["--version"])
    check(rc == 0 and out.startswith("veille-broker "), "--version: %d %r" % (rc, out))
    rc, _, err = run([])
    check(rc == 2 and "usage:" in err, "no -c: exit 2 (%d)" % rc)
    rc, _, _ = run(["-c", "x.conf", "--log-level", "loud"])
    check(rc == 2, "bad log level: exit 2 (%d)" % rc)

    wd = workdir("b14")
    bad = os.path.join(wd, "bad.conf")
    with open(bad, "w") as f:
        f.write('broker = {\n  publish = "tcp://127.0.0.1:*";\n  fsync = "sometimes";\n  retention_hourz = 3;\n};\n')
    rc, _, err = run(["-c", bad])
    check(rc == 2, "bad config: exit 2 (%d)" % rc)
    check("bad.conf:" in err and "journal_dir" in err, "missing journal_dir reported: %r" % err)
    check("fsync" in err and "retention_hour" in err, "bad enum and unknown key reported: %r" % err)
    rc, _, err = run(["-c", os.path.join(wd, "nosuch.conf")])
    check(rc == 2, "missing config file: exit 2 (%d)" % rc)

    b = Broker(wd, endpoints="ipc")
    b.start()
    check(b.publish.startswith("ipc://") and b.publish.endswith("pub.sock"), "ipc endpoint: %s" % b.publish)
    # a second broker on the same journal directory is refused
    rc, _, err = run(["-c", b.conf])
    check(rc == 1 and "in use" in err, "second broker on the journal: exit 1, %r" % err[-300:])

    # SIGHUP: log reopened, still serving
    b.proc.send_signal(signal.SIGHUP)
    b.wait_log("SIGHUP: log reopened; other settings need a restart", 10)
    ctx = zmq.Context()
    rp = Replayer(ctx, b.replay)
    kind, _, end = rp.request({"op": "count"})
    check(kind == "END" and end["head"] == 0, "serving after SIGHUP")
    rp.close()

    # busy port: exit 1
    wd2 = workdir("b14b")
    s = ctx.socket(zmq.REP)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    conf2 = os.path.join(wd2, "c.conf")
    with open(conf2, "w") as f:
        f.write('broker = {\n  publish = "tcp://127.0.0.1:%d";\n  subscribe = "tcp://127.0.0.1:*";\n'
                '  replay = "tcp://127.0.0.1:*";\n  journal_dir = "%s/j";\n'
                '  allow_plaintext_tcp = true;\n};\n' % (port, wd2))
    rc, _, err = run(["-c", conf2])
    check(rc == 1 and "cannot bind" in err, "busy port: exit 1, %r" % err[-300:])
    s.close(0)

    b.proc.send_signal(signal.SIGINT)
    check(b.proc.wait(30) == 0, "SIGINT: exit 0")
    ctx.term()
    print("ok")


if __name__ == "__main__":
    main()
