"""The Slurm tests share one single-node cluster of 2 CPUs: under pytest-xdist they all run
in one worker (``--dist loadgroup``), one after another, as they were written to."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = __file__.rsplit("/", 1)[0] + "/"
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.xdist_group("slurm"))
