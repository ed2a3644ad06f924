#!/usr/bin/env python3
"""gen-man.py BINARY NAME DESCRIPTION OUTPUT [SUBCOMMAND...]
gen-man.py --conf5 VEILLE OUTPUT

Writes a section-1 man page for BINARY from its --help and --version output
(for systems without help2man). Option lines ("  -x, --long ARG  text")
become .TP entries; for the `veille` tool, `BINARY SUB --help` of each
SUBCOMMAND becomes a subsection. The usage line and the lines under it
that continue it ("       BINARY ...") make the SYNOPSIS.

With --conf5, writes veille.conf(5): every key of every section, from the
key tables (`VEILLE check --dump-keys`), one entry per key."""
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
# what may follow a flag as its argument: FILE, [SINK], auto|feed, K/N, URL
ARG = re.compile(r"^(\[[^\]]*\]|[A-Z][A-Z0-9_/.]*|\S*\|\S*|-\S+,?)$")


def split_opt(line):
    """(flags, text) of an option line, or None. The flags end at two
    spaces, or at the first word that is not a flag or an argument (so
    "--retry-dead [SINK] deliver ..." is split even with one space)."""
    m = OPT.match(line)
    if not m:
        return None
    words = m.group(1).split(" ")
    for i, w in enumerate(words):
        if i and w and not ARG.match(w):
            rest = " ".join(words[i:]) + ("  " + m.group(2) if m.group(2) else "")
            return " ".join(words[:i]).strip(), rest.strip()
    return m.group(1).strip(), m.group(2) or ""


def usage_lines(text):
    """The usage line and the lines that continue it (aligned under it)."""
    lines, out = text.split("\n"), []
    for i, line in enumerate(lines):
        if re.match(r"^\s*usage:", line, re.I):
            out.append(re.sub(r"^\s*usage:\s*", "", line, flags=re.I))
            for cont in lines[i + 1:]:
                if not re.match(r"^\s{4,}\S", cont) or re.match(r"^\s+-", cont):
                    break
                out.append(cont.strip())
            break
    return out


def render_help(text, out):
    skip = set(usage_lines(text))
    lines = text.rstrip("\n").split("\n")
    prose, opts, in_opts = [], [], False
    for line in lines:
        if re.match(r"^\s*usage:", line, re.I) or (line.strip() in skip and not in_opts
                                                   and not prose):
            continue
        if re.match(r"^\s*options:\s*$", line, re.I):
            continue
        m = split_opt(line)
        if m:
            in_opts = True
            opts.append(list(m))
        elif in_opts and opts and re.match(r"^\s{6,}\S", line):
            opts[-1][1] = (opts[-1][1] + " " + line.strip()).strip()
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


def conf5(veille, output):
    """veille.conf(5) from the Markdown key reference of `veille check --dump-keys`."""
    text, rc = run([veille, "check", "--dump-keys"])
    if rc != 0:
        sys.stderr.write("gen-man: %s check --dump-keys exited %d\n" % (veille, rc))
        return 1
    version = run([veille, "--version"])[0].strip().split("\n")[0] or "veille"
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    day = (datetime.datetime.utcfromtimestamp(epoch) if epoch
           else datetime.datetime.utcnow()).strftime("%Y-%m-%d")
    out = ['.TH VEILLE.CONF 5 "%s" "%s" "File Formats"' % (day, esc(version)),
           ".SH NAME", "veille.conf \\- configuration of veille\\-broker, veille\\-watch, "
           "veille\\-sub and veille",
           ".SH DESCRIPTION",
           esc("One file in libconfig syntax holds up to three groups: broker, watch and "
               "sub; each process reads its own. Every key is listed below with its type, "
               "its default and its meaning; a key of a sink that depends on the sink's "
               "type says so. `veille check FILE...` validates files; `veille check "
               "--dump-keys` prints this reference as Markdown."),
           ".PP", ".nf", esc('broker = { journal_dir = "/var/lib/veille/journal"; };'),
           esc('watch  = { state = "/var/lib/veille/watch/state.db"; sources = ( ... ); };'),
           esc('sub    = { state = "/var/lib/veille/sub/state.db"; sinks = ( ... ); };'), ".fi"]
    cell = re.compile(r"(?:\\\||[^|])+")
    for line in text.split("\n"):
        m = re.match(r"^## `(\w+)`", line)
        if m:
            out.append('.SH "SECTION %s"' % m.group(1).upper())
            continue
        if not line.startswith("| `"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in cell.findall(line.strip().strip("|"))]
        if len(cells) < 4:
            continue
        key, typ, default, meaning = cells[0].strip("`"), cells[1].strip("`"), cells[2], cells[3]
        default = default.replace("**", "")
        out.append(".TP")
        out.append(".B " + esc(key))
        meta = typ + ("; " + ("required" if default == "required" else "default " + default)
                      if default else "")
        out.append(esc("(" + meta + ") " + meaning.replace("`", "")))
    out += [".SH SEE ALSO", ".BR veille (1),", ".BR veille\\-broker (1),",
            ".BR veille\\-watch (1),", ".BR veille\\-sub (1);",
            "configuration.md in the veille documentation directory."]
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, output)
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--conf5":
        return conf5(sys.argv[2], sys.argv[3])
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
    for u in usage_lines(help_text) or [name + " [options]"]:
        out.append(".B " + esc(u))
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
