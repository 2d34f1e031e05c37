"""The status state machine: every status change of an experiment goes through here.

::

    created ──> running ──> completed | failed | cancelled
       │           ^                  │
       ├─> staged ─┤   <── resume ────┘   (create_context on a finished experiment)
       └─> pending ┘   (queued on a Slurm cluster: ``_launchers/slurm.py``)

``created`` and ``staged`` may also end as failed or cancelled without running. A manual
``yanex update --set-status`` passes ``force=True`` and may set any status.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from yanex._models import TERMINAL, Status
from yanex._store import layout, store
from yanex._store.clock import iso, now_iso, to_unix
from yanex._store.schema import Metadata
from yanex.errors import InvalidTransitionError

_ALLOWED: dict[str, frozenset[str]] = {
    Status.CREATED: frozenset(
        {Status.RUNNING, Status.STAGED, Status.PENDING, Status.FAILED, Status.CANCELLED}
    ),
    Status.PENDING: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED}),
    Status.STAGED: frozenset({Status.RUNNING, Status.PENDING, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset({Status.RUNNING}),
    Status.FAILED: frozenset({Status.RUNNING}),
    Status.CANCELLED: frozenset({Status.RUNNING}),
}

HEARTBEAT_INTERVAL = 10.0  # seconds between a supervisor's heartbeats
HEARTBEAT_STALE = 120.0  # a heartbeat older than this means the supervisor is gone


def check(current: str, new: str) -> None:
    if new not in _ALLOWED.get(current, frozenset()):
        raise InvalidTransitionError(f"cannot change status from '{current}' to '{new}'")


def apply(meta: Metadata, new: str, *, force: bool = False) -> None:
    """Move ``meta`` to ``new``, stamping the times that go with it."""
    if not force:
        check(meta.status, new)
    now = now_iso()
    if new == Status.RUNNING:
        if meta.status in TERMINAL:  # resumed: the old ending no longer holds
            meta.completed_at = meta.error_message = meta.error_traceback = None
            meta.cancellation_reason = meta.exit_code = None
        meta.started_at = (meta.started_at or now) if meta.status in TERMINAL else now
        meta.pid, meta.host = os.getpid(), _hostname()
    elif new in TERMINAL:
        meta.completed_at = now
        start = to_unix(meta.started_at)
        end = to_unix(now)
        meta.duration = round(end - start, 6) if start is not None and end is not None else None
    meta.status = new


def finish(
    exp_dir: Path,
    status: Status,
    *,
    message: str | None = None,
    traceback: str | None = None,
    exit_code: int | None = None,
    resources: dict[str, Any] | None = None,
) -> Metadata:
    """End an experiment: compact its metrics first, so metrics.json is complete at the end.
    ``resources``: the summary of what its processes used (``resources.finish``)."""
    store.compact_metrics(exp_dir)
    with store.editing_metadata(exp_dir) as meta:
        apply(meta, status)
        if status == Status.FAILED:
            meta.error_message, meta.error_traceback = message, traceback
        elif status == Status.CANCELLED:
            meta.cancellation_reason = message
            meta.error_message = message
        meta.exit_code = exit_code
        meta.heartbeat_at = None
        if resources is not None:
            meta.resources = resources
    return meta


def _hostname() -> str:
    import socket  # not at import time: a yanex run child never needs it

    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(meta: Metadata, *, now: float | None = None) -> bool:
    """An experiment nothing runs any more: 'running' with its supervisor gone (pid dead on
    this host, or heartbeat old), or 'created' by a process of this host that has exited.

    A 'created' record of another host, or without a pid (yanex 0.6), cannot be judged. A
    Slurm job's experiment is judged by its heartbeat only: Slurm's accounting says how its
    job ended (``_launchers/slurm_accounting.py``), and is asked first."""
    if meta.status == Status.CREATED:
        return meta.host == _hostname() and meta.pid is not None and not pid_alive(meta.pid)
    if meta.status != Status.RUNNING:
        return False  # pending on a cluster: Slurm's accounting settles it (query._settle)
    if meta.host == _hostname() and meta.pid is not None and meta.launcher != "slurm":
        return not pid_alive(meta.pid)
    beat = to_unix(meta.heartbeat_at)
    if beat is None:
        return False
    return (now or time.time()) - beat > HEARTBEAT_STALE


def stale_reason(meta: Metadata, exp_dir: Path) -> str:
    """Why a stale experiment failed, as far as can be known after the fact.

    The exit status of a process that was not our child cannot be read once it has gone, so
    the reason names the process (or the last heartbeat) and adds what the directory shows.
    """
    if meta.host == _hostname() and meta.pid is not None:
        gone = f"process {meta.pid} on {meta.host} no longer exists"
    else:
        gone = f"no heartbeat from {meta.host or 'its host'} since {meta.heartbeat_at}"
    started = "" if meta.status == Status.RUNNING else " before the experiment started"
    reason = f"supervisor gone{started} ({gone})"
    cause = _known_cause(exp_dir)
    return f"{reason}: {cause}" if cause else reason


_DISK_FULL = (b"No space left on device", b"[Errno 28]")


def _known_cause(exp_dir: Path) -> str | None:
    """What the experiment's own files (or its file system) say about why it stopped."""
    try:
        stat = os.statvfs(exp_dir)
        writable = not stat.f_flag & os.ST_RDONLY and stat.f_blocks > 0  # not e.g. squashfs
        if writable and stat.f_bavail == 0:
            return "no space left on device"
    except OSError:
        pass
    for name in ("stderr.txt", "script_stderr.txt"):
        try:
            with open(exp_dir / layout.ARTIFACTS / name, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 8192))
                tail = fh.read()
        except OSError:
            continue
        if any(marker in tail for marker in _DISK_FULL):
            return "no space left on device"
    return None


def mark_stale_failed(exp_dir: Path) -> bool:
    """Persist the failure of a stale experiment, with its reason; True when it was stale.

    Checked again under the experiment's lock, so a supervisor that is alive after all (or
    has just finished) is never overwritten.
    """
    if not is_stale(store.read_metadata(exp_dir)):
        return False
    # as at any end, metrics.json made whole, even if its writer died in the middle of a
    # write (on a read-only store readers still replay the log)
    with contextlib.suppress(OSError):
        store.compact_metrics(exp_dir)
    with store.editing_metadata(exp_dir) as meta:
        if not is_stale(meta):
            return False
        reason = stale_reason(meta, exp_dir)
        seen = _last_seen(meta, exp_dir)
        meta.heartbeat_at = None
        apply(meta, Status.FAILED)
        meta.error_message = reason
        start = to_unix(meta.started_at)
        if seen is not None and start is not None:  # it ended when last seen, not now
            meta.completed_at = iso(seen)
            meta.duration = round(max(0.0, seen - start), 6)
    return True


def _last_seen(meta: Metadata, exp_dir: Path) -> float | None:
    """The last sign of life of a running experiment: its heartbeat, or the last write to
    its metrics log or output, whichever is latest."""
    times = [t for t in (to_unix(meta.heartbeat_at), to_unix(meta.started_at)) if t is not None]
    for path in (
        exp_dir / layout.METRICS_LOG,
        exp_dir / layout.ARTIFACTS / "stdout.txt",
        exp_dir / layout.ARTIFACTS / "stderr.txt",
    ):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times) if meta.status == Status.RUNNING and times else None
