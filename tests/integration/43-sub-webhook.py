#!/usr/bin/python3
"""sub_webhook_styles_retries_and_dead_letters: veille-sub posts to local
HTTP receivers. JSON style: hostile events arrive as JSON that parses back
to the same strings; 500 then 200 delivers once; one keep-alive connection
is reused. Discord: 429 Retry-After is honoured and the content is cut to
2000 code points on a character boundary. ntfy: Title/Tags/Priority/Click
headers. Matrix: PUT m.room.message with the event id as txn id. Slack: a
400 parks the event as a dead letter, --list-dead shows it, --retry-dead
delivers it and empties the table."""
import json
import os
import sys

from sub_harness import Broker, Sub, event, publish, run_sub, wait_until, workdir, write_conf
from sub_webhook import Receiver

HOSTILE = [
    "Line one\r\nX-Injected: 1\r\n\r\nbody",
    "He said \"hi\" \\ \\\" \\u0000",
    "\U0001F6A8 \U0001F1EB\U0001F1F7 \u0645\u0631\u062d\u0628\u0627 \u202eevil",
    "</script><script>alert(1)</script>",
]


def main():
    d = workdir("subhook")
    b = Broker(d).start()
    rj = Receiver(script=[500])                      # then 200
    rd = Receiver(script=[(429, {"Retry-After": "1"})])
    rn = Receiver()
    rm = Receiver()
    rs = Receiver(script=[400])
    os.environ["VEILLE_TEST_TOKEN"] = "s3cret"
    common = 'backoff_initial_ms = 50; backoff_max_ms = 200; max_attempts = 5;'
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "json"; type = "webhook"; url = "%s/in"; topics = ["hook.json"]; %s' % (rj.url, common),
        'name = "discord"; type = "webhook"; style = "discord"; url = "%s/api/webhooks/1/x";'
        ' topics = ["hook.discord"]; %s' % (rd.url, common),
        'name = "ntfy"; type = "webhook"; style = "ntfy"; url = "%s/alerts"; topics = ["hook.ntfy"];'
        ' ntfy_tags = ["warning", "fr"]; priority = 4; token_env = "VEILLE_TEST_TOKEN"; %s'
        % (rn.url, common),
        'name = "matrix"; type = "webhook"; style = "matrix"; url = "%s"; room = "!r:example.org";'
        ' token_env = "VEILLE_TEST_TOKEN"; topics = ["hook.matrix"]; %s' % (rm.url, common),
        'name = "slack"; type = "webhook"; style = "slack"; url = "%s/services/x";'
        ' topics = ["hook.slack"]; %s' % (rs.url, common),
    ])
    s = Sub(conf).start()

    # JSON: 500 then 200, hostile strings round-trip, keep-alive
    items = [event(i, topic="hook.json", title=t, salt="wj") for i, t in enumerate(HOSTILE)]
    items += [event(i, topic="hook.json", salt="wj") for i in range(len(HOSTILE), 30)]
    publish(b, [("hook.json", e[1]) for e in items])
    reqs = rj.wait(lambda r: len([x for x in r if x["status"] == 200]) >= len(items))
    assert reqs[0]["status"] == 500 and reqs[1]["status"] == 200
    assert reqs[0]["headers"]["X-Veille-Event-Id"] == reqs[1]["headers"]["X-Veille-Event-Id"]
    bodies = rj.json_bodies()
    assert [j["id"] for j in bodies] == [e[0] for e in items], "order or duplicates"
    for j, t in zip(bodies, HOSTILE):
        assert j["title"] == t, (j["title"], t)
    assert all(b"</script>" not in r["body"] for r in reqs)
    conns = {r["conn"] for r in rj.delivered()}
    assert len(conns) <= 2, "keep-alive not used: %d connections" % len(conns)

    # Discord: 429 Retry-After 1 s, 2000 code points
    long_title = "\U0001F600" * 2500
    ed = event(1, topic="hook.discord", title=long_title, summary="\u00e9" * 3000, salt="wd")
    publish(b, [("hook.discord", ed[1])])
    reqs = rd.wait(lambda r: any(x["status"] == 200 for x in r))
    assert reqs[0]["status"] == 429
    assert reqs[1]["time"] - reqs[0]["time"] >= 0.9, "Retry-After not honoured"
    content = json.loads(reqs[1]["body"])["content"]
    assert len(content) <= 2000 and content.endswith("\u2026"), len(content)
    assert json.loads(reqs[1]["body"])["allowed_mentions"] == {"parse": []}

    # ntfy headers
    en = event(1, topic="hook.ntfy", title="Cybers\u00e9curit\u00e9 \r\nX-Evil: 1", salt="wn")
    publish(b, [("hook.ntfy", en[1])])
    r = rn.wait(lambda r: len(r) >= 1)[0]
    h = r["headers"]
    assert h["Tags"] == "warning,fr" and h["Priority"] == "4", h
    assert h["Click"] == "https://example.org/wn/1" and h["Authorization"] == "Bearer s3cret", h
    assert h["Title"].startswith("=?UTF-8?B?") and "X-Evil" not in h, h

    # Matrix: PUT with the event id as transaction id
    em = event(1, topic="hook.matrix", title="<b>bold</b>", salt="wm")
    publish(b, [("hook.matrix", em[1])])
    r = rm.wait(lambda r: len(r) >= 1)[0]
    assert r["method"] == "PUT", r
    assert r["path"] == "/_matrix/client/v3/rooms/%21r%3Aexample.org/send/m.room.message/" + em[0]
    body = json.loads(r["body"])
    assert body["msgtype"] == "m.text" and "&lt;b&gt;" in body["formatted_body"]

    # Slack: 400 -> dead letter -> --retry-dead
    es = event(1, topic="hook.slack", title="parked <here>", salt="ws")
    publish(b, [("hook.slack", es[1])])
    s.wait_log(r"sink slack: event %s .* parked as dead letter after 1 attempt" % es[0])
    assert s.stop() == 0
    rc, out, err = run_sub(s.conf, "--list-dead")
    assert rc == 0 and es[0] in out and "HTTP 400" in out and "# 1 dead letter" in out, out + err
    rc, out, err = run_sub(s.conf, "--retry-dead", "slack")
    assert rc == 0 and "1 of 1 dead letter(s) delivered" in out, out + err
    assert json.loads(rs.delivered()[0]["body"])["text"].count("&lt;here&gt;") == 1
    rc, out, _ = run_sub(s.conf, "--list-dead")
    assert "# 0 dead letter" in out, out

    rc, out, err = run_sub(s.conf, "--test-sink", "ntfy")
    assert rc == 0 and "sink ntfy: delivered" in out, out + err
    assert len(rn.requests) == 2 and "veille test alert" in rn.requests[1]["body"].decode()

    # restart: nothing delivered twice
    s = Sub(conf).start()
    e_last = event(999, topic="hook.json", salt="wj")
    publish(b, [("hook.json", e_last[1])])
    rj.wait(lambda r: any(x["headers"]["X-Veille-Event-Id"] == e_last[0] for x in r))
    assert s.stop() == 0
    assert len(rj.delivered()) == len(items) + 1, len(rj.delivered())
    assert len(rd.delivered()) == 1 and len(rn.requests) == 2 and len(rm.requests) == 1
    for r in (rj, rd, rn, rm, rs):
        r.close()
    assert b.stop() == 0
    print("ok: json %d (500->200, %d connection(s)), discord 429 honoured, ntfy, matrix, "
          "slack dead letter retried" % (len(items), len(conns)))


if __name__ == "__main__":
    main()
    sys.exit(0)
