"""sub_smtp: an SMTP capture server (aiosmtpd) on loopback for the mail sink
tests. It can be started on a port chosen in advance, so a test can point
veille-sub at a dead server and bring it up later."""
import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _Handler:
    def __init__(self, box):
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        return "250 OK"


class SmtpCapture:
    """Collects (mail_from, rcpt_tos, raw bytes, parsed message)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []
        self.cond = threading.Condition()
        self.controller = None

    def add(self, mail_from, rcpts, raw):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.cond:
            self.messages.append((mail_from, rcpts, raw, msg))
            self.cond.notify_all()

    def start(self):
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def wait(self, n, timeout=60):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.messages) >= n, timeout)
            assert ok, "smtp: %d/%d messages" % (len(self.messages), n)
            return list(self.messages)

    def count(self):
        with self.cond:
            return len(self.messages)
