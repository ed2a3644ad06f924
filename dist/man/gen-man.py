#!/usr/bin/env python3
"""gen-man.py BINARY NAME DESCRIPTION OUTPUT [SUBCOMMAND...]

Writes a section-1 man page for BINARY from its --help and --version output
(for systems without help2man). Option lines ("  -x, --long ARG  text")
become .TP entries; for the `veille` tool, `BINARY SUB --help` of each
SUBCOMMAND becomes a subsection."""
import datetime
import os
import re
import subprocess
import sys


def run(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        return p.stdout.decode("utf-8", "replace"), p.returncode
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(%s)" % e, 1


def esc(s):
    s = s.replace("\\", "\\e").replace("-", "\\-")
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


OPT = re.compile(r"^\s+(-\S.*?)(?:\s{2,}(\S.*))?$")


def render_help(text, out):
    lines = text.rstrip("\n").split("\n")
    prose, opts, in_opts = [], [], False
    for line in lines:
        if re.match(r"^\s*usage:", line, re.I):
            continue
        m = OPT.match(line)
        if m:
            in_opts = True
            opts.append([m.group(1).strip(), m.group(2) or ""])
        elif in_opts and opts and re.match(r"^\s{6,}\S", line):
            opts[-1][1] += " " + line.strip()
        elif in_opts and not line.strip():
            continue
        else:
            if in_opts:
                opts.append([None, line.strip()])
            else:
                prose.append(line.rstrip())
    if prose:
        out.append(".SH DESCRIPTION")
        verbatim = False
        for p in prose:
            indented = p.startswith((" ", "\t"))
            if indented and not verbatim:
                out.append(".nf")
            elif not indented and verbatim:
                out.append(".fi")
            verbatim = indented
            out.append(".PP" if not p.strip() else esc(p))
        if verbatim:
            out.append(".fi")
    if opts:
        out.append(".SH OPTIONS")
        for flag, text in opts:
            if flag is None:
                out.append(".PP")
                out.append(esc(text))
            else:
                out.append(".TP")
                out.append(".B " + esc(flag))
                out.append(esc(text))


def main():
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    binary, name, desc, output = sys.argv[1:5]
    subs = sys.argv[5:]
    help_text, rc = run([binary, "--help"])
    if rc != 0:
        sys.stderr.write("gen-man: %s --help exited %d\n" % (binary, rc))
    version = run([binary, "--version"])[0].strip().split("\n")[0] or name
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    day = (datetime.datetime.utcfromtimestamp(epoch) if epoch
           else datetime.datetime.utcnow()).strftime("%Y-%m-%d")
    out = ['.TH %s 1 "%s" "%s" "User Commands"' % (name.upper(), day, esc(version)),
           ".SH NAME", "%s \\- %s" % (esc(name), esc(desc)), ".SH SYNOPSIS"]
    usage = [l for l in help_text.split("\n") if re.match(r"^\s*usage:", l, re.I)]
    for u in usage or [name + " [options]"]:
        out.append(".B " + esc(re.sub(r"^\s*usage:\s*", "", u, flags=re.I)))
        out.append(".br")
    render_help(help_text, out)
    for sub in subs:
        text, _ = run([binary, sub, "--help"])
        out.append('.SH "COMMAND: %s"' % esc(sub.upper()))
        body = []
        render_help(text, body)
        for l in body:
            out.append(l.replace(".SH ", ".SS ") if l.startswith(".SH ") else l)
    out += [".SH EXIT STATUS", ".TP", "0", "success", ".TP", "1",
            "runtime failure (the log on standard error says what failed)", ".TP", "2",
            "usage or configuration error (the message names the file and line)",
            ".SH SIGNALS",
            "SIGTERM and SIGINT finish the current batch and exit cleanly; SIGHUP "
            "reopens log files.",
            ".SH SEE ALSO",
            ".BR veille (1),", ".BR veille\\-broker (1),", ".BR veille\\-watch (1),",
            ".BR veille\\-sub (1);",
            "configuration.md and operations.md in the veille documentation directory."]
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
