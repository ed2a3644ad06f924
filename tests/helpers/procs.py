"""procs.py: what every test harness shares. PROCS holds the processes a
test started; each still running is killed when the test exits, also when
it fails. free_port() gives a free loopback TCP port."""
import atexit
import socket

PROCS = []


def _cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
