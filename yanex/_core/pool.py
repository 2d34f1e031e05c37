"""The worker pool of ``yanex run`` and ``run_multiple``: N workers, one shared job iterator.

``min(parallel, total)`` worker tasks take jobs from one shared iterator in order, each
job made (its experiment record created) only when a worker takes it and run at once, so
cancelling the pool leaves no never-started experiments behind. That keeps "sequential"
strictly in order on every backend (trio schedules newly started tasks in no fixed order,
so N tasks queueing on a CapacityLimiter would not) and needs no task per waiting job.
Results are the workers' business: each reports its job as it finishes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

import anyio

from yanex import _platform

T = TypeVar("T")


def worker_count(parallel: int | None, total: int) -> int:
    """How many jobs run at once: 1 unless ``parallel`` (0 = one per usable CPU)."""
    wanted = 1 if parallel is None else (parallel or _platform.cpu_count())
    return max(1, min(wanted, total))


async def run_all(jobs: Iterable[T], workers: int, work: Callable[[T], Awaitable[None]]) -> None:
    """Await ``work(job)`` for every job, ``workers`` at a time, in the iterator's order.

    Returns when every job is done; cancellation cancels every worker's current job.
    """
    shared = iter(jobs)
    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(_worker, shared, work)


async def _worker(jobs: Iterator[T], work: Callable[[T], Awaitable[None]]) -> None:
    for job in jobs:  # a shared iterator: each job is taken by exactly one worker
        await work(job)
