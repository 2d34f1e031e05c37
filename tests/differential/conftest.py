"""Fixtures of the differential suite: every test runs once per launch path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential.harness import Case

LAUNCH_PATHS = ["pool", "exec"]  # values of YANEX_LAUNCH_PATH


@pytest.fixture(params=LAUNCH_PATHS)
def launch_path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def case(tmp_path: Path, launch_path: str) -> Case:
    """A sandbox for one script, run by python -u and by yanex under ``launch_path``."""
    return Case(tmp_path / "diff", launch_path)
