#!/usr/bin/python3
"""sub_mail_digests_arrive_whole_and_survive_a_dead_server: two mail sinks
with digest_minutes = 1 against real SMTP servers (aiosmtpd on loopback).
Events are published, veille-sub is stopped and started again while both
digests are still pending (held in memory, not confirmed: they come back by
replay from the cursor). Then:
- "desk" (server up): one digest mail, "[veille] 4 alerts", whose text and
  HTML parts list the 4 events once each, in order, with their titles;
- "night" (server down at digest time): the flush fails and is retried;
  the server comes up; one digest mail lists the 3 events once each.
Both sinks' cursors then reach the head (the flush confirmed the events),
so another restart replays nothing."""
import os
import re
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, stored_cursor, wait_until, \
    workdir, write_conf
from sub_smtp import SmtpCapture, free_port


def listed_ids(msg):
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"^id ([0-9a-f]{32}) seq \d+\r?$", text, re.M)


def main():
    d = workdir("subdigest")
    b = Broker(d).start()
    desk = SmtpCapture().start()
    night_port = free_port()
    state = os.path.join(d, "sub.db")
    path = os.path.join(d, "alerts.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, state, [
        'name = "text"; type = "log"; file = "%s";' % path,
        'name = "desk"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = "desk@example.org"; html = true; digest_minutes = 1; topics = ["mail.desk"];'
        % desk.port,
        'name = "night"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = "night@example.org"; digest_minutes = 1; topics = ["mail.night"];'
        ' max_attempts = 1000; backoff_initial_ms = 200; backoff_max_ms = 1000;' % night_port,
    ])
    s = Sub(conf).start()
    ev_desk = [event(i, topic="mail.desk", title="Desk alert %d" % i, salt="desk")
               for i in range(4)]
    ev_night = [event(i, topic="mail.night", title="Night alert %d" % i, salt="night")
                for i in range(3)]
    items = [("mail.desk", e[1]) for e in ev_desk[:2]] + [("mail.night", e[1]) for e in ev_night] \
        + [("mail.desk", e[1]) for e in ev_desk[2:]]
    publish(b, items)
    wait_until(lambda: len(read_lines(path)) == 7, what="events in the log")

    # pending digests are not confirmed: a restart holds them again
    assert s.stop() == 0
    assert stored_cursor(state, "desk") == 0 and stored_cursor(state, "night") == 0
    s = Sub(conf, args=["--log-level", "debug"]).start()   # the attempts are debug lines

    msgs = desk.wait(1, timeout=150)
    assert len(msgs) == 1, [m[3]["Subject"] for m in msgs]
    mail_from, rcpts, raw, msg = msgs[0]
    assert mail_from == "veille@example.org" and rcpts == ["desk@example.org"]
    assert str(msg["Subject"]) == "[veille] 4 alerts", msg["Subject"]
    assert listed_ids(msg) == [e[0] for e in ev_desk], listed_ids(msg)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    for i in range(4):
        assert text.count("Desk alert %d" % i) == 1 and html.count("Desk alert %d" % i) == 1

    s.wait_log(r"sink night: flush attempt 2 failed", timeout=150)
    assert stored_cursor(state, "night") == 0          # nothing confirmed while down
    night = SmtpCapture(night_port).start()
    got = night.wait(1, timeout=60)
    assert len(got) == 1
    msg = got[0][3]
    assert got[0][1] == ["night@example.org"]
    assert str(msg["Subject"]) == "[veille] 3 alerts", msg["Subject"]
    assert listed_ids(msg) == [e[0] for e in ev_night], listed_ids(msg)
    wait_until(lambda: stored_cursor(state, "night") == 7 and stored_cursor(state, "desk") == 7,
               what="cursors at the head after the flushes")
    assert s.stop() == 0
    failed = len(re.findall(r"sink night: flush attempt \d+ failed", s.log_text()))

    # confirmed: a restart replays nothing (the subscription starts at 7)
    s = Sub(conf).start()
    m = s.wait_log(r"ready sinks=3 cursor=(\d+)")
    assert m.group(1) == "7", s.log_text()
    assert s.stop() == 0
    assert desk.count() == 1 and night.count() == 1
    desk.stop()
    night.stop()
    assert b.stop() == 0
    print("ok: digest of 4 delivered whole after a restart; digest of 3 delivered once after "
          "%d failed flush attempt(s) against a dead server" % failed)


if __name__ == "__main__":
    main()
    sys.exit(0)
