"""Orchestrates ``yanex run``: validates a request, plans its experiments, stages or runs them.

``prepare()`` does every check that can fail on bad input (script, parameters, sweeps,
config files, flag combinations) and writes nothing, so a mistake never leaves a half-made
experiment behind. ``Run.execute()`` then runs the experiments with at most ``workers`` at a
time. A record is created just before its experiment starts: an interrupted sweep leaves
no "created" experiments that will never run. Each experiment is one ``child.run_child``;
its failure is a result, not an exception, and only cancellation (Ctrl-C / SIGTERM, handled
by the CLI) leaves the worker task group, after every child has been stopped, reaped and
recorded as cancelled.

Output is not this module's business: an ``Observer`` (the CLI's) is told what happens and
provides the terminal sinks for each child's streams.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from yanex import _platform, _supervise
from yanex._models import ExperimentResult, Status
from yanex._store import fs, layout, store
from yanex.errors import ConfigError, YanexError

from . import child, depspec, gitinfo, lifecycle, params, sweeps

SWEEP_TAG = "sweep"


@dataclass
class Request:
    """The ``yanex run`` flags, as given."""

    script: str | None = None
    script_args: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    clone_from: str | None = None
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    project: str | None = None
    depends_on: list[str] = field(default_factory=list)
    dry_run: bool = False
    stage: bool = False
    staged: bool = False
    parallel: int | None = None
    timeout: float | None = None
    cli_args: dict[str, Any] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)  # --id: staged experiments to run
    max_experiments: int | None = None  # refuse a bigger plan (default sweeps.MAX_EXPERIMENTS)


@dataclass
class Plan:
    """What ``yanex run`` will do. ``children()`` yields the experiments lazily."""

    template: child.ChildPlan
    params: dict[str, Any]
    total: int
    sweep: bool
    dry_run: bool = False
    stage: bool = False
    deps: depspec.DependencyPlan = field(default_factory=depspec.DependencyPlan)

    def children(self) -> Iterator[child.ChildPlan]:
        for depends_on, dep_swept in self.deps.points():  # -D slot=a,b sweeps, outermost
            base = self.template.name
            if dep_swept:
                label = depspec.point_label(dep_swept)
                base = f"{base}-{label}" if base else label
            for point, swept in sweeps.expand(self.params):
                plan = child.ChildPlan(**{**vars(self.template), "config": point})
                plan.tags = list(self.template.tags)
                plan.depends_on = depends_on
                plan.name = sweeps.point_name(base, swept) if swept else base
                yield plan


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


# --- validation and planning --------------------------------------------------------------


def prepare(req: Request) -> Plan | None:
    """Check the request and plan its experiments; None for ``--staged``. Writes nothing."""
    _check_flags(req)
    if req.staged or req.ids:
        return None
    script = _check_script(req.script)
    resolved = params.resolve(
        config_files=[Path(p) for p in req.config_files],
        overrides=req.params,
        clone_from=req.clone_from,
    )
    defaults = resolved.run_defaults
    stage = req.stage or bool(defaults.get("stage", False))
    if stage and req.parallel is not None:
        raise ConfigError(
            "--parallel cannot be used with --stage: stage first, then run "
            "'yanex run --staged --parallel N'"
        )
    deps = depspec.plan(req.depends_on, staging=stage)  # resolved now: ids, not names
    total = sweeps.count(resolved.params) * deps.count
    sweeps.check_limit(total, req.max_experiments)
    sweep = bool(sweeps.sweep_paths(resolved.params)) or deps.swept
    tags = list(req.tags) or list(defaults.get("tag", []))
    if sweep and SWEEP_TAG not in tags:
        tags.append(SWEEP_TAG)
    template = child.ChildPlan(
        script=script,
        script_arg=req.script,
        script_args=list(req.script_args),
        name=req.name if req.name is not None else defaults.get("name"),
        tags=tags,
        description=req.description if req.description is not None else defaults.get("description"),
        project=req.project if req.project is not None else defaults.get("project"),
        cli_args=dict(req.cli_args),
    )
    dry_run = req.dry_run or bool(defaults.get("dry_run", False))
    return Plan(template, resolved.params, total, sweep, dry_run=dry_run, stage=stage, deps=deps)


def _check_flags(req: Request) -> None:
    if req.stage and req.staged:
        raise ConfigError("--stage and --staged cannot be used together")
    if req.parallel is not None and req.parallel < 0:
        raise ConfigError("--parallel must be 0 (one per CPU) or a positive number")
    if req.timeout is not None and not req.timeout > 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    if req.ids and (req.stage or req.script):
        raise ConfigError("--id runs a staged experiment as it is: drop the script and --stage")
    if req.max_experiments is not None and req.max_experiments < 1:
        raise ConfigError("--max-experiments must be a positive number")
    if req.staged or req.ids:  # SCRIPT --staged: that script's staged experiments
        given = [
            flag
            for flag, value in (
                ("--config", req.config_files),
                ("--param", req.params),
                ("--clone-from", req.clone_from),
                ("-D/--depends-on", req.depends_on),
            )
            if value
        ]
        if given:
            flag = "--id" if req.ids else "--staged"
            raise ConfigError(f"{flag} runs the staged experiments as they are: drop {given[0]}")


def _check_script(script: str | None) -> Path:
    if not script:
        raise ConfigError("missing script: yanex run SCRIPT [ARGS]... (or yanex run --staged)")
    path = Path(script)
    if not path.is_file():
        raise ConfigError(f"script not found: {script}")
    if path.suffix != ".py":
        raise ConfigError(f"script must be a Python file (.py): {script}")
    return path.resolve()


def worker_count(parallel: int | None, total: int) -> int:
    """How many experiments run at once: 1 unless ``-j N`` (0 = one per CPU)."""
    wanted = 1 if parallel is None else (parallel or _platform.cpu_count())
    return max(1, min(wanted, total))


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
        )
        for index, (_, meta, exp_dir) in enumerate(found)
    ]


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
            _supervise.prepare(self.expected, min(self.workers, self.total))
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                for _ in range(self.workers):
                    tg.start_soon(self._worker, jobs)
        finally:
            if self.expected is not None:
                _supervise.drop(self.expected)

    def _launch(self, job: Job) -> _supervise.Launch:
        script = job.script_arg if job.script_arg is not None else str(job.script)
        launch = child.script_launch(self.caller, script, job.script_args)
        if self.expected is not None and launch.argv == self.expected.argv:
            launch.stdin, launch.foreground = self.expected.stdin, self.expected.foreground
        return launch

    async def _worker(self, jobs: Iterator[Callable[[], Job]]) -> None:
        for make in jobs:  # a shared iterator: each job is taken by exactly one worker
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
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue


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
