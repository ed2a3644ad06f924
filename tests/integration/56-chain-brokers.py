#!/usr/bin/env python3
"""chained_brokers_forward_with_ids_kept: the chaining recipe of
docs/operations.md: an edge broker, a central broker, and a veille-sub
whose pipe sink runs `veille pub --stdin` to the central one. Events
published at the edge under the forwarded prefix reach the centre with
their ids and topics, others do not; events published while the forwarder
is down arrive after its restart (its cursor), each once."""
import atexit
import os
import time

import zmq

from broker_harness import Broker, Publisher, Replayer, check, make_event, workdir
from client_procs import Proc, veille_bin

BIN = os.environ["VEILLE_BIN"]
SUB = os.path.join(BIN, "subscribers", "veille-sub")
d = workdir("chain")
os.makedirs(os.path.join(d, "edge"))
os.makedirs(os.path.join(d, "central"))
edge = Broker(os.path.join(d, "edge"), endpoints="ipc").start()
central = Broker(os.path.join(d, "central"), endpoints="ipc").start()


FORWARDERS = []


def stop_forwarders():
    """SIGTERM first: veille-sub then closes the pipe and reaps `veille pub`
    (a SIGKILL at exit would leave that child behind)."""
    for p in FORWARDERS:
        if p.proc.poll() is None:
            p.proc.terminate()
            try:
                p.proc.wait(30)
            except Exception:  # noqa: BLE001
                p.proc.kill()


atexit.register(stop_forwarders)


def forwarder(state):
    conf = os.path.join(d, "forward.conf")
    with open(conf, "w") as f:
        f.write('sub = {\n  subscribe = "%s";\n  replay = "%s";\n  state = "%s";\n'
                '  sinks = ( { name = "to-central"; type = "pipe"; topics = [ "un." ];\n'
                '      argv = [ "%s", "pub", "--stdin", "--publish", "%s" ]; } );\n};\n'
                % (edge.subscribe, edge.replay, state, veille_bin(), central.publish))
    p = Proc([SUB, "-c", conf])
    FORWARDERS.append(p)
    p.wait_stderr(r"ready sinks=1", 60)
    return p


def central_events(n, timeout=30):
    r = Replayer(ctx, central.replay)
    deadline = time.time() + timeout
    try:
        while True:
            evs, _ = r.replay_all()
            if len(evs) >= n or time.time() > deadline:
                return evs
            time.sleep(0.1)
    finally:
        r.close()


ctx = zmq.Context()
pub = Publisher(ctx, edge.publish)


def publish(nums, topic):
    out = []
    for i in nums:
        eid, body = make_event(i, topic, size=300, salt="chain")
        out.append(eid)
        pub.send(topic, body)
    for _ in nums:
        check(pub.recv_ack()[1] == 0, "edge did not store an event")
    return out


# A new sink starts at the broker's head: start the forwarder first.
state = os.path.join(d, "forward.db")
fwd = forwarder(state)
ids = publish(range(5), "un.press")
publish([99], "press.rfi")                    # not forwarded (topics = ["un."])
evs = central_events(5)
got = sorted(e[2]["id"] for e in evs)
check(got == sorted(ids), "centre holds %s, expected the 5 un.* ids %s (if 0: `veille pub "
      "--stdin` must keep sending while it waits for its next input line); forwarder:\n%s"
      % (got, sorted(ids), fwd.stderr_text()))
check(all(e[0] == "un.press" for e in evs), "topic changed across the hop")
fwd.proc.terminate()
check(fwd.proc.wait(30) == 0, "forwarder did not stop cleanly")

# While the forwarder is down the edge gets 3 more; restarted with its
# state, it catches up from its cursor and the centre holds 8, each once.
ids += publish(range(5, 8), "un.press")
fwd2 = forwarder(state)
evs = central_events(8)
got = sorted(e[2]["id"] for e in evs)
check(got == sorted(ids), "after the restart the centre holds %d events, expected 8: %s"
      % (len(got), fwd2.stderr_text()))
time.sleep(0.5)
check(len(central_events(8, timeout=1)) == 8, "the centre got more than 8 events")
fwd2.proc.terminate()
check(fwd2.proc.wait(30) == 0, "forwarder did not stop cleanly")
pub.close()
check(edge.stop() == 0 and central.stop() == 0, "a broker did not stop cleanly")
print("ok: 8 events forwarded with their ids, across a forwarder restart; other topics stay")
