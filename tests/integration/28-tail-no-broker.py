#!/usr/bin/python3
"""tail_says_when_the_broker_is_silent: `veille tail` against an endpoint
where no broker listens, and against a CURVE broker that refuses its key,
says within a few seconds (without -v) that no heartbeat came, naming the
endpoint (and, with CURVE, that the key may be refused); with --timeout-ms
it then exits 1 (not 0) and its summary says "no cursor" instead of
printing UINT64_MAX. Once the broker is there, the same tail reports it
reached it and exits 0 at the timeout."""
import os
import subprocess
import sys
import time

from client_procs import Broker, Proc, veille_bin, workdir


def keygen(d, name):
    subprocess.run([veille_bin(), "keygen", "-d", d, name], check=True, capture_output=True)
    return os.path.join(d, name + ".key"), os.path.join(d, name + ".pub")


def run_tail(sub_ep, replay_ep, *extra, timeout_ms=8000):
    p = Proc([veille_bin(), "tail", "-s", sub_ep, "-r", replay_ep, "--timeout-ms",
              str(timeout_ms)] + list(extra) + ["un."])
    t0 = time.time()
    m = p.wait_stderr(r"no heartbeat from the broker at (\S+) after (\d+) s", timeout=60)
    warned_after = time.time() - t0
    rc = p.wait(60)
    return p, m, warned_after, rc


def main():
    # 1. nothing listens there
    empty = workdir("tail-nobody")
    sub_ep, replay_ep = "ipc://%s/sub.sock" % empty, "ipc://%s/rep.sock" % empty
    p, m, after, rc = run_tail(sub_ep, replay_ep)
    err = p.stderr_text()
    assert m.group(1) == sub_ep, err
    assert after < 30, "warned only after %.1f s" % after
    assert rc == 1, "exit %s after --timeout-ms without a broker; stderr:\n%s" % (rc, err)
    assert "ended without a heartbeat from the broker at " + sub_ep in err, err
    assert "no cursor" in err and "18446744073709551615" not in err, err
    assert "CURVE" not in err, err

    # 2. a CURVE broker that does not know this client's key
    d = workdir("tail-no-broker")
    keys, pubs, subs = (os.path.join(d, x) for x in ("keys", "publishers", "subscribers"))
    for x in (keys, pubs, subs):
        os.mkdir(x)
    broker_key, broker_pub = keygen(keys, "broker")
    stranger_key, _ = keygen(keys, "stranger")
    b = Broker(d, conf_extra='heartbeat_ms = 100;\n  curve_secret_key = "%s";\n'
               '  curve_publishers = "%s";\n  curve_subscribers = "%s";'
               % (broker_key, pubs, subs)).start()
    p, m, after, rc = run_tail(b.subscribe, b.replay, "--curve-secret", stranger_key,
                               "--curve-server", broker_pub)
    err = p.stderr_text()
    assert m.group(1) == b.subscribe, err
    assert "CURVE" in err and "refusing this client's key" in err, err
    assert rc == 1 and "no cursor" in err, err
    assert b.stop() == 0

    # 3. the broker comes up after the warning: the tail says it reached it
    late = workdir("tail-late-broker")
    b = Broker(late, endpoints="ipc", conf_extra="heartbeat_ms = 100;")
    p = Proc([veille_bin(), "tail", "-s", "ipc://%s/sub.sock" % late, "-r",
              "ipc://%s/rep.sock" % late, "--timeout-ms", "60000", "un."])
    p.wait_stderr(r"no heartbeat from the broker at", timeout=60)
    b.start()
    p.wait_stderr(r"broker at \S+ reached", timeout=60)
    p.wait_stderr(r"^veille tail: subscribed", timeout=60)
    p.stop()
    assert b.stop() == 0
    print("ok: veille tail warns after %.1f s without a heartbeat (plain and CURVE) and "
          "exits 1 at --timeout-ms" % after)


if __name__ == "__main__":
    main()
    sys.exit(0)
