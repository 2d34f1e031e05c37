"""Ideas with exactly one implementation: the YANEX_* names and the CPU count of ``-j 0``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import yanex
from yanex._core import pool

PACKAGE = Path(yanex.__file__).parent
# stdlib-only modules that must not import yanex, so they repeat their one name
OWN_LITERAL = {"_context.py", "_warm.py", "sitecustomize.py"}


def test_yanex_environment_names_are_spelled_in_context_only() -> None:
    """Every ``"YANEX_..."`` literal is in ``_context`` (``_warm`` and its hook aside)."""
    found = [
        f"{path.relative_to(PACKAGE)}: {match.group(0)}"
        for path in PACKAGE.rglob("*.py")
        if path.name not in OWN_LITERAL
        for match in re.finditer(r"[\"']YANEX_[A-Z_]*[\"']", path.read_text())
    ]
    assert found == []


def test_zero_workers_means_one_per_usable_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-j 0`` and ``parallel=0`` share one count: the CPUs this process may run on."""
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert pool.worker_count(0, 100) == 3
    assert pool.worker_count(0, 2) == 2
    assert pool.worker_count(None, 100) == 1
    assert pool.worker_count(5, 100) == 5
