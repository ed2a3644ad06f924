#!/usr/bin/python3
"""metrics_endpoints_count_what_flows: broker, watcher and subscriber each
serve Prometheus metrics on a loopback port (metrics_listen with port 0;
the log names the port). A watcher polls two file:// feeds (one missing)
and publishes the items of the good one; the subscriber delivers them to a
log sink. Scraped with urllib, every line parses, and the counters say
what happened: broker events in/stored/out and journal size, watcher polls
by result, the failing source, the fetch latency histogram, events
published; subscriber events received and deliveries per sink with empty
queues. A non-metrics path answers 404."""
import os
import sys

from client_procs import Proc
from integ_metrics import PORT_RE, scrape, status_of, value, wait_value
from sub_harness import Broker, Sub, read_lines, wait_until, workdir, write_conf

ITEMS = 5


def feed(path):
    items = "".join("<item><title>Communiqué %d</title><link>https://example.org/m/%d</link>"
                    "<guid>m-%d</guid><description>Texte %d</description></item>" % (i, i, i, i)
                    for i in range(ITEMS))
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                "<title>t</title><link>https://example.org/</link>%s</channel></rss>" % items)


def main():
    d = workdir("metrics")
    b = Broker(d, conf_extra='  metrics_listen = "127.0.0.1:0";').start()
    bport = int(b.wait_log(PORT_RE).group(1))

    out = os.path.join(d, "alerts.log")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"),
                      ['name = "log"; type = "log"; file = "%s";' % out],
                      extra='  metrics_listen = "127.0.0.1:0";')
    s = Sub(conf, args=["--log-level", "info"]).start()
    sport = int(s.wait_log(PORT_RE).group(1))

    feed(os.path.join(d, "feed.xml"))
    wconf = os.path.join(d, "watch.conf")
    with open(wconf, "w") as f:
        f.write('watch = {\n  broker = "%s";\n  state = "%s/watch.db";\n'
                '  metrics_listen = "127.0.0.1:0";\n  publish_existing = true;\n'
                '  fail_threshold = 100;\n  sources = (\n'
                '    { id = "good"; topic = "gov.test"; url = "file://%s/feed.xml"; interval = 3600; },\n'
                '    { id = "gone"; topic = "gov.test"; url = "file://%s/missing.xml"; interval = 3600; }\n'
                '  );\n};\n' % (b.publish, d, d, d))
    w = Proc([os.path.join(os.environ["VEILLE_BIN"], "watchers", "veille-watch"), "-c", wconf,
              "--log-level", "info"])
    wport = int(w.wait_stderr(PORT_RE).group(1))

    # watcher: both sources polled, one failing, the items published and acked
    ws = wait_value(wport, "veille_watch_published_total", lambda v: v == ITEMS)
    assert value(ws, "veille_watch_sources") == 2
    assert value(ws, "veille_watch_sources_failing") == 1
    assert value(ws, "veille_watch_polls_total", result="fetched") == 1
    assert value(ws, "veille_watch_polls_total", result="failed") == 1
    assert value(ws, "veille_watch_events_total", type="new") == ITEMS
    assert value(ws, "veille_watch_fetch_seconds_count") == 2
    assert value(ws, "veille_watch_fetch_seconds_bucket", le="+Inf") == 2

    # broker: events in, stored, out; journal not empty
    bs = wait_value(bport, "veille_broker_events_total", lambda v: v == ITEMS, result="stored")
    assert value(bs, "veille_broker_received_total") == ITEMS
    assert value(bs, "veille_broker_fanout_total") == ITEMS
    assert value(bs, "veille_broker_head_seq") == ITEMS
    assert value(bs, "veille_broker_journal_bytes") > 0
    assert value(bs, "veille_broker_events_total", result="rejected") == 0

    # subscriber: received and delivered, queue empty
    ss = wait_value(sport, "veille_sub_deliveries_total", lambda v: v == ITEMS, sink="log")
    wait_until(lambda: len(read_lines(out)) == ITEMS, what="alerts in the log sink")
    got = value(ss, "veille_sub_events_total", via="live") + value(ss, "veille_sub_events_total",
                                                                      via="replay")
    assert got == ITEMS, got
    assert value(ss, "veille_sub_failures_total", sink="log") == 0
    ss = wait_value(sport, "veille_sub_cursor", lambda v: v == ITEMS, sink="log")
    assert value(ss, "veille_sub_queue_depth", sink="log") == 0
    assert value(ss, "veille_sub_replay_requests_total") >= 1   # the start-up catch-up

    for port in (bport, wport, sport):
        assert status_of(port, "/") == 404
        _, text = scrape(port)
        assert "# TYPE " in text
    assert w.stop() == 0
    assert s.stop() == 0
    assert b.stop() == 0
    print("ok: broker, watcher and subscriber metrics scraped and consistent (%d events)" % ITEMS)


if __name__ == "__main__":
    main()
    sys.exit(0)
