"""File primitives of the store: atomic replace, append and locks.

Every write to the store goes through here. A write either replaces a file atomically
(temporary file in the same directory, fsync, rename) or appends one complete record with a
single ``write`` call, so a SIGKILL at any moment leaves each file either old or new, never
half-written. Read-modify-write sequences hold an advisory ``flock`` on the experiment's
``.lock`` file because other processes (a bash script's child, a second ``create_context``)
may write into the same experiment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    os.replace(tmp, path)


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def open_append(path: Path) -> int:
    """An O_APPEND descriptor on ``path`` (created if missing)."""
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` for the block."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def copy_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically (readers never see a partial copy)."""
    import shutil

    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
