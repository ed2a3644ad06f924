#!/usr/bin/env python3
"""35-watch-reload: veille-watch re-reads its configuration on SIGHUP,
without a restart, through the daemon, the broker and the journal.

sighup_adds_removes_changes: keep (unchanged), gone (removed) and edit
(its ignore rule changed) are polled every second; after SIGHUP with a new
file, the log says added=1 changed=1 removed=1, the added source's two
items reach the journal (publish_existing), gone is no longer fetched but
its state row is kept, edit is re-recorded silently (no new events, its
stored fingerprint changes) and keep goes on.
broken_config_keeps_the_old_one: a file with a syntax error is reported
as file:line and the running sources go on being polled.
purge_removed_source: --purge deletes a removed source's state only."""
import os
import signal
import sqlite3
import subprocess

from watch_harness import WATCH, Harness, check, wait_for

h = Harness("reload")
h.start_fixture()
h.start_broker()


def serve(name, titles):
    lis = "".join('<li><a href="/%s/%d">%s</a></li>' % (name, i, t) for i, t in enumerate(titles))
    with open(os.path.join(h.www, name + ".html"), "w") as f:
        f.write("<html><body><ul id='l'>%s</ul><p class='stamp'>x</p></body></html>" % lis)


for name in ("keep", "gone", "edit", "added"):
    serve(name, ["%s one" % name, "%s two" % name])


def src(name, **kw):
    d = {"id": name, "topic": "t." + name, "url": h.url("/%s.html" % name), "type": "html",
         "select": "#l", "items": "li", "interval": 1}
    d.update(kw)
    return d


opts = {"jitter_percent": 0, "publish_existing": True}
h.write_watch_conf([src("keep"), src("gone"), src("edit")], **opts)
w = h.start_watch()


def hits(name):
    return int(h.ctl("hits?path=/%s.html" % name))


def logged(text):
    return any(text in l for l in w.lines)


wait_for(lambda: h.journal_count("t.") == 6, 60, "the first 6 items published")
check(h.journal_count("t.edit") == 2, "edit: its two items published on the first poll")

# ---- sighup_adds_removes_changes -------------------------------------------
h.write_watch_conf([src("keep"), src("edit", ignore=["re:two"]), src("added")], **opts)
db = sqlite3.connect(h.state, timeout=10)
hash_before = db.execute("select conf_hash from sources where id='edit'").fetchone()[0]
w.send_signal(signal.SIGHUP)
wait_for(lambda: logged("configuration reloaded (SIGHUP): sources=3 added=1 changed=1 "
                        "removed=1"), 60, "the reload line")
check(logged("source gone: removed from the configuration"), "the removal is logged")
wait_for(lambda: h.journal_count("t.added") == 2, 60, "the added source's 2 items")
check(True, "the source added by SIGHUP published its items")
gone = hits("gone")
keep = hits("keep")
wait_for(lambda: hits("keep") >= keep + 3, 60, "keep polled 3 more times")
check(hits("gone") <= gone + 1, "gone no longer polled (%d -> %d hits)" % (gone, hits("gone")))
check(db.execute("select count(*) from sources where id='gone'").fetchone()[0] == 1
      and db.execute("select count(*) from items where source='gone'").fetchone()[0] == 2,
      "gone: its state row and items are kept")
wait_for(lambda: db.execute("select conf_hash from sources where id='edit'").fetchone()[0]
         != hash_before, 60, "edit re-recorded with its new settings")
check(h.journal_count("t.edit") == 2, "edit: the changed ignore rule published nothing")

# ---- broken_config_keeps_the_old_one ---------------------------------------
with open(h.watch_conf, "a") as f:
    f.write("\nwatch_oops = { ;\n")
nlines = sum(1 for _ in open(h.watch_conf))
w.send_signal(signal.SIGHUP)
wait_for(lambda: logged("still running the previous configuration"), 60, "the refusal")
check(logged("watch.conf:%d" % nlines), "the error says file:line (watch.conf:%d)" % nlines)
keep, added = hits("keep"), hits("added")
wait_for(lambda: hits("keep") >= keep + 2 and hits("added") >= added + 2, 60,
         "keep and added still polled")
check(True, "after a broken reload the running sources go on")
check(w.poll() is None, "the daemon is still running")
w.send_signal(signal.SIGTERM)
check(w.wait(timeout=60) == 0, "SIGTERM: exit 0")

# ---- purge_removed_source ------------------------------------------------------
with open(h.watch_conf) as f:
    good = f.read().replace("\nwatch_oops = { ;\n", "")
with open(h.watch_conf, "w") as f:
    f.write(good)
r = subprocess.run([WATCH, "-c", h.watch_conf, "--purge", "keep"], stderr=subprocess.PIPE,
                   text=True, timeout=60)
check(r.returncode == 2 and "still in the configuration" in r.stderr,
      "--purge refuses a source still configured")
r = subprocess.run([WATCH, "-c", h.watch_conf, "--purge", "gone"], stderr=subprocess.PIPE,
                   text=True, timeout=60)
check(r.returncode == 0 and "purged source=gone items=2" in r.stderr, "--purge gone: 2 items")
check(db.execute("select count(*) from sources where id='gone'").fetchone()[0] == 0
      and db.execute("select count(*) from items where source='gone'").fetchone()[0] == 0
      and db.execute("select count(*) from items where source='keep'").fetchone()[0] == 2,
      "gone's state is deleted, the others' kept")
db.close()
h.close()
print("PASS 35-watch-reload")
