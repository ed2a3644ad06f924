#!/usr/bin/python3
"""66-curve-revoke: curve_revoked_key_can_do_nothing_after_reload.

A CURVE broker (tcp, then ipc endpoints) with two publisher keys (pubA,
pubB) and two subscriber keys (subA, subB). Each client connects BEFORE
the reload and keeps its connection:
  - publish:   pubA (pyzmq DEALER) is acked STORED; pubB publishes without
               pause through the whole test, one event at a time;
  - subscribe: subA (pyzmq SUB) receives live events; subB is veille-sub
               (log sink), and on tcp also `veille tail`;
  - replay:    subA and subB (pyzmq DEALERs) are answered.
Then pubA.pub and subA.pub are removed and the broker gets SIGHUP. Within
a few seconds, on the connections they already have:
  - pubA's publishes get no ack and never reach the journal;
  - subA receives none of the events published after the reload (the
    subscribe endpoint was re-bound; its reconnection is refused by ZAP);
  - subA's replay requests get no answer;
while pubB's publishes are all acked STORED, subB's replay is answered and
veille-sub (and veille tail) deliver every event pubB published, before,
during and after the reload: 0 lost. The broker logs the dropped messages
(rate-limited) and the ipc socket file keeps mode 0660 after the re-bind.
A second reload that puts pubA back and removes no subscriber key re-binds
nothing, and pubA is acked again on the same connection.
Fails on the code before revocation: pubA is still acked after the reload."""
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

import msgpack
import zmq

from broker_harness import Broker, check, make_event, parse_reply, workdir
from procs import PROCS
from sub_harness import Sub, read_lines, write_conf

BIN = os.environ.get("VEILLE_BIN", "build")
VEILLE = os.path.join(BIN, "tools", "veille")
QUIET_S = 4          # how long a revoked key must get nothing
RELOAD_MAX_S = 5     # SIGHUP -> revocation in force


def read_key(path):
    for line in open(path):
        line = line.strip()
        if len(line) == 40 and not line.startswith("#"):
            return line.encode()
    raise AssertionError("no key in " + path)


def step(what):
    print("revoke: " + what, flush=True)


class Keys:
    def __init__(self, d):
        self.d = d
        os.makedirs(d)
        for n in ("broker", "pubA", "pubB", "subA", "subB"):
            r = subprocess.run([VEILLE, "keygen", "-d", d, n], capture_output=True, text=True)
            check(r.returncode == 0, "veille keygen %s: %s" % (n, r.stderr))

    def sec(self, name):
        return os.path.join(self.d, name + ".key")

    def pub(self, name):
        return os.path.join(self.d, name + ".pub")

    def sock(self, ctx, kind, client, ep):
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        secret = read_key(self.sec(client))
        s.setsockopt(zmq.CURVE_SECRETKEY, secret)
        s.setsockopt(zmq.CURVE_PUBLICKEY, zmq.curve_public(secret))
        s.setsockopt(zmq.CURVE_SERVERKEY, read_key(self.pub("broker")))
        s.connect(ep)
        return s


class Feeder(threading.Thread):
    """pubB: publishes one event at a time (resent after 3 s without an ack,
    the broker dedups by id) until stopped; records each id with the time
    it was first sent and its final status."""

    def __init__(self, keys, ctx, ep, salt):
        super().__init__(daemon=True)
        self.sock = keys.sock(ctx, zmq.DEALER, "pubB", ep)
        self.salt = salt
        self.sent = []        # (id, first send time, status)
        self.stop = False
        self.error = None
        self.start()

    def run(self):
        try:
            n = 0
            while not self.stop:
                eid, ev = make_event(n, "un.revoke", 200, salt=self.salt)
                t = time.time()
                status = self._publish(ev, n + 1)
                self.sent.append((eid, t, status))
                n += 1
                time.sleep(0.01)
        except Exception as e:    # reported by the main thread
            self.error = e
        self.sock.close(0)

    def _publish(self, ev, token):
        deadline = time.time() + 60
        while time.time() < deadline:
            self.sock.send_multipart([struct.pack(">Q", token), b"un.revoke", ev])
            if self.sock.poll(3000):
                for tok, status, seq, reason in parse_reply(self.sock.recv_multipart()):
                    if tok == token:
                        return status
        raise AssertionError("pubB: no ack in 60 s")


class Collector(threading.Thread):
    """subA's live SUB: the ids it receives."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.ids = []
        self.running = True
        self.start()

    def run(self):
        while self.running:
            if self.sock.poll(100):
                topic, seq, body = self.sock.recv_multipart()
                if not topic.startswith(b"_sys."):
                    self.ids.append(msgpack.unpackb(body)["id"])
        self.sock.close(0)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while not pred():
        check(time.time() < deadline, "timeout waiting for " + what)
        time.sleep(0.05)


def publish_once(s, eid_ev, token, wait_ms):
    s.send_multipart([struct.pack(">Q", token), b"un.revoke", eid_ev[1]])
    if not s.poll(wait_ms):
        return None
    return parse_reply(s.recv_multipart())[0]


def replay_answer(s, req, wait_ms):
    """Sends REQ; returns (ids of E messages, END body) or None without answer."""
    s.send(msgpack.packb(req))
    ids = []
    while True:
        if not s.poll(wait_ms):
            return None
        f = s.recv_multipart()
        if f[0] == b"E":
            ids.append(msgpack.unpackb(f[3])["id"])
            continue
        check(f[0] == b"END", "replay answer %r" % f[0])
        return ids, msgpack.unpackb(f[1])


def journal_ids(keys, ctx, b):
    """Every event id in the journal, read with subB on a fresh connection."""
    s = keys.sock(ctx, zmq.DEALER, "subB", b.replay)
    ids, after = [], 0
    while True:
        a = replay_answer(s, {"op": "replay", "after": after, "limit": 10000}, 30000)
        check(a is not None, "subB replay answers")
        ids += a[0]
        after = a[1]["next"]
        if not a[1]["more"]:
            break
    s.close(0)
    return ids


def run(endpoints):
    d = workdir("revoke-" + endpoints)
    keys = Keys(os.path.join(d, "keys"))
    pubs, subs = os.path.join(d, "publishers"), os.path.join(d, "subscribers")
    os.makedirs(pubs)
    os.makedirs(subs)
    for n in ("pubA", "pubB"):
        shutil.copy(keys.pub(n), pubs)
    for n in ("subA", "subB"):
        shutil.copy(keys.pub(n), subs)
    b = Broker(d, endpoints=endpoints,
               conf_extra='  curve_secret_key = "%s";\n  curve_publishers = "%s";\n'
               '  curve_subscribers = "%s";' % (keys.sec("broker"), pubs, subs)).start()
    ctx = zmq.Context.instance()
    step("%s: broker up with CURVE" % endpoints)

    # subscribe endpoint: subA (pyzmq SUB), subB (veille-sub, veille tail)
    sub_a = Collector(keys.sock(ctx, zmq.SUB, "subA", b.subscribe))
    sub_a.sock.setsockopt(zmq.SUBSCRIBE, b"")
    sink = os.path.join(d, "sink.jsonl")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"),
                      ['name = "log"; type = "log"; format = "json"; file = "%s";' % sink],
                      extra='  curve_secret_key = "%s";\n  curve_server_key = "%s";'
                      % (keys.sec("subB"), keys.pub("broker")))
    vsub = Sub(conf, args=("--log-level", "info")).start()
    tail_ids, tail = [], None
    if endpoints == "tcp":
        tail = subprocess.Popen([VEILLE, "tail", "-s", b.subscribe, "-r", b.replay, "--json",
                                 "--curve-secret", keys.sec("subB"), "--curve-server",
                                 keys.pub("broker"), "-v", "un."], stdout=subprocess.PIPE,
                                stderr=open(os.path.join(d, "tail.log"), "w"), text=True)
        PROCS.append(tail)
        threading.Thread(target=lambda: [tail_ids.append(json.loads(l)["id"])
                                         for l in tail.stdout if l.strip()],
                         daemon=True).start()
        tail_log = os.path.join(d, "tail.log")
        wait_for(lambda: "subscribed" in open(tail_log).read(), 60, "veille tail subscribed")
    # replay endpoint: subA and subB
    rep_a = keys.sock(ctx, zmq.DEALER, "subA", b.replay)
    rep_b = keys.sock(ctx, zmq.DEALER, "subB", b.replay)
    # publish endpoint: pubA, and pubB publishing all along
    pub_a = keys.sock(ctx, zmq.DEALER, "pubA", b.publish)
    a0 = make_event(0, "un.revoke", 200, salt="pubA-" + endpoints)
    ack = publish_once(pub_a, a0, 1, 30000)
    check(ack is not None and ack[1] == 0, "pubA STORED before the reload: %r" % (ack,))
    feeder = Feeder(keys, ctx, b.publish, "pubB-" + endpoints)
    wait_for(lambda: a0[0] in sub_a.ids and len(sub_a.ids) >= 5, 60,
             "subA's live events before the reload")
    for name, s in (("subA", rep_a), ("subB", rep_b)):
        a = replay_answer(s, {"op": "count"}, 30000)
        check(a is not None and a[1]["count"] >= 1, "%s replay answered before the reload" % name)
    step("%s: before the reload pubA is acked, subA gets live events and replay answers"
         % endpoints)

    # revoke pubA and subA
    os.unlink(os.path.join(pubs, "pubA.pub"))
    os.unlink(os.path.join(subs, "subA.pub"))
    t0 = time.time()
    b.proc.send_signal(signal.SIGHUP)
    b.wait_log(r"broker: SIGHUP: log reopened", RELOAD_MAX_S)   # logged last
    t_line = time.time()
    reload_s = t_line - t0
    check(reload_s < RELOAD_MAX_S, "reload took %.2f s" % reload_s)
    step("%s: SIGHUP handled in %.2f s" % (endpoints, reload_s))

    # publish: pubA gets no ack on its connection, pubB goes on
    a1 = make_event(1, "un.revoke", 200, salt="pubA-" + endpoints)
    check(publish_once(pub_a, a1, 2, QUIET_S * 1000) is None, "revoked pubA must get no ack")
    check(publish_once(pub_a, a1, 3, 1000) is None, "revoked pubA must get no ack (resent)")
    # replay: subA gets no answer, subB does
    check(replay_answer(rep_a, {"op": "count"}, QUIET_S * 1000) is None,
          "revoked subA must get no replay answer")
    a = replay_answer(rep_b, {"op": "count"}, 30000)
    check(a is not None, "subB replay answered after the reload")
    # subscribe: events sent after the re-bind never reach subA
    wait_for(lambda: sum(1 for _, t, _s in feeder.sent if t > t_line) >= 50, 60,
             "50 pubB events after the reload")
    feeder.stop = True
    feeder.join(120)
    check(feeder.error is None, "pubB: %s" % feeder.error)
    check(all(s == 0 for _, _t, s in feeder.sent), "every pubB event STORED")
    after = {eid for eid, t, _s in feeder.sent if t > t_line}
    time.sleep(0.5)   # let subA's socket hand over anything that reached it
    sub_a.running = False
    sub_a.join(10)
    leaked = after & set(sub_a.ids)
    check(not leaked, "revoked subA got %d live events after the reload" % len(leaked))
    before = len(sub_a.ids)
    step("%s: after the reload pubA no ack, subA no replay answer, no live event "
         "(%d received before), pubB and subB go on" % (endpoints, before))

    # 0 lost for the authorised subscribers; nothing of pubA's after reload stored
    want = {eid for eid, _t, _s in feeder.sent} | {a0[0]}
    jids = journal_ids(keys, ctx, b)
    check(a1[0] not in jids, "pubA's event after the reload is not journaled")
    check(want <= set(jids), "every pubB event journaled")

    def sink_ids():
        return {json.loads(l)["id"] for l in read_lines(sink)}
    deadline = time.time() + 120
    while not want <= sink_ids() and time.time() < deadline:
        time.sleep(0.1)
    lost = want - sink_ids()
    check(not lost, "veille-sub (subB) lost %d of %d events" % (len(lost), len(want)))
    if tail:
        deadline = time.time() + 120
        while not want <= set(tail_ids) and time.time() < deadline:
            time.sleep(0.1)
        lost_tail = want - set(tail_ids)
        if lost_tail:
            order = [eid for eid, _t, _s in feeder.sent]
            print("lost by tail at positions %r of %d; t_line at %d" % (
                sorted(order.index(e) for e in lost_tail if e in order), len(order),
                sum(1 for _, t, _s in feeder.sent if t <= t_line)))
            tail.terminate()
            tail.wait(30)
            print(open(os.path.join(d, "tail.log")).read()[-3000:])
        check(not lost_tail, "veille tail (subB) lost %d of %d" % (len(lost_tail), len(want)))
    step("%s: veille-sub%s delivered all %d events (0 lost)"
         % (endpoints, " and veille tail" if tail else "", len(want)))

    # the ipc socket file is still owner+group only after the re-bind
    if endpoints == "ipc":
        path = b.subscribe[len("ipc://"):]
        mode = stat.S_IMODE(os.stat(path).st_mode)
        check(mode == 0o660, "subscribe ipc socket mode after re-bind: %o" % mode)

    # log: drops on publish and replay named with the key, rate-limited;
    # subA's reconnection refused by ZAP
    log = b.log_text()
    check(re.search(r"allow-lists re-read: publishers 1 \(\+0 -1\), subscribers 1 "
                    r"\(\+0 -1\)", log), "the reload's changes logged")
    check(re.search(r"subscribe endpoint .* re-bound", log), "the re-bind logged")
    pub_a_key = read_key(keys.pub("pubA")).decode()
    sub_a_key = read_key(keys.pub("subA")).decode()
    drops = re.findall(r"auth: refused key (\S+) .* on (\w+): key no longer allowed", log)
    check(("%s" % pub_a_key, "publish") in drops, "pubA's drops logged: %r" % drops)
    check(("%s" % sub_a_key, "replay") in drops, "subA's replay drop logged: %r" % drops)
    check(len(drops) == len(set(drops)), "one drop line per key and endpoint: %r" % drops)
    check(re.search(r"auth: refused .* on subscribe: unknown key \(key %s\)"
                    % re.escape(sub_a_key), log),
          "subA's reconnection to the subscribe endpoint refused by ZAP")

    # a reload that removes no subscriber key leaves the subscribers alone
    shutil.copy(keys.pub("pubA"), pubs)
    b.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(re.findall(r"broker: SIGHUP: log reopened", b.log_text())) == 2,
             RELOAD_MAX_S, "the second SIGHUP")
    log = b.log_text()
    check(re.search(r"publishers 2 \(\+1 -0\), subscribers 1 \(\+0 -0\)", log),
          "second reload: pubA back")
    check(len(re.findall(r"re-bound", log)) == 1, "no re-bind without a subscriber removed")
    ack = publish_once(pub_a, make_event(2, "un.revoke", 200, salt="pubA-" + endpoints),
                       4, 30000)
    check(ack is not None and ack[1] == 0, "pubA, listed again, is acked on the same "
          "connection: %r" % (ack,))

    for s in (rep_a, rep_b, pub_a):
        s.close(0)
    check(vsub.stop() == 0, "veille-sub exits 0")
    if tail:
        tail.terminate()
        tail.wait(30)
        print("  " + open(tail_log).read().strip().splitlines()[-1])
    check(b.stop() == 0, "broker exits 0")
    return reload_s, len(want)


def main():
    out = []
    for endpoints in ("tcp", "ipc"):
        out.append((endpoints,) + run(endpoints))
    print("curve revoke: " + "; ".join("%s: revoked in %.2f s, %d events 0 lost" % o
                                       for o in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
