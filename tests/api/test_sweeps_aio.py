"""Retries, fail-fast and GPU slots through yanex.aio (run_multiple and as_completed) on
asyncio, uvloop and trio."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import yanex
import yanex.aio
from tests.support.cli import write_script
from tests.support.run import experiments

# Fails on its first try (a counter file beside it), passes on the next.
FLAKY_ONCE = """\
import os, pathlib, sys, yanex
counter = pathlib.Path(sys.argv[1]) / f"tries-{yanex.get_params()['i']}"
tries = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(tries + 1))
print(os.environ.get("CUDA_VISIBLE_DEVICES"))
if yanex.get_params()["i"] == 0 and tries == 0:
    sys.exit(2)
"""


def _specs(work_dir: Path, count: int) -> list[yanex.ExperimentSpec]:
    script = write_script(work_dir / "flaky.py", FLAKY_ONCE)
    return [yanex.ExperimentSpec(script_path=script, script_args=[str(work_dir)], config={"i": i})
            for i in range(count)]  # fmt: skip


@pytest.mark.anyio
async def test_as_completed_yields_every_attempt(store_dir: Path, work_dir: Path) -> None:
    """as_completed(retries=1, gpus=[0, 1]): the failed first attempt and its completed retry
    are both yielded, with one sweep id, and each ran on a slot of the two."""
    seen = []
    results = yanex.aio.as_completed(_specs(work_dir, 2), retries=1, gpus=[0, 1])
    async with contextlib.aclosing(results):
        async for result in results:
            seen.append(result)
    assert sorted(r.status for r in seen) == ["completed", "completed", "failed"]
    assert len({r.sweep_id for r in seen}) == 1
    metas = {m["id"]: m for m in experiments(store_dir)}
    failed = next(r for r in seen if r.status == "failed")
    assert any(m["retry_of"] == failed.experiment_id for m in metas.values())
    assert all(m["gpus"] in ([0], [1]) for m in metas.values())


@pytest.mark.anyio
async def test_awaited_run_multiple_fail_fast(store_dir: Path, work_dir: Path) -> None:
    """aio.run_multiple(fail_fast=True), one at a time: the first failure stops the batch,
    the specs after it never start."""
    results = await yanex.aio.run_multiple(_specs(work_dir, 3), fail_fast=True)
    assert [r.status for r in results] == ["failed", "cancelled", "cancelled"]
    assert len(experiments(store_dir)) == 1
