#!/usr/bin/python3
"""soak_pub: one soak publisher process. Publishes events START..START+COUNT-1
(ids md5("SALT:i"), topics cycling through TOPICS) to the broker's publish
endpoint with a pipelined DEALER, and resends whatever is not acked in time,
so it keeps its promise across broker kill -9s: it exits 0 only when every
event was acked STORED or DUPLICATE. REJECTED is fatal (exit 1).

usage: soak_pub.py ENDPOINT START COUNT SALT TOPIC[,TOPIC...] [--curve SECRET SERVERPUB]
"""
import hashlib
import struct
import sys
import time

import msgpack
import zmq

from broker_harness import parse_reply

WINDOW = 2000
RESEND_AFTER = 1.5      # seconds without any ack before resending what is pending
STORED, DUPLICATE, REJECTED, UNAVAILABLE = 0, 1, 2, 3


def event(i, salt, topic):
    eid = hashlib.md5(("%s:%d" % (salt, i)).encode()).hexdigest()
    ev = {"v": 1, "id": eid, "type": "new", "source": "soak-%s" % salt, "topic": topic,
          "url": "https://example.org/%s/%d" % (salt, i), "title": "%s %d" % (salt, i),
          "detected": int(time.time() * 1000), "summary": "soak event %d" % i}
    return topic.encode(), msgpack.packb(ev)


def read_key(path):
    for line in open(path):
        line = line.strip()
        if len(line) == 40 and not line.startswith("#"):
            return line.encode()
    raise SystemExit("no key in %s" % path)


def main():
    ep, start, count, salt, topics = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        sys.argv[4], sys.argv[5].split(",")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    if len(sys.argv) > 6 and sys.argv[6] == "--curve":
        secret = read_key(sys.argv[7])
        sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, zmq.curve_public(secret))
        sock.setsockopt(zmq.CURVE_SERVERKEY, read_key(sys.argv[8]))
    sock.connect(ep)
    todo = list(range(start, start + count))[::-1]    # pop() takes the lowest
    pending = {}          # token -> index
    token = 1
    acked = resends = unavailable = 0
    last_ack = time.time()
    while acked < count:
        while todo and len(pending) < WINDOW:
            i = todo.pop()
            topic, body = event(i, salt, topics[i % len(topics)])
            sock.send_multipart([struct.pack(">Q", token), topic, body])
            pending[token] = i
            token += 1
        if sock.poll(200):
            while True:
                try:
                    f = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                last_ack = time.time()
                for t, status, _, reason in parse_reply(f):
                    i = pending.pop(t, None)
                    if i is None:
                        continue      # ack of a message resent since
                    if status in (STORED, DUPLICATE):
                        acked += 1
                    elif status == UNAVAILABLE:
                        unavailable += 1
                        todo.append(i)
                    else:
                        print("soak_pub %s: event %d REJECTED: %s" % (salt, i, reason),
                              file=sys.stderr)
                        return 1
            if unavailable and todo and len(pending) == 0:
                time.sleep(0.2)       # broker says unavailable: back off a little
        if pending and time.time() - last_ack > RESEND_AFTER:
            resends += len(pending)
            todo.extend(sorted(pending.values(), reverse=True))
            pending.clear()
            last_ack = time.time()
    print("soak_pub %s: acked=%d resends=%d unavailable=%d" % (salt, acked, resends, unavailable),
          file=sys.stderr)
    sock.close(0)
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
