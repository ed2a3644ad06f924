#!/usr/bin/python3
"""60-curve-auth: curve_allow_lists_admit_only_authorised_keys.

`veille keygen` writes the keys (secret 0600). The broker runs with CURVE
and two allow-lists (publishers: pub1; subscribers: sub1). Then:
  - authorised: a pyzmq publisher and `veille pub` with pub1's key are
    acked; a pyzmq SUB, `veille tail`, veille-sub and replay with sub1's key
    get the events; a watcher with its own publisher key gets its item in;
  - refused, and given nothing: publishers that are plaintext, use a
    subscriber key, an unknown key, or trust the wrong server key;
    subscribers that are plaintext, use a publisher key or an unknown key;
    replay clients that are plaintext or use a publisher key. None of the
    refused events reaches the journal;
  - refusals are logged once per peer and endpoint (rate limit), the
    secret key never appears in a log, and a secret key file open to
    others is refused at start (exit 2)."""
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import threading
import time

import msgpack
import zmq

from broker_harness import Broker, check, make_event, parse_reply, workdir
from soak_driver import write_feed

BIN = os.environ.get("VEILLE_BIN", "build")
VEILLE = os.path.join(BIN, "tools", "veille")
WATCH = os.path.join(BIN, "watchers", "veille-watch")
SUB = os.path.join(BIN, "subscribers", "veille-sub")
PROCS = []


def read_key(path):
    for line in open(path):
        line = line.strip()
        if len(line) == 40 and not line.startswith("#"):
            return line.encode()
    raise AssertionError("no key in " + path)


class Keys:
    def __init__(self, d):
        self.d = d

    def gen(self, name):
        r = subprocess.run([VEILLE, "keygen", "-d", self.d, name], capture_output=True, text=True)
        check(r.returncode == 0, "veille keygen %s: %s" % (name, r.stderr))
        sec = os.stat(self.sec(name)).st_mode & 0o777
        check(sec == 0o600, "secret key mode %o" % sec)
        return self

    def sec(self, name):
        return os.path.join(self.d, name + ".key")

    def pub(self, name):
        return os.path.join(self.d, name + ".pub")


def sock(ctx, kind, keys, client, server, ep):
    """A socket of KIND; CLIENT = key name or None (plaintext); SERVER = the
    name of the public key it trusts as the broker's."""
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    # a refused client's pipe may be gone before it sends (the handshake
    # failed first, libzmq does not reconnect after a ZAP refusal): a
    # blocking send would then wait for ever
    s.setsockopt(zmq.SNDTIMEO, 5000)
    if client:
        secret = read_key(keys.sec(client))
        s.setsockopt(zmq.CURVE_SECRETKEY, secret)
        s.setsockopt(zmq.CURVE_PUBLICKEY, zmq.curve_public(secret))
        s.setsockopt(zmq.CURVE_SERVERKEY, read_key(keys.pub(server)))
    s.connect(ep)
    return s


def step(what):
    print("curve: " + what, flush=True)


def publish(s, topic, ev, token):
    s.send_multipart([struct.pack(">Q", token), topic.encode(), ev])


def main():
    d = workdir("curve")
    keydir = os.path.join(d, "keys")
    os.makedirs(keydir)
    keys = Keys(keydir)
    for n in ("broker", "pub1", "sub1", "watch1", "stranger"):
        keys.gen(n)
    pubs, subs = os.path.join(d, "publishers"), os.path.join(d, "subscribers")
    os.makedirs(pubs)
    os.makedirs(subs)
    for n in ("pub1", "watch1"):
        shutil.copy(keys.pub(n), pubs)
    shutil.copy(keys.pub("sub1"), subs)

    # a secret key open to others is refused
    bad = os.path.join(d, "open.key")
    shutil.copy(keys.sec("broker"), bad)
    os.chmod(bad, 0o644)
    bconf_bad = os.path.join(d, "bad.conf")
    with open(bconf_bad, "w") as f:
        f.write('broker = { publish = "tcp://127.0.0.1:*"; subscribe = "tcp://127.0.0.1:*";'
                ' replay = "tcp://127.0.0.1:*"; journal_dir = "%s/jbad"; curve_secret_key = "%s";'
                ' curve_publishers = "%s"; curve_subscribers = "%s"; };' % (d, bad, pubs, subs))
    r = subprocess.run([os.path.join(BIN, "broker", "veille-broker"), "-c", bconf_bad],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "chmod 600" in r.stderr,
          "open secret key refused with exit 2: %s %r" % (r.returncode, r.stderr[-300:]))

    b = Broker(d, conf_extra='  curve_secret_key = "%s";\n  curve_publishers = "%s";\n'
               '  curve_subscribers = "%s";' % (keys.sec("broker"), pubs, subs)).start()
    b.wait_log(r"auth: CURVE on")
    ctx = zmq.Context.instance()

    step("broker up with CURVE")
    # subscribers first (so they are connected before anything is published)
    good_sub = sock(ctx, zmq.SUB, keys, "sub1", "broker", b.subscribe)
    bad_subs = {name: sock(ctx, zmq.SUB, keys, k, "broker", b.subscribe)
                for name, k in (("plaintext", None), ("publisher key", "pub1"),
                                ("unknown key", "stranger"))}
    for s in [good_sub] + list(bad_subs.values()):
        s.setsockopt(zmq.SUBSCRIBE, b"")
    tail = subprocess.Popen([VEILLE, "tail", "-s", b.subscribe, "-r", b.replay, "--json",
                             "--curve-secret", keys.sec("sub1"), "--curve-server",
                             keys.pub("broker"), "un."], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    PROCS.append(tail)
    tail_lines, tail_err = [], []
    threading.Thread(target=lambda: [tail_lines.append(l) for l in tail.stdout if l.strip()],
                     daemon=True).start()
    threading.Thread(target=lambda: [tail_err.append(l) for l in tail.stderr],
                     daemon=True).start()
    sink = os.path.join(d, "sink.jsonl")
    sconf = os.path.join(d, "sub.conf")
    with open(sconf, "w") as f:
        f.write('sub = {\n  subscribe = "%s";\n  replay = "%s";\n  state = "%s/sub.db";\n'
                '  curve_secret_key = "%s";\n  curve_server_key = "%s";\n  sinks = (\n'
                '    { name = "log"; type = "log"; format = "json"; file = "%s"; }\n  );\n};\n'
                % (b.subscribe, b.replay, d, keys.sec("sub1"), keys.pub("broker"), sink))
    sub = subprocess.Popen([SUB, "-c", sconf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "sub.log"), "w"))
    PROCS.append(sub)
    deadline = time.time() + 30
    while not any("subscribed" in l for l in tail_err):
        check(time.time() < deadline and tail.poll() is None,
              "veille tail with CURVE never subscribed: %r" % tail_err[-5:])
        time.sleep(0.05)
    while "veille-sub: ready" not in open(os.path.join(d, "sub.log")).read():
        check(time.time() < deadline and sub.poll() is None, "veille-sub with CURVE not ready")
        time.sleep(0.05)

    # authorised publisher (pyzmq): acked STORED
    good = sock(ctx, zmq.DEALER, keys, "pub1", "broker", b.publish)
    eid1, ev1 = make_event(1, "un.auth", 200, salt="good")
    publish(good, "un.auth", ev1, 1)
    check(good.poll(10000), "authorised publisher gets an ack")
    f = parse_reply(good.recv_multipart())
    check(f[0][1] == 0, "authorised publish STORED: %r" % f)

    step("authorised publisher acked")
    # refused publishers: no ack
    refused_ids = []
    for i, (name, k, srv) in enumerate((("plaintext", None, "broker"),
                                        ("subscriber key", "sub1", "broker"),
                                        ("unknown key", "stranger", "broker"),
                                        ("wrong server key", "pub1", "stranger"))):
        s = sock(ctx, zmq.DEALER, keys, k, srv, b.publish)
        eid, ev = make_event(i, "un.auth", 200, salt="evil")
        refused_ids.append(eid)
        try:
            publish(s, "un.auth", ev, 1)
        except zmq.Again:
            pass   # refused before it could even queue the event
        check(not s.poll(1500), "%s publisher must get no ack" % name)
        s.close(0)

    step("bad publishers refused")
    # veille pub with pub1's key
    r = subprocess.run([VEILLE, "pub", "-p", b.publish, "--stdin", "--curve-secret",
                        keys.sec("pub1"), "--curve-server", keys.pub("broker")],
                       input='{"topic":"un.auth","title":"from veille pub"}\n',
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "veille pub with CURVE: %s" % r.stderr)
    # and without keys it gives up (no ack)
    r = subprocess.run([VEILLE, "pub", "-p", b.publish, "--stdin", "--timeout-ms", "1500"],
                       input='{"topic":"un.auth","title":"plaintext veille pub"}\n',
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0, "plaintext veille pub must fail: %s" % r.returncode)

    step("veille pub ok")
    # a watcher with its own key
    feed = os.path.join(d, "feed.xml")
    write_feed(feed, 1)
    wconf = os.path.join(d, "watch.conf")
    with open(wconf, "w") as f:
        f.write('watch = {\n  broker = "%s";\n  state = "%s/watch.db";\n'
                '  curve_secret_key = "%s";\n  curve_server_key = "%s";\n  sources = (\n'
                '    { id = "w"; topic = "un.watch"; url = "file://%s"; interval = 3600; }\n'
                '  );\n};\n' % (b.publish, d, keys.sec("watch1"), keys.pub("broker"), feed))
    r = subprocess.run([WATCH, "-c", wconf, "--once", "--publish-existing"],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "watcher with CURVE keys: %s" % r.stderr[-500:])

    step("watcher ok")
    # the authorised SUB sees 3 events: pyzmq, veille pub, watcher
    got = []
    deadline = time.time() + 30
    while len(got) < 3 and time.time() < deadline:
        if good_sub.poll(200):
            t, seq, body = good_sub.recv_multipart()
            if not t.startswith(b"_sys."):
                got.append(msgpack.unpackb(body))
    check(len(got) == 3, "authorised subscriber got %d/3 events" % len(got))
    check(not set(refused_ids) & {e["id"] for e in got}, "no refused event was fanned out")
    for name, s in bad_subs.items():
        check(not s.poll(500), "%s subscriber must get nothing" % name)

    step("subscribers checked")
    # replay: sub1 is answered; plaintext and a publisher key are not
    rep = sock(ctx, zmq.DEALER, keys, "sub1", "broker", b.replay)
    rep.send(msgpack.packb({"op": "replay", "after": 0}))
    frames = []
    while True:
        check(rep.poll(10000), "authorised replay answers")
        f = rep.recv_multipart()
        if f[0] != b"E":
            break
        frames.append(msgpack.unpackb(f[3]))
    check(f[0] == b"END" and len(frames) == 3, "replay: %d events, %r" % (len(frames), f[0]))
    check(not set(refused_ids) & {e["id"] for e in frames}, "no refused event in the journal")
    for name, k in (("plaintext", None), ("publisher key", "pub1")):
        s = sock(ctx, zmq.DEALER, keys, k, "broker", b.replay)
        try:
            s.send(msgpack.packb({"op": "count"}))
        except zmq.Again:
            pass   # refused before it could even queue the request
        check(not s.poll(1500), "%s replay client must get no answer" % name)
        s.close(0)

    step("replay checked")
    # veille tail and veille-sub (sub1) got the un. events
    deadline = time.time() + 30
    while len(tail_lines) < 3 and time.time() < deadline:
        time.sleep(0.1)
    check(len(tail_lines) == 3, "veille tail with CURVE got %d/3" % len(tail_lines))
    deadline = time.time() + 30
    while time.time() < deadline:
        n = sum(1 for _ in open(sink)) if os.path.exists(sink) else 0
        if n >= 3:
            break
        time.sleep(0.1)
    check(n == 3, "veille-sub with CURVE delivered %d/3" % n)

    step("tail and veille-sub checked")
    # logs: refusals rate-limited per peer and endpoint, no secret
    log = b.log_text()
    refusals = re.findall(r"auth: refused (.+?) on (\w+): ", log)
    for peer, dom in refusals:
        print("  refused %s on %s" % (peer, dom))
    check(refusals, "refusals are logged")
    per = {}
    for peer, dom in refusals:
        per[(peer, dom)] = per.get((peer, dom), 0) + 1
    check(all(v == 1 for v in per.values()), "one line per peer and endpoint: %r" % per)
    check(read_key(keys.sec("broker")).decode() not in log, "secret key never logged")
    # plaintext clients fail in the handshake, before ZAP: the one monitor
    # of each endpoint (with its connection limit) reports them on all three
    # ("a peer of" + the listener: one line per endpoint, the rate limit's key)
    for dom in ("publish", "subscribe", "replay"):
        check(re.search(r"auth: refused a peer of \S+ on %s: \S" % dom, log),
              "a failed handshake is logged on %s" % dom)

    for p in (tail, sub):
        p.terminate()
        p.wait(30)
    check(b.stop() == 0, "broker exits 0")
    print("curve auth: authorised pub/sub/replay/tail/watch work; 4 bad publishers, "
          "3 bad subscribers, 2 bad replay clients refused; %d log line(s)" % len(refusals))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
