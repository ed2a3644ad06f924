#!/usr/bin/env python3
"""38-watch-un-session: the shipped conf/sources.conf entry
`un-ga-resolutions` follows the UN General Assembly session in progress
and carries each resolution's title.

url_follows_the_session: its url holds {un_ga_session}; a fixture server
serves the resolutions table only under the session computed from today's
date (session N from 20 September of 1945 + N): the source is fetched
there, and from no other path.
alerts_carry_symbol_and_title: --test gives one event per resolution on
the topics watched (terrorism, ICT), titled "A/RES/79/150 — Measures to
eliminate international terrorism", linking the PDF; the header row and
the unrelated resolutions give nothing."""
import datetime
import json
import os
import re
import subprocess

from watch_harness import WATCH, Harness, check

SRC = os.environ.get("VEILLE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
h = Harness("un-session")
h.start_fixture()

today = datetime.datetime.now(datetime.timezone.utc)
session = today.year - 1945 - (0 if (today.month, today.day) >= (9, 20) else 1)
page = os.path.join(h.www, "en", "ga", str(session))
os.makedirs(page)
with open(os.path.join(SRC, "tests", "fixtures", "pages", "un-ga-resolutions.html")) as f:
    html = f.read()
with open(os.path.join(page, "resolutions.shtml"), "w") as f:
    f.write(html)

# the shipped entry, pointed at the fixture server instead of www.un.org
text = open(os.path.join(SRC, "conf", "sources.conf"), encoding="utf-8").read()
entry = re.search(r'\{ id = "un-ga-resolutions";.*?\n    \}', text, re.S).group(0)
check("{un_ga_session}" in entry, "the shipped url has the {un_ga_session} placeholder")
entry = entry.replace("https://www.un.org", h.url(""))
conf = os.path.join(h.dir, "un.conf")
with open(conf, "w", encoding="utf-8") as f:
    f.write('watch = {\n  broker = "tcp://127.0.0.1:1";\n  state = "%s";\n  sources = (\n    %s\n  );\n};\n'
            % (os.path.join(h.dir, "un.db"), entry))

r = subprocess.run([WATCH, "-c", conf, "--test", "un-ga-resolutions"], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, text=True, timeout=60)
check(r.returncode == 0, "--test exits 0 (%s)" % r.stderr.strip())
check(int(h.ctl("hits?path=/en/ga/%d/resolutions.shtml" % session)) == 1,
      "fetched at the session in progress (%d)" % session)
evs = [json.loads(l) for l in r.stdout.splitlines()]
titles = sorted(e["title"] for e in evs)
check(titles == ["A/RES/79/150 — Measures to eliminate international terrorism",
                 "A/RES/79/237 — Developments in the field of information and "
                 "telecommunications in the context of international security"],
      "symbol and title of the two resolutions on the watched topics: %r" % titles)
check(all(e["url"].startswith(h.url("/en/ga/79/A_RES_79_")) for e in evs),
      "each links its document")
h.close()
print("PASS 38-watch-un-session")
