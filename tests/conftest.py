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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--dist loadgroup`` (make test): pytest-xdist sends the tests of one ``xdist_group``
    to one worker by reading the group from the end of their node ids, which it renames in
    a way pytest 9.2 no longer sees (pytest-xdist issue #1386, every group split across
    workers); the renaming is done here in a way it sees. The groups go first, the Slurm
    tests (the longest, mostly waiting on the cluster) first of all, so that they start at
    once on their worker instead of ending the run late. Nothing changes without xdist."""
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # pytest before 9.2, where xdist's own renaming works
        coerce_node_id = None

    rank: dict[str, int] = {}
    for item in items:
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                 for m in item.iter_markers("xdist_group")}  # fmt: skip
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix) and coerce_node_id is not None:
            item._id = coerce_node_id(item.nodeid + suffix)
        rank[item.nodeid] = 2 if not names else 0 if "slurm" in names else 1
    items.sort(key=lambda item: rank[item.nodeid])  # stable: the rest keep their order


@pytest.fixture(params=["asyncio", "uvloop", "trio"])
def cli_backend(
    request: pytest.FixtureRequest, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The event loop of CLI commands that run one (run, open, ui, compare) in process:
    ``YANEX_ASYNC_BACKEND``, as a user would choose it (see tests/support/cli.py)."""
    monkeypatch.setenv("YANEX_ASYNC_BACKEND", request.param)
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store and working directory; no YANEX_* leaks in."""
    for key in list(os.environ):
        if key.startswith("YANEX_") and key not in KEPT_ENV:
            monkeypatch.delenv(key)
    for key in ("COLUMNS", "LINES"):  # set by pytest-xdist's workers; click's width reads them
        monkeypatch.delenv(key, raising=False)
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
