"""Extracts the libconfig snippets of the docs for `veille check` (test 82).

A fenced block (```) is a config snippet when it holds a top-level
`broker`, `watch` or `sub` group, or when it is a lone sink group
(`{ name = ...; type = ...; }`) or source group (`{ id = ...; }`), which is
wrapped in a minimal `sub` or `watch` section. A block that is deliberately
partial (an outline with `...`) is skipped when the line before its fence
is `<!-- check: skip -->` (indented like the fence inside a list item).
Fences indented in a list item are read too (the indent is removed)."""
import re

SKIP = "<!-- check: skip -->"
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)
SECTION = re.compile(r"^\s*(broker|watch|sub)\s*[=:]?\s*\{", re.M)

SINK_WRAP = 'sub = {\n  state = "/tmp/veille-doc-snippet.db";\n  sinks = (\n%s\n  );\n};\n'
SOURCE_WRAP = 'watch = {\n  state = "/tmp/veille-doc-snippet.db";\n  sources = (\n%s\n  );\n};\n'


def snippets(path):
    """Yields (line, text, skipped) for every config snippet of PATH:
    line = line of the opening fence (1-based)."""
    text = open(path, encoding="utf-8").read()
    for m in FENCE.finditer(text):
        indent = len(m.group(1))
        body = "".join(l[indent:] if l[:indent].strip() == "" else l
                       for l in m.group(3).splitlines(True))
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        skipped = before == SKIP
        stripped = body.strip()
        if SECTION.search(body):
            yield line, body, skipped
        elif stripped.startswith("{") and stripped.endswith("}"):
            if re.search(r"\bname\s*=", body) and re.search(r"\btype\s*=", body):
                yield line, SINK_WRAP % body, skipped
            elif re.search(r"\bid\s*=", body):
                yield line, SOURCE_WRAP % body, skipped
