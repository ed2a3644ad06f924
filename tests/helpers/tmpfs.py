"""tmpfs: small tmpfs mounts for the disk-full tests (real ENOSPC). Needs
root and mount permission: require_tmpfs(), called first, makes the test
skip otherwise (exit 77, "Skipped" in ctest; VEILLE_TEST_NO_TMPFS=1 forces
that path). Every mount is lazily unmounted at exit."""
import atexit
import os
import subprocess
import tempfile

from skip import skip

_MOUNTS = []


def _umount_all():
    for p in reversed(_MOUNTS):
        subprocess.run(["umount", "-l", p], capture_output=True)


def _mount(path, size):
    """Mounts a tmpfs of SIZE on PATH (created); the error text or None."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else r.stderr.strip() or "mount exit %d" % r.returncode


def require_tmpfs():
    """Skips the test (exit 77) unless a tmpfs can be mounted: call it
    before starting any process. VEILLE_TEST_NO_TMPFS=1 forces the skip."""
    if os.environ.get("VEILLE_TEST_NO_TMPFS"):
        skip("VEILLE_TEST_NO_TMPFS set: disk-full test not run")
    if os.geteuid() != 0:
        skip("not root: cannot mount a tmpfs; disk-full test not run")
    probe = tempfile.mkdtemp(prefix="veille-tmpfs-probe-")
    err = _mount(probe, "64k")
    if err is None:
        subprocess.run(["umount", "-l", probe], capture_output=True)
    os.rmdir(probe)
    if err is not None:
        skip("cannot mount a tmpfs (%s): disk-full test not run" % err)


def mount_tmpfs(path, size):
    """Mounts a tmpfs of SIZE ("1m", "256k") on PATH (created); the test
    fails if it cannot (require_tmpfs() said it could)."""
    err = _mount(path, size)
    if err is not None:
        raise RuntimeError("cannot mount a tmpfs on %s: %s" % (path, err))
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
