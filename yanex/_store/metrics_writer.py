"""The writer of one experiment's metrics: appends to the log and updates metrics.json in place.

``metrics.json`` (the documented file, which other tools and yanex 0.6 read) is updated by
the writer during each call, after the record is in the log and before the call returns,
in place and in O(1): a new step is written over the closing bracket (``,\\n  {...}\\n]``);
a step merged into the last entry rewrites only that entry; a merge into an older step
rewrites the file from that entry on. The file never shrinks in place: what a shorter
rewrite leaves at the end is blanked with spaces after the ``]``, which JSON allows.
The writer keeps the offset of every entry; when another process has logged too (the log
grew behind its back), it re-reads only the changed tail of metrics.json and checks it
against the log, and rebuilds the whole file from the log when anything does not match.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from yanex.errors import CorruptFileError

from . import fs, layout
from .clock import iso
from .metrics import (
    BASE_STEP,
    IN_SYNC,
    decode_log,
    facts,
    no_gc,
    read_metrics_json,
    render,
    render_entry,
    replay,
)
from .schema import MetricsLogEntry, json_decoder, json_encoder

_FIRST = b"\n  "  # before the first entry, after "["
_SEP = b",\n  "  # between entries
_CLOSE = b"\n]\n"
_START = b"\n  {"  # an entry's first line; nested values are indented further
_RETRY_AFTER = 1.0  # seconds before trying metrics.json again after a failed update


def _layout_of(body: bytes, base: int = 0) -> tuple[list[int], int] | None:
    """(entry start offsets, end of the last entry) of a rendered list, or None."""
    end = body.rfind(b"\n]")
    if end < 0 or body[end + 2 :].strip():
        return None if body.strip() != b"[]" else ([], base + 1)
    starts = []
    at = body.find(_START)
    while 0 <= at < end:
        starts.append(base + at + 3)
        at = body.find(_START, at + 4)
    return starts, base + end


class MetricsWriter:
    """Appends ``log_metrics`` calls to one experiment's log and keeps metrics.json complete.

    ``flock`` excludes other processes only (it belongs to the open file description, which
    all threads share), so threads of this process also take ``_thread_lock``.
    """

    def __init__(self, exp_dir: Path) -> None:
        self.exp_dir = exp_dir
        self._thread_lock = threading.Lock()
        self._fd = fs.open_append(exp_dir / layout.METRICS_LOG)
        self._offset = 0
        self._max_step = -1
        self._ends_nl = True
        # metrics.json as this writer last left it
        self._jfd = -1
        self._jsize = 0
        self._starts: list[int] = []  # offset of each entry's "{"
        self._steps: list[Any] = []  # each entry's step (None: a loose legacy entry)
        self._index: dict[Any, int] = {}  # step -> position
        self._tail = 1  # offset just past the last entry's "}" (past "[" when empty)
        self._retry_at = 0.0
        self._lock()
        try:
            size = os.fstat(self._fd).st_size
            if size == 0:
                self._seed_from_legacy()
            else:
                self._catch_up(size)
            self._json_ready(None)
        except BaseException:
            self._unlock()
            self.close()  # e.g. a corrupt legacy metrics.json: do not leak the descriptor
            raise
        self._unlock()

    # -- locking ---------------------------------------------------------------------------

    def _lock(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def _unlock(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    # -- the log ---------------------------------------------------------------------------

    def _seed_from_legacy(self) -> None:
        """An experiment with metrics.json but no log: the list becomes the base record."""
        base = read_metrics_json(self.exp_dir)
        if not base:
            return
        line = json_encoder.encode(MetricsLogEntry(BASE_STEP, time.time(), {"base": base}))
        os.write(self._fd, line + b"\n")
        self._offset = len(line) + 1
        self._max_step = _max_step(base)

    def _catch_up(self, size: int) -> list[MetricsLogEntry]:
        """Read what other writers appended since our offset, to know the highest step."""
        chunk = os.pread(self._fd, size - self._offset, self._offset)
        self._offset = size
        self._ends_nl = chunk.endswith(b"\n")
        entries = decode_log(chunk)
        for entry in entries:
            step = _max_step(entry.data["base"]) if entry.step == BASE_STEP else entry.step
            self._max_step = max(self._max_step, step)
        return entries

    def append(self, data: dict[str, Any], step: int | None) -> int:
        self._lock()
        try:
            size = os.fstat(self._fd).st_size
            fresh = self._catch_up(size) if size != self._offset else None
            if step is None:
                step = self._max_step + 1
            now = time.time()
            line = json_encoder.encode(MetricsLogEntry(step, now, data)) + b"\n"
            if not self._ends_nl:
                line = b"\n" + line  # seal a torn record left by a killed writer
            json_ok = self._json_ready(fresh)
            self._write_whole(line)  # the step is stored once this returns
            self._max_step = max(self._max_step, step)
            if json_ok:
                self._json_add(step, data, now)
            return step
        finally:
            self._unlock()

    def _write_whole(self, line: bytes) -> None:
        """Write all of ``line`` or raise; a short write (a full disk) is not a success.

        What did get written stays as a torn record, which readers skip and the next
        append seals, so the step is reported as failed and nothing else is harmed.
        """
        view = memoryview(line)
        try:
            while view:
                written = os.write(self._fd, view)
                self._offset += written
                view = view[written:]
        finally:
            if len(view) < len(line):  # something was written: torn unless all of it
                self._ends_nl = not view

    # -- metrics.json ----------------------------------------------------------------------

    def _json_ready(self, fresh: list[MetricsLogEntry] | None) -> bool:
        """Bring our picture of metrics.json up to date (under the lock); False to skip it."""
        if self._jfd < 0 and time.monotonic() < self._retry_at:
            return False
        try:
            if self._jfd >= 0:
                st = os.fstat(self._jfd)
                if st.st_nlink and (
                    (fresh is None and st.st_size == self._jsize)
                    or (fresh is not None and self._reindex(fresh, st.st_size))
                ):
                    return True
            self._json_rebuild()
            return True
        except (OSError, CorruptFileError):
            self._json_failed()
            return False

    def _json_rebuild(self) -> None:
        """metrics.json from the whole log (rewritten only when it differs), and its layout."""
        data = os.pread(self._fd, self._offset, 0)
        with no_gc():
            metrics = replay(decode_log(data))
            body = render(metrics)
        path = self.exp_dir / layout.METRICS
        if fs.read_bytes(path) != body:
            fs.atomic_write(path, body, fsync=False)
        fd = os.open(path, os.O_RDWR)
        self._close_json()
        self._jfd, self._jsize = fd, len(body)
        found = _layout_of(body)
        if found is None:  # cannot happen for what render() writes
            raise CorruptFileError(f"unexpected layout of {path}")
        self._starts, self._tail = found
        self._steps = []
        self._index = {}
        for pos, entry in enumerate(metrics):
            step = entry.get("step")
            self._steps.append(step)
            if step is not None:
                self._index[step] = pos

    def _reindex(self, fresh: list[MetricsLogEntry], size: int) -> bool:
        """Follow what other writers did to metrics.json: re-read only from the first entry
        their records touched, and check it holds the steps the log says. False: rebuild."""
        n = len(self._starts)
        first, new_steps, seen = n, [], set()
        for entry in fresh:
            if entry.step == BASE_STEP:
                return False
            pos = self._index.get(entry.step)
            if pos is not None:
                first = min(first, pos)
            elif entry.step not in seen:
                seen.add(entry.step)
                new_steps.append(entry.step)
        base = self._starts[first] - len(_START) + 1 if first < n else self._tail
        chunk = os.pread(self._jfd, size - base, base)
        found = _layout_of(chunk, base) if n else _layout_of(b"[" + chunk, base - 1)
        if found is None:
            return False
        starts, tail = found
        expected = self._steps[first:] + new_steps
        if len(starts) != len(expected):
            return False
        for k, start in enumerate(starts):
            end = starts[k + 1] - len(_SEP) if k + 1 < len(starts) else tail
            try:
                entry = json_decoder.decode(chunk[start - base : end - base])
            except msgspec.DecodeError:
                return False
            if not isinstance(entry, dict) or entry.get("step") != expected[k]:
                return False
        self._starts[first:] = starts
        self._steps[first:] = expected
        for pos in range(first, len(self._steps)):
            if self._steps[pos] is not None:
                self._index[self._steps[pos]] = pos
        self._tail, self._jsize = tail, size
        return True

    def _json_add(self, step: int, data: dict[str, Any], now: float) -> None:
        """The step, as the log's replay makes it, written into metrics.json in place."""
        try:
            pos = self._index.get(step)
            if pos is None:
                self._json_new(step, data, now)
            else:
                self._json_merge(pos, step, data, now)
        except (OSError, msgspec.DecodeError):
            self._json_failed()

    def _json_new(self, step: int, data: dict[str, Any], now: float) -> None:
        entry = dict(data)
        entry["step"] = step
        entry["timestamp"] = iso(now)
        text = render_entry(entry)
        sep = _SEP if self._starts else _FIRST
        at = self._tail
        self._pwrite(sep + text + _CLOSE, at)
        self._starts.append(at + len(sep))
        self._steps.append(step)
        self._index[step] = len(self._steps) - 1
        self._tail = at + len(sep) + len(text)

    def _json_merge(self, pos: int, step: int, data: dict[str, Any], now: float) -> None:
        start = self._starts[pos]
        last = pos + 1 == len(self._starts)
        end = self._tail if last else self._starts[pos + 1] - len(_SEP)
        current = json_decoder.decode(os.pread(self._jfd, end - start, start))
        # the data as the log holds it (JSON types), so the entry is what replay builds
        current.update(json_decoder.decode(json_encoder.encode(data)))
        current["step"] = step
        current["last_updated"] = iso(now)
        text = render_entry(current)
        rest = b"" if last else os.pread(self._jfd, self._tail - end, end)
        self._pwrite(text + rest + _CLOSE, start)
        shift = len(text) - (end - start)
        if shift:
            for k in range(pos + 1, len(self._starts)):
                self._starts[k] += shift
        self._tail += shift

    def _pwrite(self, data: bytes, at: int) -> None:
        """Write ``data`` at ``at``; what was beyond its end up to the old size becomes
        spaces (after the closing bracket, so the file stays valid JSON)."""
        end = at + len(data)
        if end < self._jsize:
            data += b" " * (self._jsize - end)
        view = memoryview(data)
        while view:
            written = os.pwrite(self._jfd, view, at)
            at += written
            view = view[written:]
        self._jsize = max(self._jsize, end)

    def _json_failed(self) -> None:
        """metrics.json could not be updated: readers must take the log until it is rebuilt."""
        self._close_json()
        self._retry_at = time.monotonic() + _RETRY_AFTER
        with contextlib.suppress(OSError):
            os.utime(self.exp_dir / layout.METRICS, ns=(0, 0))

    def _close_json(self) -> None:
        if self._jfd >= 0:
            os.close(self._jfd)
            self._jfd = -1

    def close(self) -> None:
        with self._thread_lock:
            if self._fd >= 0 and self._jfd >= 0:
                with contextlib.suppress(OSError):
                    self._remember_in_sync()
            self._close_json()
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _remember_in_sync(self) -> None:
        """metrics.json is the log's replay as we leave it: make it durable and tell the
        end-of-run compaction in this process (which then need not replay the log)."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # released when the descriptor is closed
        log, js = os.fstat(self._fd), os.fstat(self._jfd)
        if log.st_size != self._offset or not self._ends_nl:
            return
        if not js.st_nlink or js.st_size != self._jsize or js.st_mtime_ns < log.st_mtime_ns:
            return
        os.fsync(self._jfd)
        IN_SYNC[str(self.exp_dir)] = facts(log, js)


def _max_step(entries: list[dict[str, Any]]) -> int:
    steps = [e.get("step") for e in entries if isinstance(e, dict)]
    return max((s for s in steps if isinstance(s, int) and not isinstance(s, bool)), default=-1)
