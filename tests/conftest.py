"""Shared fixtures: an isolated store and working directory per test, the async backends,
and a helper that runs the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from yanex import _context
from yanex._core import experiment

REPO = Path(__file__).resolve().parent.parent

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


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m yanex ARGS`` as a user would, capturing its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "yanex", *args],
        cwd=cwd or Path.cwd(),
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_script(path: Path, body: str) -> Path:
    path.write_text(body)
    return path
