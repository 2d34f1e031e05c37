"""The worker pool of ``yanex run`` and ``run_multiple``: N workers, one shared job iterator.

``min(parallel, total)`` worker tasks take jobs from one shared iterator in order, each
job made (its experiment record created) only when a worker takes it and run at once, so
cancelling the pool leaves no never-started experiments behind. That keeps "sequential"
strictly in order on every backend (trio schedules newly started tasks in no fixed order,
so N tasks queueing on a CapacityLimiter would not) and needs no task per waiting job.
Results are the workers' business: each reports its job as it finishes.

The sweep policy lives here, once for both callers (``Policy``): a failed job is tried
again up to ``retries`` times by the worker that ran it (a cancelled one never is); with
``fail_fast`` the first job that fails for good cancels the jobs still running and no
worker takes another; with ``gpus`` each attempt holds ``gpus.per_run`` GPU slots of a
free-slot pool (``slots.Slots``) while it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio
import anyio.abc

from yanex import _platform
from yanex._models import Status

from .slots import Slots

T = TypeVar("T")


def worker_count(parallel: int | None, total: int) -> int:
    """How many jobs run at once: 1 unless ``parallel`` (0 = one per usable CPU)."""
    wanted = 1 if parallel is None else (parallel or _platform.cpu_count())
    return max(1, min(wanted, total))


@dataclass(frozen=True)
class Policy:
    """How a sweep treats failures and GPUs (the default: no retries, no fail-fast, no GPUs)."""

    retries: int = 0
    fail_fast: bool = False
    gpus: Slots | None = None


@dataclass(frozen=True)
class Attempt:
    """One try of a job: ``number`` 0 is the first; ``previous`` is the id of the failed
    experiment it replaces (None on a first try); ``gpus`` the slots it holds."""

    number: int = 0
    previous: str | None = None
    gpus: tuple[int, ...] = ()


@dataclass
class Outcome:
    """What ``run_all`` saw: the experiment whose failure stopped the pool (fail-fast)."""

    stopped_by: str | None = None
    retried: list[str] = field(default_factory=list)  # ids of failed attempts tried again


Work = Callable[[T, Attempt], Awaitable[tuple[str, str]]]  # -> (experiment id, status)


async def run_all(
    jobs: Iterable[T], workers: int, work: Work[T], policy: Policy | None = None
) -> Outcome:
    """Await ``work(job, attempt)`` for every job, ``workers`` at a time, in the iterator's
    order, as ``policy`` says (retries, fail-fast, GPU slots).

    Returns when every job is done or fail-fast stopped the pool; cancellation from outside
    cancels every worker's current job and propagates.
    """
    pool: _Pool[T] = _Pool(iter(jobs), work, policy or Policy())
    async with anyio.create_task_group() as tg:
        pool.scope = tg.cancel_scope
        for _ in range(workers):
            tg.start_soon(pool.worker)
    return pool.outcome


class _Pool(Generic[T]):
    def __init__(self, jobs: Iterator[T], work: Work[T], policy: Policy) -> None:
        self.jobs, self.work, self.policy = jobs, work, policy
        self.outcome = Outcome()
        self.scope: anyio.CancelScope

    async def worker(self) -> None:
        for job in self.jobs:  # a shared iterator: each job is taken by exactly one worker
            if self.outcome.stopped_by is not None:
                return
            await self._attempts(job)

    async def _attempts(self, job: T) -> None:
        attempt = Attempt()
        while True:
            exp_id, status = await self._one(job, attempt)
            if status != Status.FAILED:
                return
            if attempt.number < self.policy.retries and self.outcome.stopped_by is None:
                self.outcome.retried.append(exp_id)
                attempt = Attempt(attempt.number + 1, exp_id)
                continue
            if self.policy.fail_fast and self.outcome.stopped_by is None:
                self.outcome.stopped_by = exp_id
                self.scope.cancel()  # the others' children are stopped and recorded cancelled
            return

    async def _one(self, job: T, attempt: Attempt) -> tuple[str, str]:
        slots = self.policy.gpus
        if slots is None:
            return await self.work(job, attempt)
        held = slots.take()
        try:
            return await self.work(job, Attempt(attempt.number, attempt.previous, held))
        finally:
            slots.give(held)
