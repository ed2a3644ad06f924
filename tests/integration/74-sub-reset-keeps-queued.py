#!/usr/bin/python3
"""sub_reset_keeps_what_sinks_had_not_delivered: when the broker's journal is
replaced under a running veille-sub, what its sinks had been given but not
delivered yet is not in the new journal. Here a webhook sink is stuck on
503 with 5 old events (one being retried, four queued) and a mail digest
sink holds the same 5 old events for its next digest when the journal is
wiped and 3 new events are published. After the reset the webhook comes
back: it receives each of the 8 events exactly once (old ones first); the
next digest mail lists each of the 8 once. A log sink that had delivered
everything repeats nothing. (Before: the 5 old events were dropped with the
queues and the digest.)"""
import os
import re
import shutil
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, wait_until, workdir, \
    write_conf
from sub_smtp import SmtpCapture
from sub_webhook import Receiver


def digest_ids(msg):
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"^id ([0-9a-f]{32}) seq \d+\r?$", text, re.M)


def main():
    d = workdir("subresetq")
    b = Broker(d, endpoints="ipc", conf_extra="heartbeat_ms = 100;").start()
    hook = Receiver(default=503)
    smtp = SmtpCapture().start()
    path = os.path.join(d, "alerts.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "text"; type = "log"; file = "%s";' % path,
        'name = "hook"; type = "webhook"; style = "json"; url = "%s/hook";'
        ' max_attempts = 1000; backoff_initial_ms = 50; backoff_max_ms = 200;' % hook.url,
        'name = "digest"; type = "mail"; url = "smtp://127.0.0.1:%d"; from = "veille@example.org";'
        ' to = "desk@example.org"; digest_minutes = 1;' % smtp.port,
    ])
    s = Sub(conf).start()
    old = [event(i, topic="un.q", salt="old") for i in range(5)]
    publish(b, [("un.q", e[1]) for e in old])
    wait_until(lambda: len(read_lines(path)) == 5, what="old events in the log")
    hook.wait(lambda r: len(r) >= 3, what="webhook retrying")     # stuck on 503

    assert b.stop() == 0
    shutil.rmtree(b.journal_dir)
    b.start()
    new = [event(i, topic="un.q", salt="new") for i in range(3)]
    assert publish(b, [("un.q", e[1]) for e in new]) == [1, 2, 3]
    s.wait_log(r"broker sequence restarted")
    wait_until(lambda: len(read_lines(path)) == 8, what="new events in the log")
    hook.set_default(200)

    want = [e[0] for e in old + new]
    hook.wait(lambda r: len({q["headers"].get("X-Veille-Event-Id") for q in r
                             if q["status"] == 200}) >= 8, timeout=60, what="8 webhook deliveries")
    smtp.wait(1, timeout=120)
    wait_until(lambda: sum(len(digest_ids(m[3])) for m in smtp.messages) >= 8, timeout=120,
               what="8 events in digests")
    assert s.stop() == 0

    delivered = [q["headers"].get("X-Veille-Event-Id") for q in hook.delivered()]
    assert sorted(delivered) == sorted(want), delivered
    assert delivered[:5] == [e[0] for e in old], delivered       # carried ones first
    msgs = smtp.wait(smtp.count())
    got = [i for m in msgs for i in digest_ids(m[3])]
    assert sorted(got) == sorted(want), (got, want)
    lines = read_lines(path)
    assert len(lines) == 8 and sorted(l.split(" id=")[1].split()[0] for l in lines) == sorted(want)
    assert s.count_log(r"kept for delivery after the resync") >= 2, s.log_text()
    hook.close()
    smtp.stop()
    assert b.stop() == 0
    print("ok: journal replaced with 5 events stuck in a webhook queue and 5 held in a digest: "
          "webhook got 8/8 once each, %d digest mail(s) listed 8/8 once each" % len(msgs))


if __name__ == "__main__":
    main()
    sys.exit(0)
