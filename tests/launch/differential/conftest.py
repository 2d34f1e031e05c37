"""Fixtures of the differential suite: every test runs once per launch path.

``DIFF_LAUNCH_PATHS`` (comma-separated, default ``pool,exec``) restricts the launch paths,
e.g. for one CI job per path: ``DIFF_LAUNCH_PATHS=exec pytest tests/launch/differential``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.launch.differential.harness import Case

LAUNCH_PATHS = [  # values of YANEX_LAUNCH_PATH
    p.strip() for p in os.environ.get("DIFF_LAUNCH_PATHS", "pool,exec").split(",") if p.strip()
]


@pytest.fixture(params=LAUNCH_PATHS)
def launch_path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def case(tmp_path: Path, launch_path: str) -> Case:
    """A sandbox for one script, run by python -u and by yanex under ``launch_path``."""
    return Case(tmp_path / "diff", launch_path)
