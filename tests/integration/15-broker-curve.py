#!/usr/bin/env python3
"""15-broker-curve: with curve_secret_key and the two allow-list
directories, the broker's endpoints are CURVE servers: a publisher key
publishes, a subscriber key receives the fan-out and replays, while a
subscriber key cannot publish, a publisher key cannot replay, and a
plaintext client gets nothing (and nothing it sent is stored)."""
import os

import zmq

from broker_harness import Broker, make_event, workdir, check, parse_reply, STORED
import struct


def write_keys(d, name):
    pub, sec = zmq.curve_keypair()
    with open(os.path.join(d, name + ".pub"), "wb") as f:
        f.write(b"# veille public key\n" + pub + b"\n")
    path = os.path.join(d, name + ".key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"# veille secret key\n" + sec + b"\n")
    os.close(fd)
    return pub, sec


def client(ctx, kind, endpoint, keys, server_pub):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if keys:
        s.curve_publickey, s.curve_secretkey = keys
        s.curve_serverkey = server_pub
    s.connect(endpoint)
    return s


def publish(s, n, topic="un.a"):
    _, ev = make_event(n, topic)
    s.send_multipart([struct.pack(">Q", n), topic.encode(), ev])
    if not s.poll(3000):
        return None
    return parse_reply(s.recv_multipart())[0]


def replay_count(s):
    import msgpack
    s.send(msgpack.packb({"op": "count"}))
    if not s.poll(3000):
        return None
    f = s.recv_multipart()
    return msgpack.unpackb(f[1])["count"]


def main():
    wd = workdir("b15")
    keys, pubs, subs = (os.path.join(wd, n) for n in ("keys", "publishers", "subscribers"))
    for d in (keys, pubs, subs):
        os.mkdir(d)
    broker_pub, _ = write_keys(keys, "broker")
    w1 = write_keys(pubs, "w1")
    desk = write_keys(subs, "desk")
    os.rename(os.path.join(pubs, "w1.key"), os.path.join(keys, "w1.key"))
    os.rename(os.path.join(subs, "desk.key"), os.path.join(keys, "desk.key"))
    stranger = zmq.curve_keypair()

    b = Broker(wd, conf_extra='  heartbeat_ms = 100;\n'
               '  curve_secret_key = "%s/broker.key";\n  curve_publishers = "%s";\n'
               '  curve_subscribers = "%s";' % (keys, pubs, subs))
    b.start()
    b.wait_log(r"auth: CURVE on", 5)
    ctx = zmq.Context()

    p = client(ctx, zmq.DEALER, b.publish, w1, broker_pub)
    a = publish(p, 1)
    check(a is not None and a[1] == STORED, "publisher key: STORED (%r)" % (a,))

    sub = client(ctx, zmq.SUB, b.subscribe, desk, broker_pub)
    sub.setsockopt(zmq.SUBSCRIBE, b"_sys.heartbeat")
    check(sub.poll(5000) and sub.recv_multipart()[0] == b"_sys.heartbeat", "subscriber key: heartbeat")

    r = client(ctx, zmq.DEALER, b.replay, desk, broker_pub)
    check(replay_count(r) == 1, "subscriber key: replay answers")

    for name, keys_, ep, kind in (("subscriber key on publish", desk, b.publish, "pub"),
                                  ("unknown key on publish", stranger, b.publish, "pub"),
                                  ("plaintext on publish", None, b.publish, "pub"),
                                  ("publisher key on replay", w1, b.replay, "rep"),
                                  ("plaintext on replay", None, b.replay, "rep")):
        s = client(ctx, zmq.DEALER, ep, keys_, broker_pub)
        got = publish(s, 2) if kind == "pub" else replay_count(s)
        check(got is None, "%s: no answer (%r)" % (name, got))
        s.close(0)

    bad_sub = client(ctx, zmq.SUB, b.subscribe, stranger, broker_pub)
    bad_sub.setsockopt(zmq.SUBSCRIBE, b"")
    check(not bad_sub.poll(1500), "unknown key on subscribe: nothing received")
    check(replay_count(r) == 1, "nothing stored by refused publishers")
    b.wait_log(r"auth: refused", 5)

    for s in (p, sub, r, bad_sub):
        s.close(0)
    check(b.stop() == 0, "clean stop")
    ctx.term()
    print("ok")


if __name__ == "__main__":
    main()
