#!/usr/bin/env python3
"""local_publish_refused_outside_the_service_group:
1. A broker on the shipped endpoint layout (conf/broker.conf, its
   /run/veille moved to a temp runtime directory of mode 0750 owned by
   root and a test group): a process running as another uid (nobody, via
   setpriv) cannot connect to the publish socket (EACCES), `veille pub` and
   `veille tail` fail at once saying why; the same uid with the group as a supplementary group publishes.
   The journal holds only the group member's event. The sockets are 0660.
2. A plaintext tcp bind without the opt-in: the broker refuses to start,
   exit 2, naming file:line and allow_plaintext_tcp; with
   allow_plaintext_tcp = true it starts and logs a warning."""
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import zmq

from broker_harness import Broker, Replayer, broker_bin, check

SRC = os.environ["VEILLE_SRC"]
VEILLE = os.path.join(os.environ["VEILLE_BIN"], "tools", "veille")


def free_gid():
    gid = 54321
    while True:
        try:
            grp.getgrgid(gid)
            gid += 1
        except KeyError:
            return gid


def as_other(uid, gid, groups, argv, timeout=60):
    """Runs ARGV as UID/GID with exactly the supplementary GROUPS."""
    cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid]
    cmd += ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    p = subprocess.run(cmd + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print("refused errno=%d %s" % (e.errno, e.strerror))
"""


def shipped_conf(runtime, journal):
    text = open(os.path.join(SRC, "conf", "broker.conf"), encoding="utf-8").read()
    eps = re.findall(r'^\s*(publish|subscribe|replay)\s*=\s*"([^"]+)"', text, re.M)
    check(len(eps) == 3 and all(e.startswith("ipc:///run/veille/") for _, e in eps),
          "shipped broker.conf binds ipc:///run/veille/*: %r" % eps)
    text = text.replace("/run/veille", runtime)
    return re.sub(r'journal_dir = "[^"]*"', 'journal_dir = "%s"' % journal, text)


def part1(tmp):
    nobody = pwd.getpwnam("nobody")
    gid = free_gid()
    runtime = os.path.join(tmp, "run")
    os.mkdir(runtime)
    os.chown(runtime, 0, gid)
    os.chmod(runtime, 0o750)
    os.mkdir(os.path.join(tmp, "b1"))
    b = Broker(os.path.join(tmp, "b1"), endpoints="ipc")
    with open(b.conf, "w") as f:
        f.write(shipped_conf(runtime, os.path.join(tmp, "b1", "journal")))
    # The broker's primary group is the service group, as under systemd
    # (User=veille, Group=veille): its sockets belong to that group.
    os.setgid(gid)
    try:
        b.start()
    finally:
        os.setgid(0)
    pub_path = os.path.join(runtime, "publish.sock")
    check(b.publish == "ipc://" + pub_path, "publish on %s" % b.publish)
    for n in ("publish", "subscribe", "replay"):
        st = os.stat(os.path.join(runtime, n + ".sock"))
        check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid,
              "%s.sock is %o gid %d, expected 660 gid %d"
              % (n, stat.S_IMODE(st.st_mode), st.st_gid, gid))

    uid, ugid = nobody.pw_uid, nobody.pw_gid
    rc, out = as_other(uid, ugid, [], [sys.executable, "-c", CONNECT, pub_path])
    check("refused errno=13" in out, "nobody connecting to the publish socket: %r" % out)
    pub = [VEILLE, "pub", "-p", b.publish, "--topic", "forged.alert", "--title", "forged",
           "--url", "https://example.org/forged", "--timeout-ms", "3000"]
    rc, out = as_other(uid, ugid, [], pub)
    check(rc == 1 and "Permission denied" in out and "group" in out,
          "nobody's veille pub fails at once, saying why: rc=%d %r" % (rc, out))
    tail = [VEILLE, "tail", "-s", b.subscribe, "-r", b.replay, "--from-seq", "0", "--count", "1", "desk."]
    rc, out = as_other(uid, ugid, [], tail)
    check(rc == 1 and "Permission denied" in out, "nobody's veille tail: rc=%d %r" % (rc, out))

    rc, out = as_other(uid, ugid, [gid], [sys.executable, "-c", CONNECT, pub_path])
    check("connected" in out, "a member of the group connects: %r" % out)
    ok = [VEILLE, "pub", "-p", b.publish, "--topic", "desk.alert", "--title", "genuine",
          "--url", "https://example.org/genuine", "--timeout-ms", "30000"]
    rc, out = as_other(uid, ugid, [gid], ok)
    check(rc == 0, "a member of the group publishes: rc=%d %r" % (rc, out))

    ctx = zmq.Context()
    rp = Replayer(ctx, b.replay)
    events, _ = rp.replay_all()
    topics = [e[0] for e in events]
    check(topics == ["desk.alert"], "the journal holds only the member's event: %r" % topics)
    rp.close()
    ctx.term()
    b.stop()


def part2(tmp):
    d = os.path.join(tmp, "b2")
    os.mkdir(d)
    conf = os.path.join(d, "broker.conf")
    body = ('broker = {\n  publish = "tcp://127.0.0.1:*";\n'
            '  subscribe = "ipc://%s/sub.sock";\n  replay = "ipc://%s/rep.sock";\n'
            '  journal_dir = "%s/journal";\n%s};\n')
    with open(conf, "w") as f:
        f.write(body % (d, d, d, ""))
    p = subprocess.run([broker_bin(), "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60)
    err = p.stdout.decode(errors="replace")
    check(p.returncode == 2, "plaintext tcp without the opt-in: exit %d, expected 2: %r"
          % (p.returncode, err))
    check(conf + ":2:" in err and "allow_plaintext_tcp" in err and "broker.publish" in err,
          "the refusal names file:line, the key and the opt-in: %r" % err)
    check("ready" not in err, "refused before binding: %r" % err)

    os.mkdir(os.path.join(tmp, "b3"))
    b = Broker(os.path.join(tmp, "b3"), endpoints="ipc")
    with open(b.conf, "w") as f:
        f.write(body % (b.workdir, b.workdir, b.workdir, "  allow_plaintext_tcp = true;\n"))
    b.start()
    check(b.publish.startswith("tcp://127.0.0.1:"), "started on %s" % b.publish)
    b.wait_log(r"warn .*broker\.publish = \"tcp://127\.0\.0\.1:\*\" is plaintext "
               r"\(allow_plaintext_tcp = true\)", 10)
    b.stop()


def main():
    if os.geteuid() != 0:
        print("FAIL: needs root (runs clients as nobody)")
        return 1
    if not shutil.which("setpriv"):
        print("FAIL: setpriv not found (util-linux)")
        return 1
    tmp = tempfile.mkdtemp(prefix="veille-58.")
    os.chmod(tmp, 0o755)   # nobody must reach the runtime dir's door
    try:
        part1(tmp)
        part2(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: nobody refused (EACCES, veille pub fails), the group publishes; "
          "plaintext tcp refused without allow_plaintext_tcp, warned with it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
