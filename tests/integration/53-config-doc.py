#!/usr/bin/env python3
"""config_docs_match_key_tables: docs/configuration.md holds exactly what
`veille check --dump-keys` prints; every key of each section is documented
inline in its example (conf/broker.conf, watch.conf, sub.conf); and every
`key = ` written in a code block of docs/operations.md or docs/configuration.md
is a real key."""
import os
import re
import subprocess
import sys

BIN = os.environ["VEILLE_BIN"]
SRC = os.environ["VEILLE_SRC"]
VEILLE = os.path.join(BIN, "tools", "veille")
failures = []


def fail(msg):
    failures.append(msg)


if not os.access(VEILLE, os.X_OK):
    print("FAIL: %s not built" % VEILLE)
    sys.exit(1)

# 1. The generated reference is up to date.
p = subprocess.run([sys.executable, os.path.join(SRC, "dist", "config-doc.py"), VEILLE,
                    "--check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
if p.returncode != 0:
    fail("docs/configuration.md is out of date:\n" + p.stdout.decode(errors="replace")[-3000:])

# 2. Every key in its example config.
dump = subprocess.run([VEILLE, "check", "--dump-keys"], stdout=subprocess.PIPE,
                      check=True).stdout.decode()
keys = re.findall(r"^\| `([a-z_]+)\.([a-z_.\[\]]+)`", dump, re.M)
if len(keys) < 30:
    fail("only %d keys in --dump-keys" % len(keys))
by_section = {}
for section, path in keys:
    by_section.setdefault(section, set()).add(path.replace("[]", "").split(".")[-1])
for section, names in sorted(by_section.items()):
    conf = os.path.join(SRC, "conf", section + ".conf")
    try:
        text = open(conf, encoding="utf-8").read()
    except OSError:
        fail("no example %s for section %s" % (conf, section))
        continue
    missing = sorted(n for n in names if not re.search(r"\b%s\b" % re.escape(n), text))
    if missing:
        fail("conf/%s.conf does not document: %s" % (section, ", ".join(missing)))

# 3. Keys written in the docs' code blocks exist.
known = {p.replace("[]", "").split(".")[-1] for _, p in keys} | set(by_section)
for doc in ("operations.md", "configuration.md"):
    text = open(os.path.join(SRC, "docs", doc), encoding="utf-8").read()
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        if "{" not in block:          # shell snippets
            continue
        for name in re.findall(r"^\s*\{?\s*([a-z_]+)\s*=", block, re.M):
            if name not in known:
                fail("docs/%s mentions unknown key '%s'" % (doc, name))

if failures:
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1)
print("ok: %d keys, reference up to date, examples and docs consistent" % len(keys))
