#!/usr/bin/env python3
"""91-nats-permissions: nats_subscriber_credentials_cannot_publish.

A 3-node nats-server cluster with two users whose permissions are the
ones docs/security.md gives (NATS permissions): `watcher` may publish
events and create/inspect the stream; `reader` may only read it (stream
info, message get, consumer create/delete, flow control), subscribe to
its inboxes, and publish nothing else. veille-watch as `watcher` fills
the stream; veille-sub as `reader` delivers every event (the reader's
permissions are enough); then with the reader's credentials: a raw
publish on an event subject, a stream purge and delete are refused by the
server, and veille-watch --once cannot drain its outbox; the stream still
holds exactly the first events."""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from integ_nats_cluster import Cluster  # noqa: E402
from sub_harness import Sub, event, wait_until  # noqa: E402
from watch_harness import Harness, check, rss  # noqa: E402

N = 50
USERS = """
  users = [
    { user: "watcher", password: "w-secret",
      permissions: { publish: { allow: ["veille.>", "$JS.API.STREAM.INFO.VEILLE",
                                        "$JS.API.STREAM.CREATE.VEILLE"] },
                     subscribe: { allow: ["_INBOX.>"] } } },
    { user: "reader", password: "r-secret",
      permissions: { publish: { allow: ["$JS.API.STREAM.INFO.VEILLE",
                                        "$JS.API.STREAM.MSG.GET.VEILLE",
                                        "$JS.API.CONSUMER.CREATE.VEILLE",
                                        "$JS.API.CONSUMER.CREATE.VEILLE.>",
                                        "$JS.API.CONSUMER.DELETE.VEILLE.>",
                                        "$JS.FC.VEILLE.>"] },
                     subscribe: { allow: ["_INBOX.>"] } } }
  ]"""

h = Harness("nats91")
cluster = Cluster(h.dir, users=USERS).start()
h.start_fixture()


def secret(name, value):
    path = os.path.join(h.dir, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def nats_group(user, password):
    return ('{ servers = "%s"; replicas = 3; timeout_ms = 2000; username = "%s"; '
            'password_file = "%s"; }' % (cluster.servers, user, secret(user + ".pw", password)))


def watch_conf(name, group, items):
    with open(os.path.join(h.www, name + ".xml"), "w") as f:
        f.write(rss(items, title=name))
    conf = h.write_watch_conf([{"id": name, "topic": "feed." + name,
                                "url": h.url("/%s.xml" % name), "interval": 3600}],
                              drain_timeout_s=8)
    text = open(conf).read().replace("watch = {", 'watch = {\n  backbone = "nats";\n'
                                     '  nats = %s;' % group, 1)
    open(conf, "w").write(text)


def stream_msgs():
    return (cluster.stream_info("VEILLE")[1] or {}).get("messages", 0)


# the watcher's credentials: publish and create the stream
watch_conf("a", nats_group("watcher", "w-secret"),
           [("a-%d" % i, "item a %d" % i, "body") for i in range(N)])
rc, _, s = h.watch_once("--publish-existing", expect_rc=0)
check(s.get("outbox") == 0, "veille-watch as `watcher` drained its outbox")
check(stream_msgs() == N, "the stream holds %d events" % N)

def raw(user, password, subject, payload=b"x"):
    """Publishes as USER over the raw protocol; returns the server's
    -ERR line, or None when the publish was accepted (PONG first)."""
    port = cluster.nodes[0].port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as so:
        f = so.makefile("rb")
        assert f.readline().startswith(b"INFO ")
        so.sendall(b'CONNECT %s\r\nPUB %s %d\r\n%s\r\nPING\r\n'
                   % (json.dumps({"verbose": False, "pedantic": False, "user": user,
                                  "pass": password, "protocol": 1}).encode(),
                      subject.encode(), len(payload), payload))
        while True:
            line = f.readline().strip()
            if line.startswith(b"-ERR"):
                return line.decode()
            if line == b"PONG":
                return None


# an event on veille.feed.a claiming topic gov.secret: subject permissions
# bind the topic, so veille-sub skips it
forged_id, forged = event(1, topic="gov.secret", salt="forged")
check(raw("watcher", "w-secret", "veille.feed.a", forged) is None, "a forged topic was stored")

# the reader's credentials are enough to read
out = os.path.join(h.dir, "sink.jsonl")
sub_conf = os.path.join(h.dir, "sub.conf")
with open(sub_conf, "w") as f:
    f.write('sub = {\n  backbone = "nats";\n  nats = %s;\n  state = "%s";\n  sinks = (\n'
            '    { name = "log"; type = "log"; format = "json"; file = "%s"; start = "all"; }\n'
            '  );\n};\n' % (nats_group("reader", "r-secret"), os.path.join(h.dir, "sub.db"), out))
sub = Sub(sub_conf).start(timeout=90)


def delivered():
    try:
        return [json.loads(l) for l in open(out) if l.strip()]
    except FileNotFoundError:
        return []


wait_until(lambda: len(delivered()) >= N, 60, "veille-sub as `reader` to deliver %d" % N)
sub.wait_log(r"topic is not its subject", 30)
sub.stop()
check(forged_id not in {e["id"] for e in delivered()},
      "the event whose topic is not its subject's was skipped")
check(len({e["id"] for e in delivered()}) == N == len(delivered()),
      "veille-sub as `reader` delivered the %d events once each" % N)


err = raw("reader", "r-secret", "veille.feed.a")
check(err and "Permissions Violation for Publish" in err,
      "the reader cannot publish an event: %s" % err)
for api in ("$JS.API.STREAM.PURGE.VEILLE", "$JS.API.STREAM.DELETE.VEILLE",
            "$JS.API.STREAM.UPDATE.VEILLE"):
    err = raw("reader", "r-secret", api, b"{}")
    check(err and "Permissions Violation" in err, "the reader cannot call %s" % api)
check(raw("watcher", "w-secret", "veille.feed.probe", b"") is None,
      "control: the watcher may publish an event subject")
check(raw("watcher", "w-secret", "$JS.API.STREAM.DELETE.VEILLE", b"{}") is not None,
      "control: the watcher cannot delete the stream")

# veille-watch with the reader's credentials: nothing is stored. The
# monitoring count lags the probe just published (R3): wait for it first
before = N + 2   # the events, the forged one, the watcher's probe
wait_until(lambda: stream_msgs() == before, 30, "the stream to hold %d messages" % before)
os.unlink(h.state)
watch_conf("b", nats_group("reader", "r-secret"),
           [("b-%d" % i, "item b %d" % i, "body") for i in range(5)])
rc, _, s = h.watch_once("--publish-existing")
check(rc != 0 and s.get("outbox") == 5,
      "veille-watch with the reader's credentials keeps its 5 events in the outbox (rc %d)" % rc)
check(stream_msgs() == before, "the stream holds no more events (%d)" % stream_msgs())
print("91-nats-permissions: PASS")
