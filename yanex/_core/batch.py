"""run_multiple and as_completed: many specs, each run as a tracked child experiment.

Every spec is checked before anything runs (a bad list raises SpecError, a ValueError; a
call inside a ``yanex run`` experiment raises ExperimentContextError). Then the specs run in
list order, at most ``parallel`` at a time, through the same worker pool as ``yanex run``
(``pool``).

A spec's experiment record is created when a worker takes it, so cancelling the batch leaves
no never-started experiments behind. A failure of one experiment, even an unexpected error
of ours, becomes a ``failed`` result; only cancellation leaves the task group, after every
running child has been stopped (SIGINT, SIGTERM, SIGKILL) and recorded as cancelled.
Git facts are captured once per batch: every child runs the same code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from yanex import _context, _supervise
from yanex._models import TERMINAL, ExperimentResult, ExperimentSpec, Status
from yanex._store import store
from yanex.errors import ConfigError, ExperimentContextError, SpecError

from . import child, cluster, cluster_sweep, echo, gitinfo, lifecycle, pool, resources, slots, sweep

OnResult = Callable[[int, ExperimentResult], None]
Launcher = tuple[str | None, Mapping[str, Any] | None]  # (name, options): where specs run


def check(
    experiments: Iterable[ExperimentSpec], parallel: int | None
) -> tuple[list[ExperimentSpec], int]:
    """Validate the whole call before anything runs: (the specs, the number of workers)."""
    if _context.under_cli():
        raise ExperimentContextError(
            "run_multiple() cannot be used inside a 'yanex run' experiment: run the "
            "orchestrating script with python directly (python script.py)"
        )
    if isinstance(experiments, (str, bytes, dict)) or not isinstance(experiments, Iterable):
        raise SpecError("experiments must be a list of yanex.ExperimentSpec")
    specs = list(experiments)
    if not specs:
        raise SpecError("experiments list is empty: give at least one ExperimentSpec")
    for index, spec in enumerate(specs):
        if not isinstance(spec, ExperimentSpec):
            raise SpecError(f"experiments[{index}] is not an ExperimentSpec: {spec!r}")
        try:
            spec.validate()
        except SpecError as exc:
            raise SpecError(f"invalid ExperimentSpec at index {index}: {exc}") from exc
    if parallel is not None and (
        isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 0
    ):
        raise SpecError(f"parallel must be None, 0 (one per CPU) or a positive int: {parallel!r}")
    resources.interval()  # a bad $YANEX_RESOURCE_INTERVAL: ConfigError (a ValueError) now
    return specs, pool.worker_count(parallel, len(specs))


def _plan(spec: ExperimentSpec) -> child.ChildPlan:
    return child.ChildPlan(
        script=Path(spec.script_path or "").resolve(),
        script_arg=str(spec.script_path),
        config=dict(spec.config),
        script_args=[str(a) for a in spec.script_args],
        name=spec.name,
        tags=list(spec.tags),
        description=spec.description,
    )


@dataclass(frozen=True)
class Options:
    """The sweep options of one call: retries, fail-fast, GPU slots (checked by ``policy``)."""

    retries: int = 0
    fail_fast: bool = False
    gpus: Sequence[int] | None = None
    gpus_per_run: int | None = None

    def policy(self, parallel: int | None, total: int) -> tuple[int, pool.Policy]:
        """(workers, the pool's policy); SpecError (a ValueError) for a bad value."""
        retries, fail_fast = self.retries, self.fail_fast
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise SpecError(f"retries must be 0 or a positive int: {retries!r}")
        if not isinstance(fail_fast, bool):
            raise SpecError(f"fail_fast must be True or False: {fail_fast!r}")
        if self.gpus is None:
            if self.gpus_per_run is not None:
                raise SpecError("gpus_per_run goes with gpus (the GPU slots to share)")
            return pool.worker_count(parallel, total), pool.Policy(retries, fail_fast)
        try:
            ids = slots.parse(self.gpus)
            per_run = slots.check_per_run(self.gpus_per_run or 1, ids)
            most = slots.workers(parallel, ids, per_run)
        except ConfigError as exc:
            raise SpecError(str(exc)) from None
        workers = pool.worker_count(most, total)
        return workers, pool.Policy(retries, fail_fast, slots.Slots(ids, per_run))


class _Batch:
    """One call of run_multiple: the checked specs and how many run at once."""

    def __init__(
        self,
        specs: Iterable[ExperimentSpec],
        parallel: int | None,
        verbose: bool,
        launcher: Launcher = (None, None),
        options: Options = Options(),
    ):
        checked, self.workers = check(specs, parallel)
        self.plans = [_plan(spec) for spec in checked]
        self.workers, self.policy = options.policy(parallel, len(self.plans))
        if options.gpus is not None and launcher[0] not in (None, "local"):
            raise SpecError("gpus is for the local launcher: on Slurm, Slurm assigns the GPUs "
                            "(launcher_options={'gpus_per_node': K})")  # fmt: skip
        # Slurm: the options are checked (ValueError) before any record exists
        self.cluster = cluster.submission_for(*launcher, parallel=parallel, total=len(self.plans))
        self.launcher = launcher
        self.verbose = verbose
        # The caller's environment, working directory and umask at the moment of the call:
        # every child gets them, however late it starts. A batch gives no child our stdin.
        caller = _supervise.Caller.now()
        self.launches = [
            child.script_launch(caller, plan.script_name, plan.script_args) for plan in self.plans
        ]
        self.sweep: sweep.Info | None = None
        self.interrupted: dict[int, ExperimentResult] = {}  # cancelled by fail-fast
        self.outcome = pool.Outcome()

    async def run(self, on_result: OnResult) -> None:
        """Run every plan; ``on_result(index, result)`` as each experiment finishes."""
        name, options = self.launcher
        shared = self.policy.gpus
        self.sweep = await anyio.to_thread.run_sync(
            functools.partial(
                sweep.start, self.plans, kind="batch", parallel=self.workers,
                launcher=name, launcher_options=dict(options or {}),
                gpus=None if shared is None else (shared.all, shared.per_run),
            )
        )  # fmt: skip
        if self.cluster is not None:  # one Slurm job array per round (``cluster_sweep``)
            plans = dict(enumerate(self.plans))
            rounds = cluster_sweep.Rounds(self.cluster, plans, self.sweep, self.policy)
            await cluster_sweep.run_batch(rounds, self.launches, self.verbose, on_result)
            self.outcome = rounds.outcome
            return
        git = await anyio.to_thread.run_sync(gitinfo.capture)
        progress = echo.Progress(len(self.plans), verbose=self.verbose)
        interrupted = True
        for launch in self.launches[: self.workers]:
            _supervise.prepare(launch)

        async def take(index: int, attempt: pool.Attempt) -> tuple[str, str]:
            return await self._take(index, attempt, git, progress, on_result)

        try:
            jobs = range(len(self.plans))
            self.outcome = await pool.run_all(jobs, self.workers, take, self.policy)
            interrupted = False
        finally:
            progress.close(interrupted=interrupted)
            for launch in {launch.key(): launch for launch in self.launches}.values():
                _supervise.drop(launch)

    async def _take(
        self,
        index: int,
        attempt: pool.Attempt,
        git: gitinfo.GitState,
        progress: echo.Progress,
        on_result: OnResult,
    ) -> tuple[str, str]:
        if index + self.workers < len(self.launches) and not attempt.number:
            _supervise.prepare(self.launches[index + self.workers])  # the one after this
        result = await self._run_one(index, attempt, git)
        progress.finished(result)
        on_result(index, result)
        return result.experiment_id, result.status

    async def _run_one(
        self, index: int, attempt: pool.Attempt, git: gitinfo.GitState
    ) -> ExperimentResult:
        plan, launch = self.plans[index], self.launches[index]
        if attempt.gpus:
            value = slots.env_value(attempt.gpus)
            launch = dataclasses.replace(launch, env={**launch.env, slots.ENV: value})
        assert self.sweep is not None
        stamp = self.sweep.stamp(plan, index, attempt.previous, attempt.gpus)
        exp_id, exp_dir = "unknown", None
        echoes: dict[str, _supervise.LineSink] = {}
        try:
            with anyio.CancelScope(shield=True):  # a created record must be settled below
                created = await anyio.to_thread.run_sync(
                    lambda: child.create_record(plan, git=git, stamp=stamp)
                )
            exp_id, exp_dir = created
            if self.verbose:  # the child's lines on our terminal, tagged with its id
                echoes = {s: _echo_lines(s, exp_id) for s in ("stdout", "stderr")}
            result = await child.run_child(
                exp_id, exp_dir, launch=launch,
                sinks=(lambda _id, stream: [echoes[stream]]) if echoes else None,
                grace=_supervise.default_grace(),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001  a failure of ours for one spec is its result
            message = f"{type(exc).__name__}: {exc}"
            if exp_dir is not None:
                await _settle(exp_dir, Status.FAILED, message)
            result = ExperimentResult(exp_id, str(Status.FAILED), message, None, plan.name)
        except BaseException:  # cancelled: never leave a record of ours running or created
            if exp_dir is not None:
                await _settle(exp_dir, Status.CANCELLED, "cancelled before it could run")
                self.interrupted[index] = ExperimentResult(
                    exp_id, str(Status.CANCELLED), _STOPPED, None, plan.name, self.sweep.id
                )
            raise
        finally:
            for sink in echoes.values():
                sink.flush()
        result.sweep_id = self.sweep.id
        return result

    def not_started(self, index: int) -> ExperimentResult:
        """The result of a spec that fail-fast kept from starting."""
        return self.interrupted.get(index) or ExperimentResult(
            "", str(Status.CANCELLED), _NOT_STARTED, None, self.plans[index].name,
            self.sweep.id if self.sweep is not None else None,
        )  # fmt: skip


_STOPPED = "cancelled: fail-fast stopped the batch after another experiment failed"
_NOT_STARTED = "not started: fail-fast stopped the batch after another experiment failed"


def _echo_lines(stream: str, exp_id: str) -> _supervise.LineSink:
    return _supervise.LineSink(echo.TerminalSink(stream), prefix=f"[{exp_id}] ".encode())


async def _settle(exp_dir: Path, status: Status, message: str) -> None:
    """Record ``status`` unless the experiment already ended (shielded: runs on cancel)."""

    def settle() -> None:
        if store.read_metadata(exp_dir).status not in TERMINAL:
            lifecycle.finish(exp_dir, status, message=message)

    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        await anyio.to_thread.run_sync(settle)


async def run_multiple(
    specs: Iterable[ExperimentSpec],
    *,
    parallel: int | None,
    verbose: bool,
    launcher: Launcher = (None, None),
    options: Options = Options(),
) -> list[ExperimentResult]:
    """Run every spec; results in the order of the specs (each spec's latest attempt; with
    fail-fast, a spec stopped or never started reads cancelled). ``launcher``: (name,
    options)."""
    batch = _Batch(specs, parallel, verbose, launcher, options)
    results: list[ExperimentResult | None] = [None] * len(batch.plans)

    def keep(index: int, result: ExperimentResult) -> None:
        results[index] = result

    await batch.run(keep)
    return [r if r is not None else batch.not_started(i) for i, r in enumerate(results)]


async def as_completed(
    specs: Iterable[ExperimentSpec],
    *,
    parallel: int | None,
    verbose: bool,
    launcher: Launcher = (None, None),
    options: Options = Options(),
) -> AsyncGenerator[ExperimentResult, None]:
    """Yield each experiment's result as it finishes (every attempt's, with retries; with
    fail-fast, the ones it stopped come last, as cancelled).

    Leaving the loop early is safe inside ``contextlib.aclosing(...)``: the children still
    running are then stopped and recorded as cancelled before ``aclosing`` returns.
    """
    batch = _Batch(specs, parallel, verbose, launcher, options)
    most = len(batch.plans) * (batch.policy.retries + 1)  # every attempt's result fits
    send, receive = anyio.create_memory_object_stream[ExperimentResult](most)

    async def produce() -> None:
        with send:
            await batch.run(lambda _index, result: send.send_nowait(result))
            for result in batch.interrupted.values():
                await send.send(result)

    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(produce)
        async for result in receive:
            try:
                yield result
            except GeneratorExit:  # closed early: stop the rest, then end without an error
                tg.cancel_scope.cancel()
                return
