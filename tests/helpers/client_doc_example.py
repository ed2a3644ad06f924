"""A complete veille client in Python (pyzmq + msgpack), written from
docs/protocol.md alone: publish with acks, and tail topic prefixes
without gap or duplicate (live SUB + heartbeat + count + replay)."""
import hashlib
import struct
import time

import msgpack
import zmq

STORED, DUPLICATE, REJECTED, UNAVAILABLE = 0, 1, 2, 3
EVENT_MAX_BYTES = 1024 * 1024   # never send more: see "Size limits"


def make_event(topic, title, url, source="example", type_="new", **extra):
    """A valid event map. The id only has to be 32 lower-case hex digits and
    stable for the same detection (so that a resend is a DUPLICATE)."""
    h = hashlib.blake2b(digest_size=16)
    for part in (source, url or title, type_, title):
        h.update(part.encode() + b"\0")
    ev = {"v": 1, "id": h.hexdigest(), "type": type_, "source": source,
          "topic": topic, "url": url, "title": title,
          "detected": int(time.time() * 1000)}
    ev.update(extra)
    return ev


class Publisher:
    """Publishes one event at a time and waits for its ack (a real client
    keeps many in flight, matched by token)."""

    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.token = 0

    def publish(self, event, timeout_ms=5000, attempts=10):
        """Returns (status, seq). Resends the same bytes on timeout and after
        UNAVAILABLE: the broker answers DUPLICATE if the first copy was
        stored after all. An event over the limit is refused here, unsent."""
        body = msgpack.packb(event)
        if len(body) > EVENT_MAX_BYTES:
            raise ValueError("event too large: %d bytes (limit %d)" % (len(body), EVENT_MAX_BYTES))
        self.token += 1
        token = struct.pack(">Q", self.token)
        for _ in range(attempts):
            self.sock.send_multipart([token, event["topic"].encode(), body])
            status, seq = self._wait_ack(token, timeout_ms)
            if status is None:
                continue                                   # timeout: resend
            if status == UNAVAILABLE:
                time.sleep(0.5)                            # broker cannot store now
                continue
            return status, seq
        raise TimeoutError("no ack from the broker")

    def _wait_ack(self, token, timeout_ms):
        """(status, seq) of TOKEN's ack, or (None, None) after TIMEOUT_MS."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                return None, None
            for tok, status, seq in acks(self.sock.recv_multipart()):
                if tok == token:                           # others: late acks of older events
                    return status, seq


def acks(frames):
    """One reply -> [(token, status, seq)]: a single ack is 3 or 4 frames
    (the 4th is a reason), an ack batch is one frame of 17-byte records."""
    if len(frames) > 1:
        return [(frames[0], frames[1][0], struct.unpack(">Q", frames[2])[0])]
    b = frames[0]
    return [(b[i:i + 8], b[i + 8], struct.unpack(">Q", b[i + 9:i + 17])[0])
            for i in range(0, len(b) - 16, 17)]


class Tail:
    """Yields (seq, topic, event) for every event under PREFIXES exactly once.
    cursor: every matching event with seq <= cursor has been yielded.
    above:  seqs > cursor already yielded (from either path)."""

    def __init__(self, ctx, sub_endpoint, replay_endpoint, prefixes, from_seq=None,
                 timeout_ms=5000):
        self.ctx, self.replay_endpoint, self.timeout_ms = ctx, replay_endpoint, timeout_ms
        self.prefixes = [p.encode() for p in prefixes]
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        for p in self.prefixes:
            self.sub.setsockopt(zmq.SUBSCRIBE, p)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"_sys.heartbeat")   # last: see "Heartbeats and stats"
        self.sub.connect(sub_endpoint)
        self.cursor = from_seq          # None: start at the head of the first heartbeat
        self.above = set()
        self.need_replay = from_seq is not None
        self.epoch = None               # the journal's, from the first heartbeat or END

    def _matches(self, topic):
        return topic not in (b"_sys.heartbeat", b"_sys.stats") and any(
            topic.startswith(p) for p in self.prefixes)

    def _advance(self, seq):
        if self.cursor is None or seq > self.cursor:
            self.cursor = seq
            self.above = {s for s in self.above if s > seq}

    def _new_journal(self, info):
        """True when INFO (a heartbeat body or an END) names another journal
        than the first one seen: it was wiped or replaced, seqs restarted."""
        epoch = info.get("epoch")
        if self.epoch is None:
            self.epoch = epoch
        return epoch is not None and epoch != self.epoch

    def _restart(self, info):
        print("warning: the broker's journal was replaced: resyncing from 0")
        self.epoch = info.get("epoch", self.epoch)
        self.cursor, self.above, self.need_replay = 0, set(), True

    def _ask(self, request):
        """One request on a fresh DEALER; returns ([(topic, seq, event)], end)
        or None on timeout (a cut answer is a gap-free prefix)."""
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.replay_endpoint)
        sock.send(msgpack.packb(request))
        items = []
        try:
            while sock.poll(self.timeout_ms):
                frames = sock.recv_multipart()
                if frames[0] == b"E":
                    items.append((frames[1].decode(), struct.unpack(">Q", frames[2])[0],
                                  msgpack.unpackb(frames[3])))
                elif frames[0] == b"END":
                    return items, msgpack.unpackb(frames[1])
                else:
                    raise RuntimeError("replay error: %r" % msgpack.unpackb(frames[1]))
            return items, None
        finally:
            sock.close(0)

    def _request(self, op, **args):
        req = {"op": op, "after": self.cursor, "prefixes": [p.decode() for p in self.prefixes]}
        req.update(args)
        return self._ask(req)

    def _replay(self):
        """Yields what the journal holds after the cursor, chunk by chunk."""
        more = True
        while more:
            items, end = self._request("replay", limit=1000)
            for topic, seq, event in items:
                if seq > self.cursor and seq not in self.above:
                    self.above.add(seq)
                    yield seq, topic, event
            if end is None:                       # timeout: continue after the last one
                if items:
                    self._advance(items[-1][1])
                continue
            if self._new_journal(end) or end["head"] < self.cursor:
                self._restart(end)                # journal wiped: start over
                continue
            if end["first"] > self.cursor + 1:
                print("warning: events %d..%d expired from the journal"
                      % (self.cursor + 1, end["first"] - 1))
            self._advance(end["next"])
            more = end["more"]
        self.need_replay = False

    def _check(self, head):
        """Proves (count) that nothing in (cursor, head] was missed, or replays."""
        items, end = self._request("count", upto=head)
        if end is None:
            return
        if self._new_journal(end):
            self._restart(end)
            return
        if end["count"] == sum(1 for s in self.above if s <= head):
            self._advance(head)
        else:
            self.need_replay = True

    def events(self, idle_ms=1000):
        """Generator; yields None when it has nothing to return (after a
        heartbeat, or IDLE_MS without any message)."""
        while True:
            if self.need_replay and self.cursor is not None:
                yield from self._replay()
            if not self.sub.poll(idle_ms):
                yield None
                continue
            topic, seq, body = self.sub.recv_multipart()
            seq = struct.unpack(">Q", seq)[0]
            if topic == b"_sys.heartbeat":
                info = msgpack.unpackb(body)
                if self.cursor is None:
                    self._new_journal(info)
                    self._advance(seq)
                elif self._new_journal(info) or seq < self.cursor:
                    self._restart(info)           # journal wiped: start over
                elif seq > self.cursor:
                    self._check(seq)
                yield None
                continue
            if not self._matches(topic):
                continue
            if (self.cursor is not None and seq <= self.cursor) or seq in self.above:
                continue
            self.above.add(seq)
            yield seq, topic.decode(), msgpack.unpackb(body)
