#!/usr/bin/python3
"""sub_pipe_sink_never_uses_a_shell: the pipe sink writes JSON lines to the
stdin of a program started from an argv (no shell). Titles full of shell
syntax ($(...), backticks, ;) arrive verbatim in the JSON and nothing is
executed; the program gets stdin, stdout and stderr and no other descriptor
of veille-sub (sockets, databases, logs). A program that stops reading is
killed after timeout_s and the event retried on a new one. (Delivery means "written to the pipe": lines the program had
not read when it died are lost, so this sink is at-most-once across a
crash of the program; it is restarted at the next event.)"""
import json
import os
import sys

from sub_harness import Broker, Sub, event, publish, read_lines, wait_until, workdir, write_conf


def main():
    d = workdir("subpipe")
    b = Broker(d).start()
    out = os.path.join(d, "piped.jsonl")
    canary = os.path.join(d, "pwned")
    fds = os.path.join(d, "fds")
    # first the descriptors the program was started with beyond 0-2 (found
    # with stat, which opens none), then stdin to the file
    prog = ("import os, sys; fds = ' '.join(str(fd) for fd in range(3, 1024)"
            " if os.path.exists('/proc/self/fd/' + str(fd))); open(sys.argv[2], 'w').write(fds); "
            "f = open(sys.argv[1], 'a', buffering=1); [f.write(l) for l in sys.stdin]")
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "pipe"; type = "pipe"; argv = ["/usr/bin/python3", "-c", "%s", "%s", "%s"];'
        ' backoff_initial_ms = 50;' % (prog, out, fds),
    ])
    titles = ["$(touch %s)" % canary, "`touch %s`" % canary, "a; touch %s #" % canary,
              "\"quoted\" \\ \u00e9 'single' | > /dev/null"]
    items = [event(i, topic="un.pipe", title=t, salt="p") for i, t in enumerate(titles)]
    s = Sub(conf).start()
    publish(b, [("un.pipe", e[1]) for e in items])
    wait_until(lambda: len(read_lines(out)) >= len(items), what="piped lines")
    assert s.stop() == 0
    got = [json.loads(l) for l in read_lines(out)]
    assert [g["title"] for g in got] == titles, got
    assert not os.path.exists(canary), "something ran a shell"
    with open(fds) as f:
        leaked = f.read().split()
    assert leaked == [], "descriptors of veille-sub open in the program: %s" % leaked
    assert b.stop() == 0
    print("ok: %d events piped as JSON lines, no shell" % len(got))


def stuck_program():
    """sub_pipe_kills_a_program_that_stops_reading: a program that never
    reads its stdin (and ignores SIGTERM) fills the pipe; after timeout_s
    it is killed, the event is retried on a new program, and a second pipe
    sink beside it delivers everything meanwhile."""
    d = workdir("subpipestuck")
    b = Broker(d).start()
    pids = os.path.join(d, "pids")
    out = os.path.join(d, "ok.jsonl")
    stuck = ("import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             "open(sys.argv[1], 'a').write(str(os.getpid()) + ' '); time.sleep(600)")
    reader = "import sys; f = open(sys.argv[1], 'a', buffering=1); [f.write(l) for l in sys.stdin]"
    conf = write_conf(os.path.join(d, "sub.conf"), b, os.path.join(d, "sub.db"), [
        'name = "stuck"; type = "pipe"; argv = ["/usr/bin/python3", "-c", "%s", "%s"];'
        ' timeout_s = 1; backoff_initial_ms = 50; backoff_max_ms = 200;' % (stuck, pids),
        'name = "ok"; type = "pipe"; argv = ["/usr/bin/python3", "-c", "%s", "%s"];'
        % (reader, out),
    ])
    # ~4 KiB lines: the 64 KiB pipe is full after about 16
    items = [event(i, topic="un.pipe", title="t%d " % i + "x" * 4000, salt="stuck")
             for i in range(40)]
    s = Sub(conf, args=["--log-level", "info"]).start()
    publish(b, [("un.pipe", e[1]) for e in items])
    s.wait_log(r"sink stuck: .*read nothing for 1 s: restarting it", timeout=60)
    wait_until(lambda: len(read_lines(out)) >= len(items), what="the other sink's lines")
    wait_until(lambda: len(open(pids).read().split()) >= 2, what="a second program started")
    first = int(open(pids).read().split()[0])
    assert not os.path.exists("/proc/%d" % first) or \
        open("/proc/%d/stat" % first).read().split()[2] == "Z", "the stuck program still runs"
    assert s.stop() == 0
    assert b.stop() == 0
    print("ok: a program that stops reading is killed after timeout_s (SIGTERM ignored), "
          "the other sink delivered %d events" % len(read_lines(out)))


if __name__ == "__main__":
    main()
    stuck_program()
    sys.exit(0)
