#!/usr/bin/python3
"""doc_config_snippets_pass_check: every libconfig snippet of docs/*.md,
README.md and subscribers/README.md (tests/helpers/doc_snippets.py says
which blocks are snippets; a lone sink or source group is wrapped in its
section) and every conf/*.conf passes `veille check`. Secret files the
snippets name (token_file, password_file, creds_file, ca_file, CURVE key
files and allow-list directories) are made in a temp dir, chmod 600, since
they only exist on a deployed host. A block marked
`<!-- check: skip -->` is an outline and is skipped; at most a few are.
Also the man pages (dist/man/gen-man.py): veille.conf(5) has an entry
for every key of `veille check --dump-keys`; veille-sub(1) lists every
sink type; every man(1) page has one entry per option (no option line
carrying two options) and one "usage:" style.
Fails before #17: the sink example of subscribers/README.md missed a
comma; there was no veille.conf(5)."""
import glob
import os
import re
import subprocess
import tempfile

from doc_snippets import snippets

SRC = os.environ["VEILLE_SRC"]
VEILLE = os.path.join(os.environ["VEILLE_BIN"], "tools", "veille")
SECRET = re.compile(r'\b(token_file|password_file|creds_file|ca_file|curve_secret_key|'
                    r'curve_server_key)(\s*=\s*)"([^"]*)"')
KEYDIR = re.compile(r'\b(curve_publishers|curve_subscribers)(\s*=\s*)"([^"]*)"')

docs = sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))
docs += [os.path.join(SRC, "README.md"), os.path.join(SRC, "subscribers", "README.md")]
confs = sorted(glob.glob(os.path.join(SRC, "conf", "*.conf")))

failures, checked, skipped = [], 0, 0
with tempfile.TemporaryDirectory(prefix="veille-82.") as d:
    def secret(m):
        path = os.path.join(d, "secret-%d" % abs(hash(m.group(3))))
        with open(path, "w") as f:
            f.write("s3cret\n")
        os.chmod(path, 0o600)
        return '%s%s"%s"' % (m.group(1), m.group(2), path)

    items = [(c, 1, open(c).read(), False) for c in confs]
    for doc in docs:
        items += [(doc, line, body, skip) for line, body, skip in snippets(doc)]
    for origin, line, body, skip in items:
        if skip:
            skipped += 1
            continue
        name = "%s-%d.conf" % (os.path.basename(origin), line)
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(KEYDIR.sub(lambda m: '%s%s"%s"' % (m.group(1), m.group(2), d),
                               SECRET.sub(secret, body)))
        p = subprocess.run([VEILLE, "check", path], capture_output=True, timeout=60)
        checked += 1
        if p.returncode != 0:
            out = (p.stdout + p.stderr).decode("utf-8", "replace")
            failures.append("%s:%d (snippet at the fence):\n%s" % (origin, line, out))
assert not failures, "\n".join(failures)
assert checked >= 12, "only %d snippets found: is the extractor broken?" % checked
assert skipped <= 5, "%d snippets skipped: mark only outlines" % skipped
# ---- man pages ---------------------------------------------------------------
BIN = os.environ["VEILLE_BIN"]
GEN = os.path.join(SRC, "dist", "man", "gen-man.py")
with tempfile.TemporaryDirectory(prefix="veille-82-man.") as d:
    conf5 = os.path.join(d, "veille.conf.5")
    subprocess.run(["/usr/bin/python3", GEN, "--conf5", VEILLE, conf5], check=True, timeout=120)
    page = open(conf5).read()
    dump = subprocess.run([VEILLE, "check", "--dump-keys"], capture_output=True, check=True,
                          timeout=60).stdout.decode()
    keys = re.findall(r"^\| `([^`]+)` \|", dump, re.M)
    entries = re.findall(r"^\.B (\S+)$", page, re.M)
    missing = [k for k in keys if k.replace("-", "\\-") not in entries]
    assert len(keys) > 100 and not missing, "veille.conf(5) lacks %s" % missing[:10]
    assert ".TH VEILLE.CONF 5" in page
    pages = {}
    for binary, subs in (("broker/veille-broker", []), ("watchers/veille-watch", []),
                         ("subscribers/veille-sub", []),
                         ("tools/veille", ["tail", "pub", "check", "status", "keygen", "stats"])):
        out = os.path.join(d, os.path.basename(binary) + ".1")
        subprocess.run(["/usr/bin/python3", GEN, os.path.join(BIN, binary),
                        os.path.basename(binary), "test", out] + subs, check=True, timeout=120)
        pages[binary] = open(out).read()
        help_texts = [subprocess.run([os.path.join(BIN, binary)] + ([s] if s else []) + ["--help"],
                                     capture_output=True, timeout=60).stdout.decode()
                      for s in subs or [None]]
        for text in help_texts:
            assert re.match(r"^usage: ", text), "%s --help: not the one usage: style" % binary
            for line in text.splitlines():
                assert not re.match(r"^\s+--?[a-z].*, --[a-z-]+ [A-Z]+, --", line), \
                    "%s --help: two options on one line: %r" % (binary, line)
        # every .B entry of OPTIONS is one option (flags and arguments only)
        for tag in re.findall(r"^\.TP\n\.B (.*)$", pages[binary], re.M):
            words = tag.replace("\\-", "-").split()
            assert all(w.startswith("-") or re.match(r"^(\[[^\]]*\]|[A-Z][A-Z0-9_/.]*,?|\S*\|\S*)$", w)
                       for w in words), "%s(1): option entry %r mixes text" % (binary, tag)
    sub_page = pages["subscribers/veille-sub"]
    types = re.search(r'name = "type".*?choices = "([^"]+)"',
                      open(os.path.join(SRC, "subscribers", "sub_conf.c")).read(), re.S).group(1)
    for t in types.split("|"):
        assert re.search(r"\b%s\b" % t, sub_page.split(".SH OPTIONS")[0]), \
            "veille-sub(1) does not list sink type %s" % t

print("ok: %d config snippets of the docs and conf/ pass veille check (%d outlines skipped)"
      % (checked, skipped) + "; veille.conf(5) has every key, veille-sub(1) every sink type")
