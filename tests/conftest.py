"""Shared fixtures: an isolated store and working directory per test, and the async backends.

Helpers the tests share live in ``tests/support``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yanex import _context
from yanex._core import experiment

# Async tests run on every backend the design promises; a missing one fails, never skips.
BACKENDS = [
    pytest.param(("asyncio", {}), id="asyncio"),
    pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    pytest.param(("trio", {}), id="trio"),
]


# How the suite is run, chosen by `make test` (it runs the suite once per launch path):
# YANEX_LAUNCH_PATH=pool|exec and YANEX_PLATFORM=portable pass through to every test.
KEPT_ENV = ("YANEX_LAUNCH_PATH", "YANEX_PLATFORM")


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store and working directory; no YANEX_* leaks in."""
    for key in list(os.environ):
        if key.startswith("YANEX_") and key not in KEPT_ENV:
            monkeypatch.delenv(key)
    root = tmp_path / "store"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", str(root))
    monkeypatch.chdir(work)
    _context._process_stack.clear()
    experiment._env_experiment.clear()
    experiment._git_cache.clear()
    return root


@pytest.fixture
def work_dir(store_dir: Path) -> Path:
    return store_dir.parent / "work"
