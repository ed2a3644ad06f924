"""tmpfs: small tmpfs mounts for the disk-full tests (real ENOSPC). Needs
root: without it the test prints SKIP and exits 0. Every mount is lazily
unmounted at exit."""
import atexit
import os
import subprocess
import sys

_MOUNTS = []


def _umount_all():
    for p in reversed(_MOUNTS):
        subprocess.run(["umount", "-l", p], capture_output=True)


def mount_tmpfs(path, size):
    """Mounts a tmpfs of SIZE ("1m", "256k") on PATH (created)."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("SKIP: cannot mount a tmpfs (%s): disk-full test not run" % r.stderr.strip())
        sys.exit(0)
    if not _MOUNTS:
        atexit.register(_umount_all)
    _MOUNTS.append(path)


def fill(path):
    """Fills the file system of PATH with a filler file until ENOSPC;
    returns the filler's path (remove it to give the space back)."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
    return filler
