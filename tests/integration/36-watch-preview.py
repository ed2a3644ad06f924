#!/usr/bin/env python3
"""36-watch-preview: `veille-watch --preview SOURCE [--file FILE]` shows a
source of a configuration as veille sees it, and failures say what is
wrong.

preview_live_shows_items_text_and_ignores: on the live URL, the report
lists each item (title, link, text compared), what each ignore rule
removed (a selector's nodes, a re: rule's lines) and, against an empty
state, the `new` alerts.
preview_saved_file_shows_the_changed_alert: after a baseline (--once), a
saved copy with one edited item gives a `changed` alert with its diff,
without fetching the URL (--test --file gives the same event as JSON).
errors_say_what_is_wrong: select matching nothing and an HTML page on a
feed source are reported in those words (preview and daemon log), and
--parse with -c points to --preview --file."""
import json
import os
import subprocess

from watch_harness import WATCH, Harness, check

h = Harness("preview")
h.start_fixture()
h.start_broker()


def page(edit=False):
    lis = "".join('<li><a href="/cp/%d.html">Communiqué n°%d</a> %s <span class="vues">%d vues</span>'
                  '<br>Mis à jour il y a %d min</li>'
                  % (i, i, "texte modifié" if edit and i == 2 else "texte", 10 * i, i)
                  for i in (3, 2, 1))
    return ("<html><head><meta charset='utf-8'><title>CP</title></head><body>"
            "<ul id='cp'>%s</ul></body></html>" % lis)


with open(os.path.join(h.www, "cp.html"), "w") as f:
    f.write(page())
edited = os.path.join(h.dir, "cp-edited.html")
with open(edited, "w") as f:
    f.write(page(edit=True))

base = {"type": "html", "interval": 60}
h.write_watch_conf([
    dict(base, id="cp", topic="gouv.cp", url=h.url("/cp.html"), select="#cp", items="li",
         item_link="a", ignore=["span.vues", "re:^Mis à jour "]),
    dict(base, id="nomain", topic="gouv.nomain", url=h.url("/cp.html"), select="main"),
    dict(base, id="notfeed", topic="gouv.notfeed", url=h.url("/cp.html"), type="feed"),
], jitter_percent=0, drain_timeout_s=20)


def watch(*args):
    r = subprocess.run([WATCH, "-c", h.watch_conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


# ---- preview_live_shows_items_text_and_ignores -------------------------------
rc, out, err = watch("--preview", "cp")
print(out)
check(rc == 0, "--preview cp exits 0 (%d: %s)" % (rc, err))
check('[1] ignore "span.vues": removed 3 elements' in out and '- "30 vues"' in out,
      "the selector rule: the 3 nodes it removed, with their text")
check('[2] ignore "re:^Mis à jour ": removed 3 lines' in out
      and '- "Mis à jour il y a 2 min"' in out, "the re: rule: the 3 lines it removed")
check("items: 3" in out and "title:    Communiqué n°2" in out
      and "link:     %s" % h.url("/cp/2.html") in out, "items with title and resolved link")
check("text compared:\n    | Communiqué n°2 texte\n" in out,
      "the text compared, without the ignored parts")
check(out.count("\n  new: Communiqué n°") == 3, "empty state: three `new` alerts would be sent")

# ---- preview_saved_file_shows_the_changed_alert ------------------------------
rc, _, s = h.watch_once(expect_rc=1)   # nomain and notfeed fail
check(s.get("recorded") == 3, "baseline recorded silently (%r)" % s)
hits = int(h.ctl("hits?path=/cp.html"))
rc, out, err = watch("--preview", "cp", "--file", edited)
print(out)
check(rc == 0 and "document: file %s" % edited in out, "--file: the saved copy is read")
check(int(h.ctl("hits?path=/cp.html")) == hits, "--file: the URL is not fetched")
check("\n  changed: Communiqué n°2\n" in out and out.count("\n  changed:") == 1
      and "new:" not in out, "one `changed` alert against the stored state")
check("diff:" in out and "+Communiqué n°2 texte modifié" in out.replace("+ ", "+"),
      "the alert carries the diff with the edit")
rc, out, err = watch("--test", "cp", "--file", edited)
evs = [json.loads(l) for l in out.splitlines()]
check(rc == 0 and len(evs) == 1 and evs[0]["type"] == "changed"
      and "modifié" in evs[0]["diff"], "--test --file: the same event as JSON")

# ---- errors_say_what_is_wrong ------------------------------------------------
rc, out, err = watch("--preview", "nomain")
check(rc == 1 and 'selector matched nothing (select = "main")' in err,
      "select matching nothing is said so (%s)" % err.strip())
rc, out, err = watch("--preview", "notfeed")
check(rc == 1 and 'got an HTML page where a feed was expected (type = "html"?)' in err,
      "an HTML page on a feed source is said so (%s)" % err.strip())
_, log, _ = h.watch_once(expect_rc=1)
check('source nomain: selector matched nothing (select = "main")' in log
      and "parse error" not in log, "the daemon logs the same words")
rc, out, err = watch("--parse", edited)
check(rc == 2 and "--preview SOURCE --file FILE" in err, "--parse with -c points to --preview")
h.close()
print("PASS 36-watch-preview")
