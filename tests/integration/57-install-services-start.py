#!/usr/bin/env python3
"""installed_services_start_as_the_service_user: `cmake --install` into a
DESTDIR, then, in a private mount and network namespace where that DESTDIR
is mounted at /usr/local (so every installed path is the real one) and /etc
is a private copy (the user exists only in there: nothing to clean up, and
runs side by side do not meet):
  - the user and group veille are created from the installed sysusers.d
    file, the directories and modes from the installed tmpfiles.d file;
  - the configurations are 0640 root:veille in a 0750 root:veille
    directory, a CURVE secret key and a token file 0600 veille:veille
    (the daemons refuse secrets open to others), sub.env 0600 root, the
    state, log and runtime directories 0750 veille:veille;
  - `systemd-analyze verify` accepts the installed units (when available);
  - veille-broker, then veille-watch and veille-sub start as veille
    (runuser) on the installed configurations, each with NOTIFY_SOCKET on
    a datagram socket of this test and WATCHDOG_USEC=3 s: each sends
    READY=1 and then WATCHDOG=1 from its loop (two more within 10 s);
  - SIGTERM stops each with exit 0.
Then `cmake --install` as root without DESTDIR, in another such namespace
(empty /usr/local): the install itself creates the user and applies the
tmpfiles.d entry (configs root:veille 0640, /run/veille veille:veille).
The network namespace has no interface up: the shipped watch.conf's real
sources fail to resolve, nothing leaves the machine."""
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

BIN = os.environ["VEILLE_BIN"]
DAEMONS = ("broker", "watch", "sub")

INNER = r'''
set -u
tmp=$1 root=$2
# Private copies: /etc (the user veille lives only in here), the install at
# its real path, empty /run, /var/lib, /var/log.
cp -a /etc "$tmp/etc" && mount --bind "$tmp/etc" /etc || exit 10
mount --bind "$root/usr/local" /usr/local || exit 11
for d in /run /var/lib /var/log; do mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 12; done
# What an admin adds before the first start: a CURVE key, an env file,
# both too open, which tmpfiles.d must tighten.
mkdir -p /usr/local/etc/veille/keys /usr/local/etc/veille/secrets
echo secret >/usr/local/etc/veille/keys/broker.key && chmod 0644 /usr/local/etc/veille/keys/broker.key
echo token >/usr/local/etc/veille/secrets/ntfy.token && chmod 0644 /usr/local/etc/veille/secrets/ntfy.token
echo VEILLE_SMTP_PASSWORD=x >/usr/local/etc/veille/sub.env && chmod 0644 /usr/local/etc/veille/sub.env
systemd-sysusers /usr/local/lib/sysusers.d/veille.conf >"$tmp/sysusers.log" 2>&1 || exit 13
systemd-tmpfiles --create /usr/local/lib/tmpfiles.d/veille.conf >"$tmp/tmpfiles.log" 2>&1 || exit 14
stat -c '%n %a %U:%G' /usr/local/etc/veille /usr/local/etc/veille/*.conf \
  /usr/local/etc/veille/keys /usr/local/etc/veille/keys/broker.key /usr/local/etc/veille/sub.env \
  /usr/local/etc/veille/secrets /usr/local/etc/veille/secrets/ntfy.token \
  /var/lib/veille /var/lib/veille/broker /var/lib/veille/watch /var/lib/veille/sub \
  /var/log/veille /run/veille >"$tmp/modes.txt" 2>&1
if command -v systemd-analyze >/dev/null 2>&1; then
  (cd /usr/local/lib/systemd/system &&
   timeout 120 systemd-analyze verify --man=no veille-broker.service veille-watch.service \
     veille-sub.service) >"$tmp/verify.log" 2>&1
  echo "rc=$?" >>"$tmp/verify.log"
fi
start() {
  n=$1; shift
  runuser -u veille -- env NOTIFY_SOCKET="$tmp/notify-$n.sock" WATCHDOG_USEC=3000000 \
    "$@" 2>"$tmp/$n.log" </dev/null &
  echo $! >"$tmp/$n.pid"
}
stop() {
  for n in sub watch broker; do
    [ -s "$tmp/$n.pid" ] || continue
    pid=$(cat "$tmp/$n.pid")
    # the daemon itself (runuser's child): runuser would answer a SIGTERM
    # with a SIGKILL 2 s later; it passes on the daemon's exit code
    kill -TERM $(pgrep -P "$pid") 2>/dev/null
    wait "$pid"; echo $? >"$tmp/$n.rc"
  done
  exit 0
}
trap stop TERM
start broker /usr/local/bin/veille-broker -c /usr/local/etc/veille/broker.conf
for _ in $(seq 1 600); do [ -S /run/veille/replay.sock ] && break; sleep 0.1; done
ls -la /run/veille >"$tmp/run.txt" 2>&1
start watch /usr/local/bin/veille-watch -c /usr/local/etc/veille/watch.conf
start sub /usr/local/bin/veille-sub -c /usr/local/etc/veille/sub.conf
echo started >"$tmp/started"
while :; do sleep 1 & wait $!; done
'''


DIRECT = r'''
set -u
tmp=$1 bin=$2
mkdir -p "$tmp/direct/etc" "$tmp/direct/usr-local"
cp -a /etc "$tmp/direct/" && mount --bind "$tmp/direct/etc" /etc || exit 10
mount --bind "$tmp/direct/usr-local" /usr/local || exit 11
for d in /run /var/lib /var/log; do mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 12; done
cmake --install "$bin" --prefix /usr/local >"$tmp/direct.log" 2>&1 || exit 13
getent passwd veille >/dev/null || exit 14
stat -c '%n %a %U:%G' /usr/local/etc/veille/broker.conf /run/veille /var/lib/veille/sub
'''


def install_as_root(tmp):
    """cmake --install without DESTDIR in a private namespace: the install
    creates the user and applies the tmpfiles.d entry itself."""
    script = os.path.join(tmp, "direct.sh")
    with open(script, "w") as f:
        f.write(DIRECT)
    p = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private",
                        "bash", script, tmp, BIN], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300)
    out = p.stdout.decode(errors="replace")
    want = ["/usr/local/etc/veille/broker.conf 640 root:veille",
            "/run/veille 750 veille:veille", "/var/lib/veille/sub 750 veille:veille"]
    if p.returncode != 0 or any(w not in out for w in want):
        log = os.path.join(tmp, "direct.log")
        fail("install as root without DESTDIR (exit %d): %s\n%s" % (
            p.returncode, out, open(log).read()[-2000:] if os.path.exists(log) else ""))


def fail(msg, tmp=None):
    print("FAIL: " + msg)
    if tmp:
        for n in ("sysusers.log", "tmpfiles.log", "modes.txt", "verify.log", "run.txt",
                  "broker.log", "watch.log", "sub.log"):
            p = os.path.join(tmp, n)
            if os.path.exists(p):
                print("--- %s" % n)
                print(open(p, errors="replace").read()[-3000:])
    sys.exit(1)


def check_modes(tmp):
    want = {
        "/usr/local/etc/veille": ("750", "root:veille"),
        "/usr/local/etc/veille/broker.conf": ("640", "root:veille"),
        "/usr/local/etc/veille/watch.conf": ("640", "root:veille"),
        "/usr/local/etc/veille/sub.conf": ("640", "root:veille"),
        "/usr/local/etc/veille/sources.conf": ("640", "root:veille"),
        "/usr/local/etc/veille/keys": ("750", "root:veille"),
        "/usr/local/etc/veille/keys/broker.key": ("600", "veille:veille"),
        "/usr/local/etc/veille/secrets": ("750", "root:veille"),
        "/usr/local/etc/veille/secrets/ntfy.token": ("600", "veille:veille"),
        "/usr/local/etc/veille/sub.env": ("600", "root:root"),
        "/var/lib/veille": ("750", "veille:veille"),
        "/var/lib/veille/broker": ("750", "veille:veille"),
        "/var/lib/veille/watch": ("750", "veille:veille"),
        "/var/lib/veille/sub": ("750", "veille:veille"),
        "/var/log/veille": ("750", "veille:veille"),
        "/run/veille": ("750", "veille:veille"),
    }
    got = {}
    for line in open(os.path.join(tmp, "modes.txt")):
        parts = line.split()
        if len(parts) == 3:
            got[parts[0]] = (parts[1], parts[2])
    for path, w in want.items():
        if got.get(path) != w:
            fail("%s is %s, expected %s" % (path, got.get(path), w), tmp)


def check_verify(tmp):
    p = os.path.join(tmp, "verify.log")
    if not os.path.exists(p):
        print("note: systemd-analyze not available; units not verified")
        return
    out = open(p).read()
    rc = out.strip().splitlines()[-1]
    mine = [l for l in out.splitlines() if "veille-" in l]
    if rc not in ("rc=0", "rc=124") or mine:
        fail("systemd-analyze verify complains about the installed units", tmp)


def listen(tmp):
    socks = {}
    for n in DAEMONS:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        path = os.path.join(tmp, "notify-%s.sock" % n)
        s.bind(path)
        os.chmod(path, 0o666)   # the daemons run as veille
        socks[n] = s
    return socks


def collect(socks, tmp, deadline):
    """Until each daemon sent READY=1 and then two WATCHDOG=1 messages;
    returns {name: [messages]}."""
    msgs = {n: [] for n in DAEMONS}

    def done(n):
        m = msgs[n]
        ready = [i for i, x in enumerate(m) if "READY=1" in x.split("\n")]
        return ready and sum(1 for x in m[ready[0] + 1:] if x == "WATCHDOG=1") >= 2

    while not all(done(n) for n in DAEMONS):
        left = deadline - time.time()
        if left <= 0:
            fail("notifications so far: %r" % msgs, tmp)
        r, _, _ = select.select(list(socks.values()), [], [], min(left, 1.0))
        for n, s in socks.items():
            if s in r:
                msgs[n].append(s.recv(4096).decode(errors="replace"))
    return msgs


def main():
    if os.geteuid() != 0:
        print("FAIL: needs root (creates a user in a private namespace)")
        return 1
    for tool in ("unshare", "runuser", "systemd-sysusers", "systemd-tmpfiles"):
        if not shutil.which(tool):
            print("FAIL: %s not found (make deps installs systemd and util-linux)" % tool)
            return 1
    tmp = tempfile.mkdtemp(prefix="veille-57.")
    os.chmod(tmp, 0o755)   # veille reaches its notify socket in here
    root = os.path.join(tmp, "root")
    inst = subprocess.run(["cmake", "--install", BIN, "--prefix", "/usr/local"],
                          env=dict(os.environ, DESTDIR=root), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if inst.returncode != 0:
        fail("cmake --install failed:\n" + inst.stdout.decode(errors="replace")[-3000:])
    tmpfiles = os.path.join(root, "usr/local/lib/tmpfiles.d/veille.conf")
    if not os.path.exists(tmpfiles):
        fail("no tmpfiles.d entry installed (%s)" % tmpfiles)
    for c in ("broker.conf", "watch.conf", "sub.conf"):
        mode = stat.S_IMODE(os.stat(os.path.join(root, "usr/local/etc/veille", c)).st_mode)
        if mode & 0o007:
            fail("%s installed readable by others (%o)" % (c, mode))
    socks = listen(tmp)
    script = os.path.join(tmp, "inner.sh")
    with open(script, "w") as f:
        f.write(INNER)
    proc = subprocess.Popen(["unshare", "--mount", "--net", "--propagation", "private",
                             "bash", script, tmp, root], start_new_session=True,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(tmp, "started")):
            if proc.poll() is not None:
                fail("the namespace script exited %d before starting the daemons"
                     % proc.returncode, tmp)
            if time.time() > deadline:
                fail("daemons not started in time", tmp)
            time.sleep(0.1)
        check_modes(tmp)
        check_verify(tmp)
        msgs = collect(socks, tmp, time.time() + 90)
        for n in DAEMONS:
            log = open(os.path.join(tmp, "%s.log" % n), errors="replace").read()
            if "Permission denied" in log or "cannot read" in log:
                fail("%s cannot read what it needs" % n, tmp)
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    install_as_root(tmp)
    for n in DAEMONS:
        rcf = os.path.join(tmp, "%s.rc" % n)
        rc = open(rcf).read().strip() if os.path.exists(rcf) else "?"
        if rc != "0":
            fail("veille-%s exited %s on SIGTERM" % (n, rc), tmp)
    verify = open(os.path.join(tmp, "verify.log")).read().strip() \
        if os.path.exists(os.path.join(tmp, "verify.log")) else "not run"
    print("systemd-analyze verify: %s" % verify.replace("\n", " | "))
    print("ok: installed as veille; READY=1 then WATCHDOG=1 from %s (%s)"
          % (", ".join(DAEMONS), ", ".join("%s %d msgs" % (n, len(msgs[n])) for n in DAEMONS)))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
