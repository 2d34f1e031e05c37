"""yanex.aio.run_multiple and as_completed on asyncio, uvloop and trio, with cancellation."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import anyio
import pytest

import yanex.aio
from tests.support.batch import alive, experiment_ids, metadata, record, spec


async def _pids_when_started(store: Path, count: int, timeout: float = 20) -> dict[str, int]:
    """Wait until ``count`` children have written their pid; {experiment id: pid}."""
    with anyio.fail_after(timeout):
        while True:
            pids = {}
            for exp_id in experiment_ids(store):
                pid_file = store / exp_id / "artifacts" / "pid.txt"
                if pid_file.exists() and pid_file.read_text():
                    pids[exp_id] = int(pid_file.read_text())
            if len(pids) >= count:
                return pids
            await anyio.sleep(0.05)


@pytest.mark.anyio
async def test_awaited_run_multiple_returns_results_in_spec_order(
    store_dir: Path, work_dir: Path
) -> None:
    """Awaiting yanex.aio.run_multiple gives every result, in the order of the specs."""
    specs = [spec(work_dir, sleep=0.3, i=0), spec(work_dir, exit=4, i=1), spec(work_dir, i=2)]
    results = await yanex.aio.run_multiple(specs, parallel=3)
    assert [r.status for r in results] == ["completed", "failed", "completed"]
    assert [record(store_dir, r.experiment_id)["params"]["i"] for r in results] == [0, 1, 2]


@pytest.mark.anyio
async def test_as_completed_yields_in_finish_order(store_dir: Path, work_dir: Path) -> None:
    """as_completed yields each result as soon as its experiment ends."""
    specs = [spec(work_dir, sleep=1.0, i="slow"), spec(work_dir, i="fast")]
    order = []
    async for result in yanex.aio.as_completed(specs, parallel=2):
        order.append(record(store_dir, result.experiment_id)["params"]["i"])
        assert result.status == "completed"
    assert order == ["fast", "slow"]


@pytest.mark.anyio
async def test_cancelling_stops_every_child_and_marks_them_cancelled(
    store_dir: Path, work_dir: Path, monkeypatch
) -> None:
    """Cancelling the awaiting task stops running children (SIGINT, then SIGTERM, then
    SIGKILL for those ignoring signals), records them as cancelled, and starts no more."""
    monkeypatch.setenv("YANEX_KILL_GRACE", "0.3")
    specs = [
        spec(work_dir, sleep=60, ignore=["INT"]),
        spec(work_dir, sleep=60, ignore=["INT", "TERM"]),
        spec(work_dir, sleep=60),
    ]
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(yanex.aio.run_multiple, specs, 2)
            pids = await _pids_when_started(store_dir, 2)
            started = time.monotonic()
            scope.cancel()
    assert time.monotonic() - started < 5
    assert experiment_ids(store_dir) == set(pids)  # the third spec never started
    for exp_id, pid in pids.items():
        assert not alive(pid)
        meta = metadata(store_dir, exp_id)
        assert meta["status"] == "cancelled"
        assert meta["completed_at"] is not None


@pytest.mark.anyio
async def test_leaving_as_completed_early_cancels_the_rest(
    store_dir: Path, work_dir: Path
) -> None:
    """Breaking out of as_completed inside aclosing stops and cancels the unfinished ones."""
    specs = [spec(work_dir, sleep=0.8, i="fast"), spec(work_dir, sleep=60, i="slow")]
    async with contextlib.aclosing(yanex.aio.as_completed(specs, parallel=2)) as results:
        first = await anext(results)
    assert first.status == "completed"
    others = experiment_ids(store_dir) - {first.experiment_id}
    (slow_id,) = others
    assert metadata(store_dir, slow_id)["status"] == "cancelled"
    pid_file = store_dir / slow_id / "artifacts" / "pid.txt"  # absent if stopped very early
    assert not pid_file.exists() or not alive(int(pid_file.read_text()))


@pytest.mark.anyio
async def test_as_completed_validates_before_running(store_dir: Path) -> None:
    """as_completed raises ValueError for an empty list and creates nothing."""
    with pytest.raises(ValueError, match="empty"):
        async for _ in yanex.aio.as_completed([]):
            pass
    assert experiment_ids(store_dir) == set()
