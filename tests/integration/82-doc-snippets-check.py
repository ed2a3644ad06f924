#!/usr/bin/python3
"""doc_config_snippets_pass_check: every libconfig snippet of docs/*.md,
README.md and subscribers/README.md (tests/helpers/doc_snippets.py says
which blocks are snippets; a lone sink or source group is wrapped in its
section) and every conf/*.conf passes `veille check`. Secret files the
snippets name (token_file, password_file, creds_file) are made in a temp
dir, chmod 600, since they only exist on a deployed host. A block marked
`<!-- check: skip -->` is an outline and is skipped; at most a few are.
Fails before #17: the sink example of subscribers/README.md missed a comma."""
import glob
import os
import re
import subprocess
import tempfile

from doc_snippets import snippets

SRC = os.environ["VEILLE_SRC"]
VEILLE = os.path.join(os.environ["VEILLE_BIN"], "tools", "veille")
SECRET = re.compile(r'\b(token_file|password_file|creds_file)(\s*=\s*)"([^"]*)"')

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
            f.write(SECRET.sub(secret, body))
        p = subprocess.run([VEILLE, "check", path], capture_output=True, timeout=60)
        checked += 1
        if p.returncode != 0:
            out = (p.stdout + p.stderr).decode("utf-8", "replace")
            failures.append("%s:%d (snippet at the fence):\n%s" % (origin, line, out))
assert not failures, "\n".join(failures)
assert checked >= 12, "only %d snippets found: is the extractor broken?" % checked
assert skipped <= 5, "%d snippets skipped: mark only outlines" % skipped
print("ok: %d config snippets of the docs and conf/ pass veille check (%d outlines skipped)"
      % (checked, skipped))
