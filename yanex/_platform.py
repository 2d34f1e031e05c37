"""The few operating-system calls that exist only on some platforms, each with its fallback.

Everything else yanex does with processes is plain POSIX (sessions, process groups,
``AF_UNIX`` stream sockets with descriptor passing), which Linux and macOS both have. The
calls below are Linux-only; each has a portable fallback chosen by capability, never by the
platform's name. ``YANEX_PLATFORM=portable`` forces every fallback, so the portable paths are
tested on Linux too.

This module is a leaf: it imports nothing of yanex.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import threading
from typing import Any

from yanex._context import ENV_PLATFORM

PIPE_SIZE = 1024 * 1024  # fewer wake-ups per megabyte of a child's output

_umask_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    global _umask_lock  # noqa: PLW0603  a thread that held it did not come along
    _umask_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)


def portable() -> bool:
    """True when the Linux-only calls are switched off (``YANEX_PLATFORM=portable``)."""
    return os.environ.get(ENV_PLATFORM, "").strip().lower() == "portable"


def enlarge_pipe(fd: int) -> None:
    """Grow a pipe's buffer where the kernel allows it (Linux ``F_SETPIPE_SZ``); else no-op."""
    if portable():
        return
    import fcntl

    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setter, PIPE_SIZE)


def cpu_count() -> int:
    """CPUs this process may run on: its affinity mask where known, else all of them."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None and not portable():
        with contextlib.suppress(OSError):
            return max(1, len(getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# What CPython puts in LC_CTYPE when it starts in the C locale and coerces it (PEP 538).
_COERCED_LC_CTYPE = ("C.UTF-8", "C.utf8", "UTF-8")


def startup_env_names() -> set[str] | None:
    """Names of the variables this process was started with (Linux), or None if unknown.

    Not switched off by ``YANEX_PLATFORM=portable``: only Linux's CPython coerces the C
    locale this way, and where it does, ``/proc`` is there to tell (macOS's C locale is
    already UTF-8, so nothing is coerced there).
    """
    try:
        with open("/proc/self/environ", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return {os.fsdecode(item.split(b"=", 1)[0]) for item in data.split(b"\0") if item}


def without_locale_coercion(env: dict[str, str]) -> dict[str, str]:
    """``env`` without the LC_CTYPE that this interpreter set for itself at start-up.

    Started in the C locale, CPython sets LC_CTYPE=C.UTF-8 in its own environment (PEP 538),
    and every child would inherit it, where a ``python`` started by the caller would find
    the C locale and switch to UTF-8 mode instead. Where the start-up environment cannot be
    read, ``env`` is returned as it is.
    """
    if env.get("LC_CTYPE") not in _COERCED_LC_CTYPE:
        return env
    names = startup_env_names()
    if names is None or "LC_CTYPE" in names:
        return env
    return {k: v for k, v in env.items() if k != "LC_CTYPE"}


def process_limits() -> list[tuple[int, int, int]]:
    """This process's resource limits, as (resource, soft, hard), for every one the
    platform has (``resource`` is POSIX; the set of limits differs between systems)."""
    import resource

    limits = []
    for name in sorted(n for n in dir(resource) if n.startswith("RLIMIT_")):
        number = getattr(resource, name)
        with contextlib.suppress(OSError, ValueError):
            soft, hard = resource.getrlimit(number)
            limits.append((number, soft, hard))
    return limits


def niceness() -> int | None:
    """This process's scheduling priority (``nice``), or None where it cannot be read.

    Linux keeps a priority per thread, and ``getpriority`` answers for the calling one,
    which for the blocking API is our event-loop thread, not the caller's: there the main
    thread's is read from ``/proc/self/stat`` instead (elsewhere it is per process).
    """
    if not portable():
        with (
            contextlib.suppress(OSError, ValueError, IndexError),
            open("/proc/self/stat", "rb") as fh,
        ):
            return int(fh.read().rsplit(b")", 1)[1].split()[16])
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (OSError, AttributeError):
        return None


def inherit(limits: list[tuple[int, int, int]], nice: int | None) -> None:
    """In a child before it runs: take ``limits`` and ``nice`` (what the caller had). A
    limit or priority this process may not raise stays as it is."""
    import resource

    for number, soft, hard in limits:
        with contextlib.suppress(OSError, ValueError):
            if resource.getrlimit(number) != (soft, hard):
                resource.setrlimit(number, (soft, hard))
    if nice is not None and niceness() != nice:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, nice)


def current_umask() -> int:
    """This process's umask, read without changing it where the kernel tells it (Linux).

    The fallback sets and restores it under a lock; a file created by another thread in
    that instant would get mode 0o077-masked bits, which is why the read is preferred.
    """
    if not portable():
        with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


class FileWatch:
    """inotify on folders: a descriptor that turns readable when a file in one of them is
    written, created or renamed into place; ``events()`` says which (watch, name) pairs."""

    MASK = 0x2 | 0x8 | 0x80 | 0x100  # IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE

    def __init__(self, libc: Any) -> None:
        self._libc = libc
        self.fd: int = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes_errno(), "inotify_init1 failed")

    def add(self, folder: str) -> int:
        """Watch ``folder``; the watch's number (-1 when it cannot be watched)."""
        wd: int = self._libc.inotify_add_watch(self.fd, os.fsencode(folder), self.MASK)
        return wd

    def events(self) -> list[tuple[int, str]]:
        """The (watch, file name) of every event since the last call."""
        out: list[tuple[int, str]] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            offset = 0
            while offset + 16 <= len(data):
                wd, _mask, _cookie, size = struct.unpack_from("iIII", data, offset)
                raw = data[offset + 16 : offset + 16 + size].split(b"\0", 1)[0]
                out.append((wd, os.fsdecode(raw)))
                offset += 16 + size

    def close(self) -> None:
        os.close(self.fd)


def ctypes_errno() -> int:
    import ctypes

    return ctypes.get_errno()


def file_watch() -> FileWatch | None:
    """A FileWatch, or None where inotify is missing (or switched off): poll instead."""
    if portable() or not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return FileWatch(libc)
    except (OSError, AttributeError):
        return None
