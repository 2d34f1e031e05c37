"""Shared record types of the store scan: ``Summary``, ``Record`` and ``Problem`` (a leaf).

They sit below both ``_core/query.py`` (which builds them) and ``_core/filters.py`` (which
matches them), so that neither imports the other; this module imports nothing of yanex.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec


class Summary(msgspec.Struct, kw_only=True, gc=False):
    """The part of ``metadata.json`` a listing needs (a read-only view; see schema.Metadata).

    ``gc=False``: it holds only strings, numbers, lists of strings and the small
    ``resources`` mapping of numbers, all decoded from JSON, so it can never be part of a
    reference cycle, and the collector need not track 10,000 of them.
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
    resources: dict[str, Any] | None = None  # peak_rss_mb, cpu_seconds, gpu_mem_peak_mb
    sweep_id: str | None = None
    sweep_index: int | None = None
    retry_of: str | None = None


@dataclass(slots=True)
class Record:
    """One experiment found in the store."""

    id: str
    base: str  # the directory holding it: the store root or its archived/ folder
    archived: bool
    summary: Summary
    status: str  # effective: a stale 'running' experiment reads 'failed'
    created: str  # sort key: creation time as sortable text (see summaries.sort_key)

    @property
    def dir(self) -> Path:
        return Path(self.base, self.id)

    @property
    def name(self) -> str | None:
        return self.summary.name

    @property
    def tags(self) -> list[str]:
        return list(self.summary.tags or [])


@dataclass
class Problem:
    """An experiment that could not be read. ``broken``: its metadata.json is unreadable or
    missing, so it cannot be listed normally (its other files are still there)."""

    id: str
    message: str
    broken: bool = False
    dir: str | None = None
