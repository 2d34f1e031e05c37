"""Runs ``yanex run``'s experiments (planned by ``planning``): stages them or runs them.

``Run.execute()`` runs the experiments with at most ``workers`` at a time (``pool``). A
record is created just before its experiment starts: an interrupted sweep leaves no
"created" experiments that will never run. Each experiment is one ``child.run_child``;
its failure is a result, not an exception, and only cancellation (Ctrl-C / SIGTERM, handled
by the CLI) leaves the worker task group, after every child has been stopped, reaped and
recorded as cancelled.

Output is not this module's business: an ``Observer`` (the CLI's) is told what happens and
provides the terminal sinks for each child's streams.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from yanex import _supervise
from yanex._models import ExperimentResult, Status
from yanex._store import store

from . import child, gitinfo, pool, slots
from . import sweep as sweeps
from .members import GitProbe as GitProbe  # noqa: PLC0414 (re-exported: runner.GitProbe ...)
from .members import Job as Job  # noqa: PLC0414
from .members import Member as Member  # noqa: PLC0414
from .members import create_job as create_job  # noqa: PLC0414
from .members import mark_stale as mark_stale  # noqa: PLC0414
from .members import new_members as new_members  # noqa: PLC0414
from .members import plan_of as plan_of  # noqa: PLC0414
from .members import stage as stage  # noqa: PLC0414
from .members import staged_jobs as staged_jobs  # noqa: PLC0414
from .members import staged_member as staged_member  # noqa: PLC0414
from .members import staged_members as staged_members  # noqa: PLC0414
from .members import stamp_existing as stamp_existing  # noqa: PLC0414

# --- running ------------------------------------------------------------------------------


class Observer:
    """What a run reports to; the default reports nothing and shows no output."""

    def begin(self, total: int, workers: int) -> None:
        """The run starts."""

    def started(self, job: Job) -> None:
        """An experiment starts."""

    def finished(self, job: Job, result: ExperimentResult, run: Run) -> None:
        """An experiment ended (``result.status`` says how)."""

    def sinks(self, job: Job, stream: str) -> list[_supervise.Sink]:
        """Where the child's ``stream`` ("stdout"/"stderr") goes besides its artifact."""
        return []

    def streams_ended(self, job: Job) -> None:
        """The child's streams are closed: flush what was held back."""


class Run:
    """Runs a sweep's members at most ``workers`` at a time and keeps the tally.

    ``policy``: retries, fail-fast and GPU slots (``pool.Policy``); ``sweep``: the sweep
    the experiments are recorded in (``sweep.Info``).
    """

    def __init__(
        self,
        total: int,
        *,
        workers: int = 1,
        timeout: float | None = None,
        grace: float = _supervise.GRACE,
        observer: Observer | None = None,
        caller: _supervise.Caller | None = None,
        expected: _supervise.Launch | None = None,
        policy: pool.Policy | None = None,
        sweep: sweeps.Info | None = None,
        git: GitProbe | None = None,
    ) -> None:
        """``caller``: whose environment, working directory and umask the children get
        (default: this process's, now). ``expected``: the launch most jobs will use (new
        experiments of one script), prepared ahead of need; its stdin is passed on when
        ``total`` is 1."""
        self.caller = caller or _supervise.Caller.now()
        self.expected = expected
        self.total = total
        self.workers = workers
        self.timeout = timeout
        self.grace = grace
        self.observer = observer or Observer()
        self.policy = policy or pool.Policy()
        self.sweep = sweep
        self.git = git
        self.results: list[ExperimentResult] = []  # the latest attempt of each member
        self.order: dict[str, int] = {}  # experiment id -> position in the plan
        self.running: dict[str, int] = {}  # experiment id -> its process group
        self.started = 0  # attempts started (and ``finished``: ended)
        self.finished = 0
        self.retried = 0
        self.outcome = pool.Outcome()
        self._slot: dict[int, int] = {}  # member index -> its place in ``results``
        self._tg: anyio.abc.TaskGroup

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def in_plan_order(self) -> list[ExperimentResult]:
        return sorted(self.results, key=lambda r: self.order.get(r.experiment_id, 0))

    @property
    def ok(self) -> bool:
        return all(r.status == Status.COMPLETED for r in self.results)

    async def execute(self, members: Iterable[Member]) -> None:
        """Run every member; cancellation stops the running children and propagates."""
        self.observer.begin(self.total, self.workers)
        if self.git is None:
            self.git = GitProbe()
        if self.expected is not None:
            _supervise.prepare(self.expected, min(self.workers, self.total), ensure=True)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self.outcome = await pool.run_all(members, self.workers, self._take, self.policy)
        finally:
            if self.expected is not None:
                _supervise.drop(self.expected)

    def _launch(self, job: Job) -> _supervise.Launch:
        script = job.script_arg if job.script_arg is not None else str(job.script)
        launch = child.script_launch(self.caller, script, job.script_args)
        if self.expected is not None and launch.argv == self.expected.argv:
            launch.stdin, launch.foreground = self.expected.stdin, self.expected.foreground
        if job.gpus:
            launch.env = {**launch.env, slots.ENV: slots.env_value(job.gpus)}
        return launch

    def _make(self, member: Member, attempt: pool.Attempt) -> Job:
        """The job of this attempt: the staged experiment itself first, else a new record."""
        retry_of = attempt.previous if attempt.number else member.retry_of
        if self.sweep is not None:
            stamp = self.sweep.stamp(member.plan, member.index, retry_of, attempt.gpus)
        else:
            stamp = {"gpus": list(attempt.gpus) or None, "retry_of": retry_of}
        if attempt.number == 0 and member.existing is not None:
            return dataclasses.replace(member.existing, gpus=attempt.gpus, stamp=stamp)
        spec = member.plan
        git = self.git.get() if self.git is not None else gitinfo.capture()
        exp_id, exp_dir = child.create_record(spec, git=git, legacy_params=False, stamp=stamp)
        return Job(
            exp_id, exp_dir, spec.script, spec.script_args, spec.cli_args, spec.name,
            member.index, spec.config, spec.script_arg, attempt.gpus, retry_of,
        )  # fmt: skip

    async def _take(self, member: Member, attempt: pool.Attempt) -> tuple[str, str]:
        with anyio.CancelScope(shield=True):  # a created record must get to run_child
            job = await anyio.to_thread.run_sync(self._make, member, attempt)
        self.started += 1
        if attempt.number:
            self.retried += 1
        result = await self._run_one(job)
        return result.experiment_id, result.status

    async def _run_one(self, job: Job) -> ExperimentResult:
        self.observer.started(job)
        try:
            result = await child.run_child(
                job.exp_id,
                job.exp_dir,
                launch=self._launch(job),
                ahead=min(self.workers, self.total - self.started),
                cli_args=job.cli_args,
                timeout=self.timeout,
                sinks=lambda _id, stream: self.observer.sinks(job, stream),
                grace=self.grace,
                on_start=lambda pid: self._on_start(job, pid),
                stamp=job.stamp,
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                result = await anyio.to_thread.run_sync(_result_from_store, job)
            self._done(job, result)
            raise
        self._done(job, result)
        return result

    def _on_start(self, job: Job, pid: int) -> None:
        self.running[job.exp_id] = pid
        if job.legacy_params is not None:  # off the critical path: the child is starting
            self._tg.start_soon(_write_legacy_params, job.exp_dir, job.legacy_params)

    def _done(self, job: Job, result: ExperimentResult) -> None:
        self.running.pop(job.exp_id, None)
        self.order[job.exp_id] = job.index
        self.observer.streams_ended(job)
        self.finished += 1
        place = self._slot.get(job.index)
        if place is None:
            self._slot[job.index] = len(self.results)
            self.results.append(result)
        else:  # a retry: its result replaces the failed attempt's in the tally
            self.results[place] = result
        self.observer.finished(job, result, self)

    def kill_now(self) -> None:
        """SIGKILL every running child's group at once (a second Ctrl-C)."""
        for pid in list(self.running.values()):
            _supervise.signal_group(pid, signal.SIGKILL)


async def _write_legacy_params(exp_dir: Path, config: dict[str, Any]) -> None:
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(store.write_legacy_params, exp_dir, config)


def _result_from_store(job: Job) -> ExperimentResult:
    meta = store.read_metadata(job.exp_dir)
    return ExperimentResult(
        experiment_id=job.exp_id,
        status=meta.status,
        error_message=meta.error_message,
        duration=meta.duration,
        name=meta.name,
    )
