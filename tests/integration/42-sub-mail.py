#!/usr/bin/python3
"""sub_mail_sink_sends_clean_rfc5322_messages: veille-sub's mail sink talks
to a real SMTP server (aiosmtpd on loopback). Hostile titles (CR/LF, quotes,
emoji, RTL, </script>) give one message each whose headers cannot be
forged (no injected Bcc/Subject), whose Subject decodes (RFC 2047) to the
cleaned title, with a text/plain part and an HTML part that escapes markup.
Both parts are quoted-printable with real CRLF line breaks (no "=0A"), soft
breaks ("=" at the end) keeping every raw line within 76 characters.
A second sink points at a dead server: it retries, the server comes up,
and exactly one message is delivered."""
import os
import quopri
import re
import sys

from sub_harness import Broker, Sub, event, publish, wait_until, workdir, write_conf
from sub_smtp import SmtpCapture, free_port

TITLES = [
    "Line one\r\nBcc: evil@example.org\r\nSubject: pwned",
    "He said \"hi\" \\ \\\" and left",
    "\U0001F6A8 Alerte \U0001F1EB\U0001F1F7 cybers\u00e9curit\u00e9 " + "tr\u00e8s long " * 12,
    "\u0645\u0631\u062d\u0628\u0627 \u202eevil\u202c",
    "</script><script>alert(1)</script>",
]


def cleaned(t):
    out = []
    for c in t:
        if c in "\r\n\t":
            out.append(" ")
        elif ord(c) < 0x20 or ord(c) == 0x7f or 0x80 <= ord(c) < 0xa0 or c in "\u202a\u202b\u202c\u202d\u202e":
            continue
        else:
            out.append(c)
    return "".join(out)


def raw_part(raw, ctype):
    """The encoded body lines of the first part of type CTYPE, as sent."""
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF in the message"
    lines = raw.split(b"\r\n")
    start = next(i for i, l in enumerate(lines) if l.lower().startswith(b"content-type: " + ctype))
    head = lines[start:]
    assert any(l.lower() == b"content-transfer-encoding: quoted-printable"
               for l in head[:head.index(b"")]), head[:5]
    body = head[head.index(b"") + 1:]
    return body[:next(i for i, l in enumerate(body) if l.startswith(b"--"))]


def check_qp(raw, summary_first_line):
    for ctype in (b"text/plain", b"text/html"):
        body = raw_part(raw, ctype)
        for line in body:
            assert len(line) <= 76, (ctype, line)
            assert b"=0A" not in line.upper() and b"=0D" not in line.upper(), (ctype, line)
        hard = sum(1 for l in body if not l.endswith(b"="))
        assert hard >= 3, (ctype, body)          # several real lines
    text = raw_part(raw, b"text/plain")
    # the summary's line break is a real one: "line 2" is a raw line of its own
    assert b"line 2" in text, text
    decoded = quopri.decodestring(b"\r\n".join(text)).decode("utf-8")
    assert summary_first_line + "\r\nline 2" in decoded, decoded


def check_message(raw, msg, title, eid):
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    names = [l.split(b":", 1)[0].lower() for l in head.splitlines() if l and l[:1] not in b" \t"]
    assert b"bcc" not in names, names
    assert names.count(b"subject") == 1, names
    in_subject = False
    for line in head.splitlines():
        if line[:1] not in b" \t":
            in_subject = line.lower().startswith(b"subject:")
        if in_subject:       # encoded-words folded: no Subject line over 76
            assert len(line) <= 76, line
            assert all(0x20 <= c < 0x7f for c in line), line
    subject = str(msg["Subject"])
    assert subject == "[veille] new: " + cleaned(title), (subject, cleaned(title))
    assert msg["X-Veille-Event-Id"] == eid
    assert msg["From"] == "veille@example.org"
    assert "desk@example.org" in msg["To"] and "ops@example.org" in msg["To"]
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert cleaned(title)[:30] in text, text[:200]
    assert "\r" not in text.replace("\r\n", "\n")
    assert "<script>" not in html.get_content()


def main():
    d = workdir("submail")
    b = Broker(d).start()
    smtp = SmtpCapture().start()
    late_port = free_port()
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "desk"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = ["desk@example.org", "ops@example.org"]; html = true; topics = ["mail.hostile"];'
        % smtp.port,
        'name = "late"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = "late@example.org"; topics = ["mail.late"]; max_attempts = 100;'
        ' backoff_initial_ms = 100; backoff_max_ms = 500;' % late_port,
    ])
    s = Sub(conf, args=["--log-level", "debug"]).start()   # the attempts are debug lines
    items = [event(i, topic="mail.hostile", title=t, summary="r\u00e9sum\u00e9 %d\r\nline 2" % i,
                   salt="m") for i, t in enumerate(TITLES)]
    publish(b, [("mail.hostile", e[1]) for e in items])
    msgs = smtp.wait(len(items))
    by_id = {m[3]["X-Veille-Event-Id"]: m for m in msgs}
    assert len(by_id) == len(items)
    for (eid, _), title in zip(items, TITLES):
        mail_from, rcpts, raw, msg = by_id[eid]
        assert mail_from == "veille@example.org" and sorted(rcpts) == ["desk@example.org", "ops@example.org"]
        check_message(raw, msg, title, eid)
        check_qp(raw, "r\u00e9sum\u00e9 %d" % TITLES.index(title))

    # dead server: retries, then exactly one message once it is up
    e1 = event(1, topic="mail.late", title="late one", salt="late")
    publish(b, [("mail.late", e1[1])])
    s.wait_log(r"sink late: attempt 3 for %s failed" % e1[0], timeout=60)
    late = SmtpCapture(late_port).start()
    late.wait(1)
    e2 = event(2, topic="mail.late", title="late two", salt="late")
    publish(b, [("mail.late", e2[1])])
    got = late.wait(2)
    ids = [m[3]["X-Veille-Event-Id"] for m in got]
    assert sorted(ids) == sorted([e1[0], e2[0]]), ids
    assert s.stop() == 0
    assert late.count() == 2 and smtp.count() == len(items)
    retries = len(re.findall(r"sink late: attempt \d+ for %s failed" % e1[0], s.log_text()))
    smtp.stop()
    late.stop()
    assert b.stop() == 0
    print("ok: %d hostile messages checked; dead server: %d failed attempts then 1 delivery"
          % (len(items), retries))


if __name__ == "__main__":
    main()
    sys.exit(0)
