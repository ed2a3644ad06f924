#!/usr/bin/python3
"""check_reports_every_mistake_in_one_run: one config holding every mistake
of issue #17 (a misspelt key, a bad selector, a bad re: pattern, duplicate
source ids, a gopher:// source, a plaintext tcp broker endpoint,
quiet_hours "25:00-07:00", two sinks with one name, a missing token_file
and password_file, a password_file readable by others, an ftp:// webhook
url, an http:// mail url, types = ["neww"], a topic prefix without its dot,
a source's auth_file readable by others)
gets every one reported with file:line by a single `veille check`, which
exits 2; the key-table layer does not hide the others. The same config
without the errors (only the warning left) passes with exit 0 and prints
the warning."""
import os
import re
import subprocess
import tempfile

VEILLE = os.path.join(os.environ["VEILLE_BIN"], "tools", "veille")
SUB = os.path.join(os.environ["VEILLE_BIN"], "subscribers", "veille-sub")

CONF = """broker = {
  journal_dir = "%(d)s/j";
  publish = "tcp://127.0.0.1:7777";
  heartbeat_msx = 3;
};
watch = {
  state = "%(d)s/w.db";
  sources = (
    { id = "a"; url = "https://example.org/"; topic = "t.a"; type = "html"; select = "div[[["; },
    { id = "b"; url = "https://example.org/"; topic = "t.b"; type = "html"; select = "div"; ignore = ["re:a(("]; auth_file = "%(d)s/loose.pw"; },
    { id = "a"; url = "gopher://example.org/"; topic = "t.c"; }
  );
};
sub = {
  state = "%(d)s/s.db";
  sinks = (
    { name = "log"; type = "log"; quiet_hours = "25:00-07:00"; topics = ["un"]; types = ["neww"]; },
    { name = "log"; type = "log"; },
    { name = "hook"; type = "webhook"; url = "ftp://example.org/x"; token_file = "%(d)s/nope.token"; },
    { name = "mail"; type = "mail"; url = "http://mail.example.org"; from = "a@b"; to = ["c@d"]; password_file = "%(d)s/nope.pw"; },
    { name = "mail2"; type = "mail"; url = "smtp://mail.example.org"; from = "a@b"; to = ["c@d"]; password_file = "%(d)s/loose.pw"; }
  );
};
"""

# (line, pattern) of every problem expected
EXPECTED = [
    (4, r"heartbeat_msx: unknown key; did you mean 'heartbeat_ms'"),
    (9, r'select "div\[\[\[": unsupported or malformed selector'),
    (10, r'ignore "re:a\(\(":'),
    (10, r'auth_file "[^"]*loose.pw" is readable .*chmod 600'),
    (11, r"url 'gopher://example.org/'"),
    (11, r"source id 'a' is used twice"),
    (3, r"plaintext tcp"),
    (17, r'quiet_hours "25:00-07:00": expected "HH:MM-HH:MM"'),
    (17, r'types: "neww" is no event type .*did you mean "new"'),
    (17, r'warn .*topics: prefix "un" has no final dot'),
    (18, r'sink name "log" is used twice \(first at [^:]*:17\)'),
    (19, r'url "ftp://example.org/x": expected an http:// or https:// URL'),
    (19, r'token_file "[^"]*nope.token": no such file'),
    (20, r'url "http://mail.example.org": expected an smtp:// or smtps:// URL'),
    (20, r'password_file "[^"]*nope.pw": no such file'),
    (21, r'password_file "[^"]*loose.pw" is readable .*chmod 600'),
]


def run(path):
    p = subprocess.run([VEILLE, "check", path], capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


with tempfile.TemporaryDirectory(prefix="veille-81.") as d:
    with open(os.path.join(d, "loose.pw"), "w") as f:
        f.write("secret\n")
    os.chmod(os.path.join(d, "loose.pw"), 0o644)
    path = os.path.join(d, "all.conf")
    with open(path, "w") as f:
        f.write(CONF % {"d": d})
    rc, out = run(path)
    assert rc == 2, "exit %d, expected 2:\n%s" % (rc, out)
    missing = [(line, pat) for line, pat in EXPECTED
               if not re.search(r"%s:%d: .*%s" % (re.escape(path), line, pat), out)
               and not re.search(r"%s:%d: %s" % (re.escape(path), line, pat), out)]
    # the warning line has the level before the location
    missing = [(line, pat) for line, pat in missing
               if not (pat.startswith("warn") and re.search(
                   r"warn .*%s:%d: %s" % (re.escape(path), line, pat[6:]), out))]
    assert not missing, "not reported: %s\n--- output:\n%s" % (missing, out)

    # Fixed: only the warning is left; exit 0, the warning printed.
    good = CONF.replace("  heartbeat_msx = 3;\n", "").replace(
        '  publish = "tcp://127.0.0.1:7777";\n', "")
    good = good.replace('select = "div[[["', 'select = "div"').replace('"re:a(("', '"re:a+"')
    good = good.replace('{ id = "a"; url = "gopher://example.org/"', '{ id = "c"; url = "https://example.org/"')
    good = good.replace('quiet_hours = "25:00-07:00"', 'quiet_hours = "22:00-07:00"')
    good = good.replace('types = ["neww"]', 'types = ["new"]')
    good = good.replace('{ name = "log"; type = "log"; },', '{ name = "log2"; type = "log"; },')
    good = good.replace("ftp://", "https://").replace("http://mail", "smtps://mail")
    for secret in ("nope.token", "nope.pw"):
        with open(os.path.join(d, secret), "w") as f:
            f.write("s\n")
        os.chmod(os.path.join(d, secret), 0o600)
    os.chmod(os.path.join(d, "loose.pw"), 0o600)
    with open(path, "w") as f:
        f.write(good % {"d": d})
    rc, out = run(path)
    assert rc == 0, "fixed config: exit %d:\n%s" % (rc, out)
    assert 'prefix "un" has no final dot' in out and "1 warning" in out, out

    # veille-sub refuses at start what check refuses (a sink that would
    # never fire), with the same file:line; the fixed file gets past it
    sub_only = os.path.join(d, "sub.conf")
    with open(sub_only, "w") as f:
        f.write('sub = {\n  state = "%s/sub.db";\n  sinks = (\n'
                '    { name = "log"; type = "log"; types = ["neww"]; }\n  );\n};\n' % d)
    p = subprocess.run([SUB, "-c", sub_only], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2 and re.search(r'sub\.conf:4: .*"neww" is no event type', err), \
        "veille-sub must refuse types = [\"neww\"] (exit %d):\n%s" % (p.returncode, err)
print("ok: %d mistakes reported in one run (exit 2); the fixed config passes "
      "with its warning; veille-sub refuses what check refuses" % len(EXPECTED))
