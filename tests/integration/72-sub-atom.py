#!/usr/bin/python3
"""sub_atom_feeds_per_topic_set_survive_restart: a running veille-sub with
two atom sinks (UN topics, press topics) writes two Atom 1.0 files holding
the last N alerts of their topics, newest first, well-formed (parsed by
Python's XML parser), each entry id = urn:veille:event:<event id>. After a
restart with more events the feeds keep their earlier entries (up to N);
an event already in the feed never appears twice."""
import os
import sys
import xml.etree.ElementTree as ET

from sub_harness import Broker, Sub, event, publish, wait_until, workdir, write_conf

NS = {"a": "http://www.w3.org/2005/Atom"}
N = 8


def entries(path):
    """Returns [(id, title, link, categories)] or None while absent/partial."""
    if not os.path.exists(path):
        return None
    root = ET.parse(path).getroot()       # a half-written file would raise
    assert root.tag == "{http://www.w3.org/2005/Atom}feed", root.tag
    assert root.find("a:id", NS) is not None and root.find("a:updated", NS) is not None
    out = []
    for e in root.findall("a:entry", NS):
        out.append((e.find("a:id", NS).text, e.find("a:title", NS).text,
                    e.find("a:link", NS).get("href"),
                    {c.get("term") for c in e.findall("a:category", NS)}))
    return out


def main():
    d = workdir("subatom")
    b = Broker(d).start()
    un_feed, press_feed = os.path.join(d, "un.xml"), os.path.join(d, "press.xml")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "un-feed"; type = "atom"; topics = ["un."]; file = "%s"; entries = %d;'
        ' title = "UN <alerts> & more";' % (un_feed, N),
        'name = "press-feed"; type = "atom"; topics = ["press."]; file = "%s"; entries = %d;'
        % (press_feed, N),
    ])
    topics = ["un.ga", "press.rfi", "un.sc"]
    evs = [(topics[i % 3],) + event(i, topic=topics[i % 3], salt="atom",
                                    title="Alerte n°%d <b>&</b>" % i, tags=["cyber"])
           for i in range(12)]
    s = Sub(conf).start()
    publish(b, [(t, raw) for t, _, raw in evs])
    un_ids = ["urn:veille:event:" + eid for t, eid, _ in evs if t.startswith("un.")]
    press_ids = ["urn:veille:event:" + eid for t, eid, _ in evs if t.startswith("press.")]
    wait_until(lambda: entries(un_feed) is not None
               and [e[0] for e in entries(un_feed)] == un_ids[::-1][:N], what="UN feed")
    wait_until(lambda: entries(press_feed) is not None
               and [e[0] for e in entries(press_feed)] == press_ids[::-1][:N], what="press feed")
    first = entries(un_feed)[0]
    assert first[1] == "Alerte n°11 <b>&</b>", first
    assert first[2].startswith("https://example.org/atom/"), first
    assert {"un.sc", "new", "cyber"} <= first[3], first
    root = ET.parse(un_feed).getroot()
    assert root.find("a:title", NS).text == "UN <alerts> & more"
    assert s.stop() == 0

    more = [("un.ga",) + event(i, topic="un.ga", salt="atom", title="Suite %d" % i)
            for i in range(12, 15)]
    s = Sub(conf).start()
    publish(b, [(t, raw) for t, _, raw in more])
    un_ids += ["urn:veille:event:" + eid for _, eid, _ in more]
    wait_until(lambda: [e[0] for e in entries(un_feed)] == un_ids[::-1][:N],
               what="UN feed after restart")
    assert s.stop() == 0
    ids = [e[0] for e in entries(un_feed)]
    assert len(ids) == len(set(ids)) == N, ids
    assert [e[0] for e in entries(press_feed)] == press_ids[::-1][:N]
    leftovers = [f for f in os.listdir(d) if ".tmp." in f]
    assert not leftovers, leftovers
    assert b.stop() == 0
    print("ok: two Atom feeds (last %d per topic set), well-formed, kept across a restart, "
          "no entry twice" % N)


if __name__ == "__main__":
    main()
    sys.exit(0)
