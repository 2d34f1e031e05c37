"""A Slurm experiment's record as its job goes: pending with its job id, then settled from
Slurm's accounting when the job ended without recording it (scancel from outside, time limit,
node failure, OOM).

``cluster`` marks and settles the experiments of a run it follows; readers (``list``,
``show``, ``get``, ``yanex.results``: ``query._settle``) settle one experiment with
``settle_from_accounting``, without the submission machinery.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from yanex._launchers import slurm
from yanex._models import TERMINAL, Status
from yanex._store import store
from yanex._store.schema import Metadata

from . import lifecycle


def mark_pending(exp_dir: Path, job_id: str) -> None:
    """Its job is queued: pending with the job's id (unless the job already started it)."""
    array, _, index = job_id.partition("_")
    facts: dict[str, Any] = {"job_id": job_id}
    if index:
        facts.update(array_job_id=array, array_index=int(index))
    with store.editing_metadata(exp_dir) as meta:
        meta.launcher = "slurm"
        meta.slurm = {**facts, **(meta.slurm or {})}
        if meta.status in (Status.CREATED, Status.STAGED):
            lifecycle.apply(meta, Status.PENDING)
            meta.slurm.setdefault("state", "PENDING")


def settle(exp_dir: Path, job: slurm.JobState, *, by_us: bool = False) -> Metadata:
    """Record how Slurm says the experiment's job ended, unless the job recorded it."""
    with contextlib.suppress(OSError):
        store.compact_metrics(exp_dir)
    with store.editing_metadata(exp_dir) as meta:
        facts = dict(meta.slurm or {})
        facts.update(state=job.state, reason=job.reason, exit_code=job.exit_code)
        if job.node and job.node != "None assigned":
            facts["node"] = job.node
        meta.slurm = facts
        if meta.status in TERMINAL:
            return meta
        new = Status.CANCELLED if job.state == "CANCELLED" else Status.FAILED
        text = f"Slurm job {facts.get('job_id')} {job.raw}"
        if job.reason and job.reason != "None":
            text += f" (reason: {job.reason})"
        if job.state == "COMPLETED":
            text += ": the job ended without recording how the script ended"
        if by_us:
            text += ": cancelled by yanex (interrupted while waiting)"
        lifecycle.apply(meta, new)
        meta.error_message = text
        if new == Status.CANCELLED:
            meta.cancellation_reason = text
        meta.heartbeat_at = None
    return meta


def settle_from_accounting(exp_dir: Path, meta: Metadata) -> bool:
    """For a reader: settle a Slurm experiment whose job has ended; True if it did."""
    job_id = (meta.slurm or {}).get("job_id")
    if meta.status in TERMINAL or not job_id:
        return False
    job = _accounted(job_id)
    if job is None or not job.ended:
        return False
    settle(exp_dir, job)
    return True


_SEEN: dict[str, tuple[float, dict[str, slurm.JobState]]] = {}  # array id -> (when, states)
SEEN_FOR = 2.0  # seconds a reader reuses one sacct answer for the other members of an array


def _accounted(job_id: str) -> slurm.JobState | None:
    """Slurm's accounting of ``job_id``; one sacct call answers for its whole array, so a
    ``yanex list`` of a thousand-member sweep asks once."""
    array = slurm.array_ids([job_id])[0]
    seen = _SEEN.get(array)
    if seen is None or time.monotonic() - seen[0] > SEEN_FOR:
        seen = _SEEN[array] = (time.monotonic(), slurm.accounting([job_id]) or {})
    return seen[1].get(job_id)
