#!/usr/bin/python3
"""curve_keys_gate_publish_and_tail: with CURVE keys made by `veille keygen`
on the broker, `veille pub` with a publisher key is stored and `veille tail`
with a subscriber key receives it (live and replayed); a plaintext tail, a
subscriber key trying to publish and a stranger's key all get nothing."""
import os
import subprocess
import sys

from client_procs import Broker, Proc, pub_stdin, tail, veille_bin, workdir


def keygen(d, name):
    subprocess.run([veille_bin(), "keygen", "-d", d, name], check=True, capture_output=True)
    return os.path.join(d, name + ".key"), os.path.join(d, name + ".pub")


def main():
    d = workdir("curve")
    keys, pubs, subs = (os.path.join(d, x) for x in ("keys", "publishers", "subscribers"))
    for x in (keys, pubs, subs):
        os.mkdir(x)
    broker_key, broker_pub = keygen(keys, "broker")
    pub_key, pub_pub = keygen(keys, "watcher")
    sub_key, sub_pub = keygen(keys, "reader")
    stranger_key, _ = keygen(keys, "stranger")
    os.rename(pub_pub, os.path.join(pubs, "watcher.pub"))
    os.rename(sub_pub, os.path.join(subs, "reader.pub"))
    b = Broker(d, conf_extra='heartbeat_ms = 100;\n  curve_secret_key = "%s";\n'
               '  curve_publishers = "%s";\n  curve_subscribers = "%s";'
               % (broker_key, pubs, subs)).start()

    def creds(key):
        return ["--curve-secret", key, "--curve-server", broker_pub]

    t = tail(b, ["un."], "--json", "--count", "2", *creds(sub_key))
    line = ['{"topic":"un.sec","title":"secret 1","url":"https://example.org/s1"}']
    rc, err = pub_stdin(b, line, *creds(pub_key))
    assert rc == 0 and "1 stored" in err, err
    # a subscriber key may not publish; a stranger may not either
    for key in (sub_key, stranger_key):
        rc, err = pub_stdin(b, ['{"topic":"un.sec","title":"intruder"}'], *creds(key),
                            "--timeout-ms", "1500")
        assert rc == 1 and "0 stored" in err, err
    rc, err = pub_stdin(b, ['{"topic":"un.sec","title":"secret 2"}'], *creds(pub_key))
    assert rc == 0, err
    got = t.read_lines(2)
    assert t.wait(30) == 0, t.stderr_text()
    assert "secret 1" in got[0] and "secret 2" in got[1], got

    # replay over CURVE, and nothing for plaintext or a stranger
    r = Proc([veille_bin(), "tail", "-s", b.subscribe, "-r", b.replay, "--from-seq", "0",
              "--count", "2", "--timeout-ms", "20000"] + creds(sub_key) + ["un."])
    assert len(r.read_lines(2)) == 2 and r.wait(30) == 0, r.stderr_text()
    for extra in ([], creds(stranger_key)):
        p = Proc([veille_bin(), "tail", "-s", b.subscribe, "-r", b.replay, "--from-seq", "0",
                  "--timeout-ms", "2000"] + extra + ["un."])
        assert p.wait(30) == 1   # never reached the broker
        assert p.out.get(timeout=5) is None, "an unauthorised tail got an event"
    assert b.stop() == 0
    print("ok: CURVE allow-lists respected by veille pub / veille tail")


if __name__ == "__main__":
    main()
    sys.exit(0)
