#!/usr/bin/env python3
"""34-watch-removed: a press-release list page (HTML, one item per <li>)
watched through veille-watch --once, the broker and veille tail.

removed_from_the_middle: after a silent baseline, a new release on top
pushes the oldest off the end of the list: one `new`, no `removed`; then a
release is withdrawn from the middle: one `removed` carrying its title and
link, which tail receives; the summary line counts it.
removed_false: the same withdrawal on a source with `removed = false`
publishes nothing.
removed_behind_filtered: on a source with an include keyword, the one
matching release is withdrawn while only non-matching ones (never stored)
were listed after it: still one `removed`."""
import os

from watch_harness import Harness, check

h = Harness("removed")
h.start_fixture()
h.start_broker()


def page(ids):
    lis = "\n".join('<li><a href="/cp/%d.html">Communiqué n°%d</a> texte %d%s</li>'
                    % (i, i, i, " terrorisme" if i == 4 else "") for i in ids)
    return ("<html><head><meta charset='utf-8'><title>Communiqués</title></head><body>"
            "<ul id='cp'>\n%s\n</ul></body></html>" % lis)


def serve(name, ids):
    with open(os.path.join(h.www, name), "w") as f:
        f.write(page(ids))


src = {"type": "html", "select": "#cp", "items": "li", "item_link": "a", "interval": 60}
serve("cp.html", [5, 4, 3, 2, 1])
serve("quiet.html", [5, 4, 3, 2, 1])
serve("kw.html", [5, 4, 3, 2, 1])
h.write_watch_conf([dict(src, id="cp", topic="gouv.cp", url=h.url("/cp.html")),
                    dict(src, id="quiet", topic="gouv.quiet", url=h.url("/quiet.html"),
                         removed=False),
                    dict(src, id="kw", topic="gouv.kw", url=h.url("/kw.html"),
                         include=["terroris*"])],
                   jitter_percent=0, drain_timeout_s=20)

rc, _, s = h.watch_once(expect_rc=0)
check(s.get("recorded") == 11 and s.get("new") == 0,
      "baseline: 11 items recorded silently (5 + 5 + the one kw keeps) (%r)" % s)

serve("cp.html", [6, 5, 4, 3, 2])
rc, _, s = h.watch_once(expect_rc=0)
check(s.get("new") == 1 and s.get("removed") == 0,
      "a release on top, the oldest off the end: one new, no removed (%r)" % s)

serve("cp.html", [6, 5, 3, 2])
serve("quiet.html", [5, 3, 2, 1])
rc, _, s = h.watch_once(expect_rc=0)
check(s.get("removed") == 1 and s.get("new") == 0 and s.get("changed") == 0,
      "one release withdrawn from the middle: one removed, on cp only (%r)" % s)

evs = h.tail(["gouv."], count=2, timeout_ms=10000)
check(len(evs) == 2, "tail got the new and the removed (got %d)" % len(evs))
rm = [e for e in evs if e["type"] == "removed"]
check(len(rm) == 1, "one removed event")
check(rm[0]["source"] == "cp" and rm[0]["topic"] == "gouv.cp", "removed from source cp")
check("n°4" in rm[0]["title"], "removed carries the withdrawn title: %r" % rm[0]["title"])
check(rm[0]["url"].endswith("/cp/4.html"), "removed carries the withdrawn link: %r" % rm[0]["url"])
check(h.journal_count("gouv.quiet") == 0, "removed = false: nothing from quiet")
check(h.journal_count("gouv.kw") == 0, "kw untouched so far: nothing from it")

serve("kw.html", [5, 3, 2, 1])
rc, _, s = h.watch_once(expect_rc=0)
check(s.get("removed") == 1, "kw: the matching release withdrawn, only filtered ones after "
      "it: one removed (%r)" % s)
check(h.journal_count("gouv.kw") == 1, "kw: the removed event is in the journal")

h.close()
print("PASS 34-watch-removed")
