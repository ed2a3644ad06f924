#!/usr/bin/env python3
"""37-watch-noise: `veille-watch --noise SOURCE` finds the elements that
raise false alerts on a page and the ignore rules that silence them.

noise_page_raises_false_alerts: /noisy (the fixture server) changes a clock
(p.stamp) and a visit counter (#visits) on every request: two polls with
--once give a `changed` event although no news changed.
stored_copy_names_the_lines_of_the_false_alert: --noise --stored compares
one fetch with the copy stored at the last poll and names the lines and
rules.
noise_lists_elements_and_rules: --noise --fetches 3 fetches it 3 times,
lists exactly those two elements with the rules "p.stamp" and "#visits",
says the current rules do not give the same items and the suggested ones
do.
rules_pasted_silence_the_source: with the printed `ignore` line pasted
into the source, two more polls give no `changed`, and --noise finds
nothing left (also on saved copies, --file)."""
import os
import re
import subprocess

from watch_harness import WATCH, Harness, check

h = Harness("noise")
h.start_fixture()
h.start_broker()


def conf(**extra):
    src = {"id": "press", "topic": "press.noisy", "url": h.url("/noisy"), "type": "html",
           "select": "#main", "interval": 60}
    src.update(extra)
    h.write_watch_conf([src], jitter_percent=0, drain_timeout_s=20)


def noise(*args):
    r = subprocess.run([WATCH, "-c", h.watch_conf, "--noise", "press"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    print(r.stdout)
    return r.returncode, r.stdout, r.stderr


# ---- noise_page_raises_false_alerts -----------------------------------------
conf()
h.watch_once(expect_rc=0)
_, _, s = h.watch_once(expect_rc=0)
check(s.get("changed") == 1, "without rules the noisy page gives a false `changed` (%r)" % s)

# ---- stored_copy_names_the_lines_of_the_false_alert ----------------------------
rc, out, err = noise("--stored")
check(rc == 0 and 'item "Presse" differs:' in out, "--stored: the item that alerted (%s)" % err)
check(re.search(r'was: "Visites : \d+"\n', out) and re.search(r'now: "Visites : \d+"\n', out),
      "--stored: the counter line as stored and as now")
check('ignore "#visits"' in out and 'ignore "p.stamp"' in out
      and "ignore = [ \"p.stamp\", \"#visits\" ];" in out, "--stored: the rules to paste")

# ---- noise_lists_elements_and_rules ------------------------------------------
before = int(h.ctl("hits?path=/noisy"))
rc, out, err = noise("--fetches", "3", "--every", "0")
check(rc == 0, "--noise exits 0 (%s)" % err)
check(int(h.ctl("hits?path=/noisy")) == before + 3, "3 fetches of the URL")
changed = [l for l in out.splitlines() if l.startswith("changed")]
check(len(changed) == 2 and any("Page générée à" in l for l in changed)
      and any("Visites :" in l for l in changed), "exactly the clock and the counter listed")
check('ignore "p.stamp"   (matches 1 element)' in out
      and 'ignore "#visits"   (matches 1 element)' in out, "each with its ignore rule")
check('"re:^Visites : [0-9]+$"' in out, "and a re: line pattern with its digits generalised")
check("with its current rules, the 3 copies give the same items: no" in out,
      "the current rules do not silence it")
check("with these rules the 3 copies give the same items: yes" in out,
      "the suggested rules are proved on the 3 copies")
line = re.search(r"ignore = \[ (.*) \];", out).group(1)
rules = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
check(rules == ["p.stamp", "#visits"], "the line to paste: %r" % rules)

# ---- rules_pasted_silence_the_source -----------------------------------------
conf(ignore=rules)
h.watch_once(expect_rc=0)   # a changed configuration re-records silently
_, _, s1 = h.watch_once(expect_rc=0)
_, _, s2 = h.watch_once(expect_rc=0)
check(s1.get("changed") == 0 and s2.get("changed") == 0,
      "with the rules, two more polls give no `changed` (%r %r)" % (s1, s2))
rc, out, _ = noise("--fetches", "2", "--every", "0")
check(rc == 0 and "no element changed between the copies: nothing to ignore" in out,
      "--noise finds nothing left")
copies = []
for i in range(2):
    p = os.path.join(h.dir, "copy%d.html" % i)
    with open(p, "w", encoding="utf-8") as f:
        f.write(h.fixture.get("/noisy"))
    copies += ["--file", p]
rc, out, _ = noise(*copies)
check(rc == 0 and "file %s" % copies[1] in out and "nothing to ignore" in out,
      "--noise on saved copies (--file twice)")
h.close()
print("PASS 37-watch-noise")
