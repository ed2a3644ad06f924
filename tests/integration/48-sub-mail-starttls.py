#!/usr/bin/python3
"""sub_mail_starttls_auth_with_secret_from_file_or_env: the mail sink
upgrades to TLS with STARTTLS (server certificate checked against ca_file),
authenticates with a password read from an owner-only file or from the
environment, and delivers; a wrong password is a permanent failure parked
as a dead letter (SMTP 535), never retried forever; the password never
appears in the logs."""
import os
import sys

from sub_harness import Broker, Sub, event, publish, run_sub, workdir, write_conf
from sub_smtp import SmtpCapture, make_cert


def main():
    d = workdir("subtls")
    cert, key = make_cert(d)
    smtp = SmtpCapture(tls=(cert, key), users={"veille": "p4ss w0rd"}).start()
    pw = os.path.join(d, "smtp.pw")
    with open(pw, "w") as f:
        f.write("p4ss w0rd\n")
    os.chmod(pw, 0o600)
    os.environ["VEILLE_TEST_BAD_PW"] = "wrong-secret"
    b = Broker(d).start()
    base = ('type = "mail"; url = "smtp://127.0.0.1:%d"; starttls = true; ca_file = "%s";'
            ' from = "veille@example.org"; to = "desk@example.org"; username = "veille";'
            ' backoff_initial_ms = 50; max_attempts = 3;' % (smtp.port, cert))
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "good"; topics = ["mail.good"]; password_file = "%s"; %s' % (pw, base),
        'name = "bad"; topics = ["mail.bad"]; password_env = "VEILLE_TEST_BAD_PW"; %s' % base,
    ])
    s = Sub(conf).start()
    good = event(1, topic="mail.good", title="sur TLS \u00e9", salt="tls")
    bad = event(2, topic="mail.bad", title="never", salt="tls")
    publish(b, [("mail.good", good[1]), ("mail.bad", bad[1])])
    msgs = smtp.wait(1)
    assert msgs[0][3]["X-Veille-Event-Id"] == good[0]
    s.wait_log(r"sink bad: event %s .* parked as dead letter after 1 attempt" % bad[0])
    assert s.stop() == 0
    assert ("PLAIN", "veille", True) in smtp.auths or ("LOGIN", "veille", True) in smtp.auths, smtp.auths
    assert any(not ok for _, _, ok in smtp.auths), smtp.auths
    assert "p4ss" not in s.log_text() and "wrong-secret" not in s.log_text()
    rc, out, _ = run_sub(conf, "--list-dead", "bad")
    assert rc == 0 and bad[0] in out and "535" in out, out
    os.chmod(pw, 0o644)                     # a password file others can read is refused
    rc, _, err = run_sub(conf, "--test-sink", "good")
    assert rc == 2 and "permission denied" in err, err
    smtp.stop()
    assert b.stop() == 0
    print("ok: STARTTLS + AUTH delivered; wrong password parked (535); open password file refused")


if __name__ == "__main__":
    main()
    sys.exit(0)
