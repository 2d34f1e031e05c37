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

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from yanex import _supervise
from yanex._models import ExperimentResult, Status
from yanex._store import fs, layout, store
from yanex.errors import YanexError

from . import child, gitinfo, lifecycle, pool
from .planning import Plan


@dataclass
class Job:
    """One experiment about to run (already in the store)."""

    exp_id: str
    exp_dir: Path
    script: Path
    script_args: list[str]
    cli_args: dict[str, Any]
    name: str | None
    index: int = 0  # position in the plan, for a summary in plan order
    legacy_params: dict[str, Any] | None = None  # params.yaml still to write, once started
    script_arg: str | None = None  # the script as the caller named it (default: ``script``)


# --- the store side -----------------------------------------------------------------------


def mark_stale(stop: threading.Event | None = None) -> list[str]:
    """Mark every 'running' experiment whose supervisor is gone as failed; their ids.

    ``stop`` ends the scan early (the run it accompanies is over): it is housekeeping, and
    every reader already reports such experiments as failed, so a partial pass is fine.
    """
    stale = []
    for exp_dir in store.iter_experiment_dirs():
        if stop is not None and stop.is_set():
            break
        raw = fs.read_bytes(exp_dir / layout.METADATA) or b""
        if b'"running"' not in raw:  # cheap filter: most experiments are finished
            continue
        try:
            if lifecycle.mark_stale_failed(exp_dir):
                stale.append(exp_dir.name)
        except YanexError:  # an unreadable experiment is not ours to fix here
            continue
    return stale


class GitProbe:
    """The git state, captured in a thread from the moment ``yanex run`` starts.

    ``git rev-parse`` and ``git diff`` take milliseconds to tens of milliseconds; run
    beside the argument parsing and planning, they are off the path to the first child.
    """

    def __init__(self) -> None:
        self._state: list[gitinfo.GitState] = []
        self._thread = threading.Thread(target=self._capture, name="yanex-git", daemon=True)
        self._thread.start()

    def _capture(self) -> None:
        self._state.append(gitinfo.capture())

    def get(self) -> gitinfo.GitState:
        self._thread.join()
        return self._state[0] if self._state else gitinfo.capture()


def stage(plan: Plan, git: GitProbe | None = None) -> list[tuple[str, str | None]]:
    """Create the plan's experiments as staged; (id, name) of each."""
    git_state = (git or GitProbe()).get()
    out = []
    for spec in plan.children():
        exp_id, _ = child.create_record(spec, git=git_state, staged=True)
        out.append((exp_id, spec.name))
    return out


def staged_jobs() -> list[Job]:
    """The staged experiments, oldest first."""
    found = []
    for exp_dir in store.iter_experiment_dirs():
        try:
            meta = store.read_metadata(exp_dir)
        except YanexError:
            continue
        if meta.status == Status.STAGED:
            found.append((meta.created_at or "", meta, exp_dir))
    found.sort(key=lambda item: item[0])
    return [
        Job(
            meta.id,
            exp_dir,
            Path(meta.script_path or ""),
            list(meta.script_args),
            dict(meta.cli_args),
            meta.name,
            index,
            script_arg=_as_named(meta.script_arg, meta.script_path),
        )
        for index, (_, meta, exp_dir) in enumerate(found)
    ]


def _as_named(script_arg: str | None, script_path: str | None) -> str | None:
    """The script as the user named it when staging, if that name still reaches the same
    file from here (python would be given it); else None: its absolute path is used."""
    if not script_arg or not script_path:
        return None
    try:
        same = Path(script_arg).resolve() == Path(script_path).resolve()
    except OSError:
        return None
    return script_arg if same else None


def existing_jobs(jobs: list[Job]) -> Iterator[Callable[[], Job]]:
    """The jobs of experiments already in the store, in the form ``Run.execute`` takes."""
    return (functools.partial(_same, job) for job in jobs)


def _same(job: Job) -> Job:
    return job


def new_jobs(plan: Plan, git: GitProbe | None = None) -> Iterator[Callable[[], Job]]:
    """For each planned experiment, a function that creates its record when called."""
    probe = git or GitProbe()

    def maker(index: int, spec: child.ChildPlan) -> Callable[[], Job]:
        def make() -> Job:
            exp_id, exp_dir = child.create_record(spec, git=probe.get(), legacy_params=False)
            return Job(
                exp_id,
                exp_dir,
                spec.script,
                spec.script_args,
                spec.cli_args,
                spec.name,
                index,
                spec.config,
                spec.script_arg,
            )

        return make

    return (maker(index, spec) for index, spec in enumerate(plan.children()))


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
    """Runs jobs at most ``workers`` at a time and keeps the tally."""

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
        self.results: list[ExperimentResult] = []
        self.order: dict[str, int] = {}  # experiment id -> position in the plan
        self.running: dict[str, int] = {}  # experiment id -> its process group
        self.started = 0
        self._tg: anyio.abc.TaskGroup

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def in_plan_order(self) -> list[ExperimentResult]:
        return sorted(self.results, key=lambda r: self.order.get(r.experiment_id, 0))

    @property
    def ok(self) -> bool:
        return all(r.status == Status.COMPLETED for r in self.results)

    async def execute(self, jobs: Iterator[Callable[[], Job]]) -> None:
        """Run every job; cancellation stops the running children and propagates."""
        self.observer.begin(self.total, self.workers)
        if self.expected is not None:
            _supervise.prepare(self.expected, min(self.workers, self.total), ensure=True)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await pool.run_all(jobs, self.workers, self._take)
        finally:
            if self.expected is not None:
                _supervise.drop(self.expected)

    def _launch(self, job: Job) -> _supervise.Launch:
        script = job.script_arg if job.script_arg is not None else str(job.script)
        launch = child.script_launch(self.caller, script, job.script_args)
        if self.expected is not None and launch.argv == self.expected.argv:
            launch.stdin, launch.foreground = self.expected.stdin, self.expected.foreground
        return launch

    async def _take(self, make: Callable[[], Job]) -> None:
        with anyio.CancelScope(shield=True):  # a created record must get to run_child
            job = await anyio.to_thread.run_sync(make)
        self.started += 1
        await self._run_one(job)

    async def _run_one(self, job: Job) -> None:
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
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                result = await anyio.to_thread.run_sync(_result_from_store, job)
            self._done(job, result)
            raise
        self._done(job, result)

    def _on_start(self, job: Job, pid: int) -> None:
        self.running[job.exp_id] = pid
        if job.legacy_params is not None:  # off the critical path: the child is starting
            self._tg.start_soon(_write_legacy_params, job.exp_dir, job.legacy_params)

    def _done(self, job: Job, result: ExperimentResult) -> None:
        self.running.pop(job.exp_id, None)
        self.order[job.exp_id] = job.index
        self.observer.streams_ended(job)
        self.results.append(result)
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
