"""The status state machine: every status change of an experiment goes through here.

::

    created ──> running ──> completed | failed | cancelled
       │           ^                  │
       └─> staged ─┘   <── resume ────┘   (create_context on a finished experiment)

``created`` and ``staged`` may also end as failed or cancelled without running. A manual
``yanex update --set-status`` passes ``force=True`` and may set any status.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from yanex._models import TERMINAL, Status
from yanex._store import store
from yanex._store.clock import now_iso, to_unix
from yanex._store.schema import Metadata
from yanex.errors import InvalidTransitionError

_ALLOWED: dict[str, frozenset[str]] = {
    Status.CREATED: frozenset({Status.RUNNING, Status.STAGED, Status.FAILED, Status.CANCELLED}),
    Status.STAGED: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset({Status.RUNNING}),
    Status.FAILED: frozenset({Status.RUNNING}),
    Status.CANCELLED: frozenset({Status.RUNNING}),
}

HEARTBEAT_INTERVAL = 10.0  # seconds between a supervisor's heartbeats
HEARTBEAT_STALE = 120.0  # a heartbeat older than this means the supervisor is gone
STALE_MESSAGE = "supervisor died while the experiment was running"


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
        meta.started_at = meta.started_at if meta.status in TERMINAL else now
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
) -> Metadata:
    """End an experiment: compact its metrics first, so metrics.json is complete at the end."""
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
    """A 'running' experiment whose owner is gone: pid dead on this host, or heartbeat old."""
    if meta.status != Status.RUNNING:
        return False
    if meta.host == _hostname() and meta.pid is not None:
        return not pid_alive(meta.pid)
    beat = to_unix(meta.heartbeat_at)
    if beat is None:
        return False
    return (now or time.time()) - beat > HEARTBEAT_STALE


def effective_status(meta: Metadata) -> str:
    """The status to report: a stale 'running' experiment is shown as failed."""
    return Status.FAILED if is_stale(meta) else meta.status


def mark_stale_failed(exp_dir: Path) -> bool:
    """Persist the failure of a stale experiment; True when it was stale."""
    if not is_stale(store.read_metadata(exp_dir)):
        return False
    with store.editing_metadata(exp_dir) as meta:
        if is_stale(meta):
            apply(meta, Status.FAILED)
            meta.error_message = STALE_MESSAGE
    return True
