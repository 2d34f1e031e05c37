"""An experiment's stored record as plain data: metadata as a dict, dotted keys, run time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yanex._models import Status
from yanex._store import store
from yanex._store.clock import to_unix

if TYPE_CHECKING:
    from .summaries import Summary


def as_dict(exp_dir: Path) -> dict[str, Any]:
    """Every field of ``metadata.json`` (unknown ones too), the known ones normalised to the
    current format (as ``store.read_metadata`` reads them)."""
    import msgspec

    raw = store.read_metadata_raw(exp_dir)
    raw.update(msgspec.to_builtins(store.to_metadata(raw, exp_dir)))
    return raw


def dotted(data: Any, path: str) -> tuple[Any, bool]:
    """``(data["a"]["b"], True)`` for ``"a.b"``, ``(None, False)`` when it is not there; a
    key holding the whole dotted path wins over the nested one."""
    if isinstance(data, dict) and path in data:
        return data[path], True
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None, False
        data = data[part]
    return data, True


def run_seconds(summary: Summary, status: str, *, live: bool = True) -> float | None:
    """How long an experiment ran: its recorded duration once it has ended, else from its
    start to its end, or (``live``) to now while it is running; None when it never started."""
    if summary.duration is not None and status != Status.RUNNING:
        return summary.duration
    start, end = to_unix(summary.started_at), to_unix(summary.completed_at)
    if start is not None and end is not None:
        return max(0.0, end - start)
    if start is not None and live and status == Status.RUNNING:
        return max(0.0, time.time() - start)
    return summary.duration
