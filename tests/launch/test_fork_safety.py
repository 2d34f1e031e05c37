"""A script may fork (multiprocessing's fork start method) with yanex loaded: every lock
that a yanex module holds at module level is usable in the child even when another thread
held it at the moment of the fork."""

from __future__ import annotations

import subprocess
import sys

CHECK = r"""
import importlib, os, pkgutil, sys, threading, time
import yanex

LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
names = ["yanex"] + [m.name for m in pkgutil.walk_packages(yanex.__path__, "yanex.")
                     if not m.name.startswith(("yanex._boot", "yanex._cli", "yanex._ui"))]
locks = {}
for name in names:
    try:
        module = importlib.import_module(name)
    except ImportError:
        continue
    for attr, value in vars(module).items():
        if isinstance(value, LOCK_TYPES):
            locks[(name, attr)] = value
assert locks, "no module-level lock found: the check would prove nothing"

held = threading.Event()
release = threading.Event()
def hold():
    for lock in locks.values():
        lock.acquire()
    held.set()
    release.wait()
    for lock in locks.values():
        lock.release()
holder = threading.Thread(target=hold, daemon=True)
holder.start()
held.wait()
pid = os.fork()
if pid == 0:
    stuck = [f"{n}.{a}" for (n, a) in locks
             if not getattr(sys.modules[n], a).acquire(timeout=2)]
    os.write(1, ("stuck: " + ",".join(stuck) + "\n").encode())
    os._exit(1 if stuck else 0)
_, status = os.waitpid(pid, 0)
release.set()
holder.join()
print("checked", len(locks))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_module_locks_are_recreated_after_fork() -> None:
    """Each module-level lock of yanex, held by another thread at fork time, can be taken
    in the forked child (it was re-created), so a forking script never deadlocks in yanex."""
    res = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "stuck: \n" in res.stdout
    assert int(res.stdout.split("checked ")[1]) >= 3


LINUX_ONLY = (
    "/proc/",
    "SOCK_SEQPACKET",
    "sched_getaffinity",
    "F_SETPIPE_SZ",
    "prctl",
    "pidfd",
    "epoll",
    "inotify",
    "memfd",
    "O_TMPFILE",
    "os.splice",
)


def test_linux_only_calls_live_behind_the_platform_module() -> None:
    """No Linux-only primitive is used outside `yanex/_platform.py`, which gives each one a
    fallback (so the default path also works where they do not exist, as on macOS)."""
    from pathlib import Path

    import yanex

    root = Path(yanex.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path.name == "_platform.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if '"""' in line or "``" in line:  # prose in docstrings may name them
                continue
            found += [f"{path.relative_to(root)}:{number}: {w}" for w in LINUX_ONLY if w in code]
    assert found == []
