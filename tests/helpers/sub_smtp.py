"""sub_smtp: an SMTP capture server (aiosmtpd) on loopback for the mail sink
tests. It can be started on a port chosen in advance, so a test can point
veille-sub at a dead server and bring it up later."""
import email
import email.policy
import os
import socket
import ssl
import subprocess
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


warnings.filterwarnings("ignore", message="Session.login_data is deprecated")


from procs import free_port  # noqa: E402,F401


class _Handler:
    def __init__(self, box):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.box.reject:
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        return "250 OK"


def make_cert(directory):
    """Self-signed certificate for 127.0.0.1 (openssl CLI); returns (cert, key)."""
    cert = os.path.join(directory, "smtp-cert.pem")
    key = os.path.join(directory, "smtp-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class SmtpCapture:
    """Collects (mail_from, rcpt_tos, raw bytes, parsed message). With TLS
    (cert, key) it requires STARTTLS; with USERS {login: password} it
    requires AUTH (over TLS) and records the logins in `auths`. Recipients
    in REJECT are refused with 550 (permanent)."""

    def __init__(self, port=None, tls=None, users=None, reject=()):
        self.port = port or free_port()
        self.messages = []
        self.auths = []
        self.cond = threading.Condition()
        self.controller = None
        self.tls = tls
        self.users = users
        self.reject = set(reject)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
        with self.cond:
            self.auths.append((mechanism, auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)

    def add(self, mail_from, rcpts, raw):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.cond:
            self.messages.append((mail_from, rcpts, raw, msg))
            self.cond.notify_all()

    def start(self):
        kw = {}
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*self.tls)
            kw.update(tls_context=ctx, require_starttls=True)
        if self.users is not None:
            kw.update(authenticator=self._authenticate, auth_required=True,
                      auth_require_tls=bool(self.tls))
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kw)
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
