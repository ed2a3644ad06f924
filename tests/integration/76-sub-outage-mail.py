#!/usr/bin/python3
"""sub_mail_outage_needs_no_human: the SMTP server (aiosmtpd) goes away for
longer than the whole old retry schedule (8 attempts; here backoff 50 ms
capped at 500 ms, so well over 8 attempts fail) and comes back on the same
port: every alert reaches it exactly once, in order, and nothing is parked.
While it is down: one warning (`down`), veille_sub_sink_up = 0, the age of
the oldest undelivered alert grows, and a log sink next to it gets every
alert at once. When it is back: one `up again` line (how long, how many
late). A recipient the server refuses with 550 is parked at once (a
permanent failure), and the log says so."""
import os
import sys

from integ_metrics import PORT_RE, scrape, value, wait_value
from sub_harness import (Broker, Sub, event, publish, read_lines, run_sub, wait_until,
                         workdir, write_conf)
from sub_smtp import SmtpCapture

N_DOWN = 12


def ids_of(msgs):
    return [m[3]["X-Veille-Event-Id"] for m in msgs]


def main():
    d = workdir("suboutm")
    b = Broker(d).start()
    smtp = SmtpCapture(reject=["nobody@example.org"]).start()
    archive = os.path.join(d, "archive.jsonl")
    retry = "backoff_initial_ms = 50; backoff_max_ms = 500;"        # defaults otherwise
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "desk"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = "desk@example.org"; topics = ["mail.desk"]; timeout_s = 5; %s' % (smtp.port, retry),
        'name = "bad"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = "nobody@example.org"; topics = ["mail.bad"]; %s' % (smtp.port, retry),
        'name = "archive"; type = "log"; file = "%s"; format = "json"; topics = ["mail.desk"];'
        % archive,
    ], extra='  metrics_listen = "127.0.0.1:0";')
    s = Sub(conf).start()
    port = int(s.wait_log(PORT_RE).group(1))

    before = [event(i, topic="mail.desk", salt="before") for i in range(3)]
    publish(b, [("mail.desk", e[1]) for e in before])
    smtp.wait(3)

    # permanent: 550 for the recipient parks at once, after one attempt
    bad = event(0, topic="mail.bad", salt="bad")
    publish(b, [("mail.bad", bad[1])])
    s.wait_log(r"sink bad: event %s \(seq \d+\) parked as dead letter after 1 attempt\(s\): "
               r"permanent failure: SMTP 550" % bad[0])

    # outage, longer than the old schedule
    smtp.stop()
    during = [event(i, topic="mail.desk", salt="during") for i in range(N_DOWN)]
    publish(b, [("mail.desk", e[1]) for e in during])
    s.wait_log(r"sink desk: down \(")
    wait_until(lambda: len(read_lines(archive)) == 3 + N_DOWN, timeout=60,
               what="the log sink getting every alert during the outage")
    samples = wait_value(port, "veille_sub_retries_total", lambda v: v >= 16, timeout=120,
                         sink="desk")
    assert value(samples, "veille_sub_sink_up", sink="desk") == 0
    assert value(samples, "veille_sub_sink_up", sink="archive") == 1
    assert value(samples, "veille_sub_failures_total", sink="desk") == 0, "parked during outage"
    assert value(samples, "veille_sub_oldest_undelivered_seconds", sink="desk") > 0
    assert value(samples, "veille_sub_sink_down_seconds", sink="desk") > 0
    assert smtp.count() == 3
    attempts = value(samples, "veille_sub_retries_total", sink="desk")

    smtp = SmtpCapture(smtp.port, reject=["nobody@example.org"]).start()   # back, same port
    got = smtp.wait(N_DOWN, timeout=120)
    assert ids_of(got) == [e[0] for e in during], "order or duplicates: %s" % ids_of(got)
    m = s.wait_log(r"sink desk: up again after ([0-9.]+) s down \((\d+) failed attempts\); "
                   r"(\d+) event\(s\) delivered late")
    assert int(m.group(3)) == N_DOWN, m.group(0)
    wait_value(port, "veille_sub_sink_up", lambda v: v == 1, sink="desk")
    samples = wait_value(port, "veille_sub_deliveries_total", lambda v: v == 3 + N_DOWN,
                         sink="desk")
    assert value(samples, "veille_sub_oldest_undelivered_seconds", sink="desk") == 0
    assert value(samples, "veille_sub_failures_total", sink="desk") == 0
    assert s.count_log(r"sink desk: down \(") == 1 and s.count_log(r"sink desk: up again") == 1
    assert s.count_log(r"sink desk: attempt") == 0, "retries are not logged one by one at info"
    assert s.stop() == 0
    assert smtp.count() == N_DOWN
    rc, out, _ = run_sub(conf, "--list-dead")
    assert rc == 0 and "# 1 dead letter(s)" in out and bad[0] in out, out
    assert "permanent failure: SMTP 550" in out, out
    smtp.stop()
    assert b.stop() == 0
    print("ok: SMTP down %s s (%d failed attempts), %d alerts delivered late exactly once in "
          "order, none parked; a 550 recipient parked at once" % (m.group(1), attempts, N_DOWN))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
