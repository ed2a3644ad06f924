#!/usr/bin/python3
"""sub_mqtt_publishes_qos1_json_and_survives_broker_restart: veille-sub's
mqtt sink publishes each alert as JSON at QoS 1 to a real mosquitto
(loopback, generated config) on veille/<topic with dots as slashes>.
A mosquitto_sub reader (persistent session) sees every event; mosquitto is
stopped while alerts keep coming and started again: every event still
arrives (at least once, as QoS 1 promises). With retain on, a reader that
connects afterwards gets the last alert of each topic."""
import json
import os
import sys

from integ_mqtt import Mosquitto, MqttReader
from sub_harness import Broker, Sub, event, publish, wait_until, workdir, write_conf

TOPICS = ["un.ga", "gov.fr.interieur", "press.rfi"]


def items(start, n):
    return [(TOPICS[i % 3],) + event(i, topic=TOPICS[i % 3], salt="mqtt")
            for i in range(start, start + n)]


def mqtt_topic(topic):
    return "veille/" + topic.replace(".", "/")


def main():
    d = workdir("submqtt")
    b = Broker(d).start()
    mq = Mosquitto(d).start()
    reader = MqttReader(mq.port, "veille/#", client_id="integ-check")
    reader.wait_subscribed()
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "mqtt"; type = "mqtt"; host = "127.0.0.1"; port = %d; retain = true;'
        ' timeout_s = 2; max_attempts = 1000; backoff_initial_ms = 100; backoff_max_ms = 500;'
        % mq.port,
    ])
    s = Sub(conf, args=["--log-level", "info"]).start()

    first = items(0, 60)
    publish(b, [(t, raw) for t, _, raw in first])
    reader.wait(lambda r: len(r.msgs) >= 60, what="60 MQTT messages")
    for (topic, payload), (t, eid, _) in zip(reader.msgs, first):
        ev = json.loads(payload)
        assert topic == mqtt_topic(ev["topic"]), (topic, ev["topic"])
        assert ev["id"] == eid and ev["topic"] == t, "order or content differs"

    mq.stop()                                   # broker away while alerts come in
    second = items(60, 60)
    publish(b, [(t, raw) for t, _, raw in second])
    s.wait_log(r"sink mqtt: down \(", timeout=60)
    mq.start()
    want = {eid for _, eid, _ in first + second}
    reader.wait(lambda r: want <= {json.loads(p)["id"] for _, p in r.msgs}, timeout=120,
                what="every event after the broker restart")
    assert s.stop() == 0
    reader.stop()
    seen = [json.loads(p)["id"] for _, p in reader.msgs]
    dups = len(seen) - len(set(seen))

    last = {}
    for t, eid, _ in first + second:
        last[mqtt_topic(t)] = eid
    late = MqttReader(mq.port, "veille/#", extra=["-C", "3", "-W", "20"])
    late.wait(lambda r: len(r.msgs) >= 3, what="3 retained messages")
    got = {topic: json.loads(p)["id"] for topic, p in late.msgs}
    assert got == last, (got, last)
    late.stop()
    mq.stop()
    assert b.stop() == 0
    print("ok: %d events over MQTT QoS 1 across a broker restart (%d repeated), "
          "retained last alert per topic" % (len(want), dups))


if __name__ == "__main__":
    main()
    sys.exit(0)
