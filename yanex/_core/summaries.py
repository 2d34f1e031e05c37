"""The listing view of ``metadata.json`` (``Summary``), and a cache of it that cannot go stale.

Reading 10,000 metadata files costs three system calls and a decode each; ``stat`` alone is
about four times cheaper. So each folder of experiments (the store, its ``archived/``) keeps
``.yanex-index``: per experiment, the ``Summary`` last decoded and the (inode, size, mtime,
ctime) of the ``metadata.json`` it came from. A listing stats every ``metadata.json`` and
uses a cached summary only when all four are unchanged; anything else is read again.

Why a stale summary cannot be served: every change to a file changes its ctime (which,
unlike mtime, no program can set), and the store's writes also give the file a new inode.
The one hole is a change within the filesystem's timestamp granularity of the read that
cached it, so (like git's index) an entry is trusted only if the file's ctime was more
than ``RACY_NS`` older than that read; a fresh file is simply read again next time.
The cache is rewritten atomically after a listing that changed it; a missing, corrupt or
unwritable cache only costs speed, never correctness.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import msgspec

from yanex._store import fs
from yanex.errors import CorruptFileError

FILE = ".yanex-index"
VERSION = 1
RACY_NS = 2_000_000_000  # trust only entries whose file was this much older than the read


class Summary(msgspec.Struct, kw_only=True, gc=False):
    """The part of ``metadata.json`` a listing needs (a read-only view; see schema.Metadata).

    ``gc=False``: it holds only strings, numbers and lists of strings, so it can never be
    part of a reference cycle, and the collector need not track 10,000 of them.
    """

    id: str = ""
    name: str | None = None
    project: str | None = None
    status: str = "created"
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    duration: float | None = None
    tags: list[str] | None = None
    script_path: str | None = None
    description: str | None = None
    error_message: str | None = None
    depends_on: list[str] | None = None


class _Entry(msgspec.Struct, array_like=True, gc=False):
    key: tuple[int, int, int, int]  # st_ino, st_size, st_mtime_ns, st_ctime_ns
    read_ns: int  # wall clock just before the file was read
    summary: Summary


class _IndexFile(msgspec.Struct, gc=False):
    version: int
    entries: dict[str, _Entry]


_json = msgspec.json.Decoder(Summary)
_index_decoder = msgspec.msgpack.Decoder(_IndexFile)
_index_encoder = msgspec.msgpack.Encoder()


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read(path: str) -> tuple[Summary, tuple[int, int, int, int]] | None:
    """The summary in ``path`` and its file's key; None when the file does not exist.

    Raises CorruptFileError when it cannot be read or decoded.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise CorruptFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        key = _key(os.fstat(fd))  # of the very inode we read, whatever replaces it meanwhile
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError as exc:
        raise CorruptFileError(f"cannot read {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    try:
        return _json.decode(b"".join(chunks)), key
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CorruptFileError(f"corrupt metadata file {path}: {exc}") from exc


class Cache:
    """The summaries of one folder of experiments; see the module docstring."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._path = Path(base, FILE)
        self._entries = self._load()
        self._changed = False

    def _load(self) -> dict[str, _Entry]:
        data = fs.read_bytes(self._path)
        if data is None:
            return {}
        try:
            found = _index_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return {}  # unreadable cache: rebuild it
        return found.entries if found.version == VERSION else {}

    def cached(self, exp_id: str, metadata_path: str) -> Summary | None:
        """The cached summary when it provably matches the file; None means: read it."""
        entry = self._entries.get(exp_id)
        if entry is None or entry.read_ns - entry.key[3] <= RACY_NS:
            return None
        try:
            st = os.stat(metadata_path)  # noqa: PTH116 - a str path: no Path objects per file
        except OSError:
            return None
        return entry.summary if _key(st) == entry.key else None

    def load(self, exp_id: str, metadata_path: str) -> Summary | None:
        """Read the file (None when it does not exist) and remember its summary."""
        read_ns = time.time_ns()
        found = read(metadata_path)
        if found is None:
            self._entries.pop(exp_id, None)
            return None
        summary, key = found
        self._entries[exp_id] = _Entry(key, read_ns, summary)
        self._changed = True
        return summary

    def save(self, present: set[str]) -> None:
        """Keep the entries of ``present`` only, and write the cache if it changed."""
        gone = [exp_id for exp_id in self._entries if exp_id not in present]
        for exp_id in gone:
            del self._entries[exp_id]
        if not (self._changed or gone):
            return
        data = _index_encoder.encode(_IndexFile(version=VERSION, entries=self._entries))
        with contextlib.suppress(OSError):  # a read-only store is still listed, just slower
            fs.atomic_write(self._path, data, fsync=False)
