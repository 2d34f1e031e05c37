"""One tracked child experiment: its record, its supervised process, its final status.

Shared by ``yanex run`` (``runner.py``) and ``run_multiple`` (``batch.py``). The supervisor
(this process) owns the experiment's status: it moves it to running with its own pid, host
and a heartbeat, and writes the final status from the child's exit (or from the outcome the
child asked for with ``yanex.fail()``/``cancel()``/``completed()``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from yanex import _context, _supervise
from yanex._models import ExperimentResult, Status
from yanex._store import layout, store
from yanex._store.clock import now_iso

from . import experiment, gitinfo, lifecycle, resources

SinkFactory = Callable[[str, str], Sequence[_supervise.Sink]]  # (experiment id, "stdout"|...)


@dataclass
class ChildPlan:
    """Everything needed to create and run one child experiment."""

    script: Path
    config: dict[str, Any] = field(default_factory=dict)
    script_args: list[str] = field(default_factory=list)
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    project: str | None = None
    depends_on: list[str] = field(default_factory=list)
    cli_args: dict[str, Any] = field(default_factory=dict)
    script_arg: str | None = None  # the script as the caller named it (default: ``script``)

    @property
    def script_name(self) -> str:
        """The script as ``python`` gets it: as the caller named it."""
        return self.script_arg if self.script_arg is not None else str(self.script)


def create_record(
    plan: ChildPlan,
    *,
    git: gitinfo.GitState | None = None,
    staged: bool = False,
    legacy_params: bool = True,
    stamp: Mapping[str, Any] | None = None,
) -> tuple[str, Path]:
    """Write the experiment (status created, or staged) and return (id, directory).

    ``legacy_params=False`` skips params.yaml (see ``experiment.create_stored``).
    ``stamp``: more metadata fields (a sweep's ``sweep_id``, ``retry_of``, ``gpus``...).
    """
    git = git if git is not None else gitinfo.capture()
    meta = experiment.new_metadata(
        "",
        script_path=plan.script,
        name=plan.name,
        tags=plan.tags,
        description=plan.description,
        project=plan.project,
        git=git,
    )
    meta.script_args = list(plan.script_args)
    meta.script_arg = plan.script_arg
    meta.depends_on = list(plan.depends_on)
    meta.cli_args = dict(plan.cli_args)
    for key, value in (stamp or {}).items():
        setattr(meta, key, value)
    if staged:
        lifecycle.apply(meta, Status.STAGED)
    exp_dir = experiment.create_stored(meta, plan.config, git, legacy_params=legacy_params)
    return meta.id, exp_dir


def script_launch(
    caller: _supervise.Caller,
    script: str,
    script_args: Sequence[str] = (),
    *,
    stdin: bool = False,
) -> _supervise.Launch:
    """``python -u script args`` as ``caller`` would start it, before an experiment is
    attached (``for_experiment``). ``script`` is kept as the caller named it, so the
    script's ``sys.argv[0]`` is what ``python`` would give it."""
    env = {k: v for k, v in caller.env.items() if not k.startswith(_context.ENV_PARAM_PREFIX)}
    launch = caller.launch([sys.executable, "-u", script, *script_args], env, stdin=stdin)
    launch.python = True
    return launch


def for_experiment(
    base: _supervise.Launch, exp_id: str, cli_args: dict[str, Any], ahead: int = 0
) -> _supervise.Launch:
    """``base`` with the environment protocol of ``_context`` for a child of ``exp_id``.

    Parameters reach the child through config.json, already resolved: any
    ``YANEX_PARAM_*`` of ours is not passed on. Nothing else is added: the script sees the
    caller's environment, as under ``python``.
    """
    env = dict(base.env)
    env[_context.ENV_EXPERIMENT_ID] = exp_id
    env[_context.ENV_EXPERIMENTS_DIR] = str(layout.experiments_dir())
    env[_context.ENV_CLI_ACTIVE] = "1"
    env[_context.ENV_CLI_ARGS] = json.dumps(cli_args, default=str)
    return dataclasses.replace(base, env=env, ahead=ahead)


def _start(
    exp_dir: Path, stamp: Mapping[str, Any] | None = None
) -> tuple[Any, _supervise.FileSink, _supervise.FileSink]:
    """Mark the experiment running (with the fields of ``stamp``) and open its output files
    (in a worker thread: both touch the disk, and the event loop serves the others)."""
    with store.editing_metadata(exp_dir) as meta:
        for key, value in (stamp or {}).items():
            setattr(meta, key, value)
        lifecycle.apply(meta, Status.RUNNING)
        meta.heartbeat_at = now_iso()
    out = _supervise.FileSink(exp_dir / layout.ARTIFACTS / "stdout.txt")
    err = _supervise.FileSink(exp_dir / layout.ARTIFACTS / "stderr.txt")
    return meta, out, err


def _beat(exp_dir: Path, usage: dict[str, Any] | None = None) -> None:
    with store.editing_metadata(exp_dir) as meta:
        if meta.status == Status.RUNNING:
            meta.heartbeat_at = now_iso()
            if usage is not None:  # the resources used so far
                meta.resources = usage


async def _heartbeat(exp_dir: Path, watch: resources.Watch) -> None:
    while True:
        await anyio.sleep(lifecycle.HEARTBEAT_INTERVAL)
        usage = watch.summary() if watch.samples else None
        await anyio.to_thread.run_sync(_beat, exp_dir, usage)


def _final(
    exp_dir: Path, outcome: _supervise.Outcome, timeout: float | None
) -> tuple[Status, str | None]:
    """The status and message to record for how the child ended."""
    if outcome.cancelled:
        return Status.CANCELLED, "cancelled by the supervisor (interrupt or termination)"
    if outcome.timed_out:
        return Status.FAILED, f"timed out after {timeout:g} s (process group stopped)"
    requested = experiment.read_outcome(exp_dir)
    if requested is not None:
        return requested
    code = outcome.returncode
    if code == 0:
        return Status.COMPLETED, None
    if outcome.foreground and code == -signal.SIGINT:
        return Status.CANCELLED, "interrupted from the terminal (Ctrl-C)"
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        reason = f"Script killed by signal {name}"
    else:
        reason = f"Script exited with code {code}"
    tail = outcome.stderr_tail.strip()
    return Status.FAILED, f"{reason}\n{tail}" if tail else reason


async def run_child(
    exp_id: str,
    exp_dir: Path,
    *,
    launch: _supervise.Launch,
    cli_args: dict[str, Any] | None = None,
    timeout: float | None = None,
    sinks: SinkFactory | None = None,
    grace: float = _supervise.GRACE,
    on_start: Callable[[int], None] | None = None,
    ahead: int = 0,
    stamp: Mapping[str, Any] | None = None,
) -> ExperimentResult:
    """Run the created/staged experiment ``exp_id`` as ``launch`` (from ``script_launch``).

    Writes ``artifacts/stdout.txt`` and ``stderr.txt``; returns its result. On cancellation
    the child's group is stopped, the experiment is recorded as cancelled, and the
    cancellation propagates. ``on_start`` gets the pid of the child's process group leader;
    ``ahead`` is how many more launches like this one will follow soon (see ``_spawner``);
    ``stamp``: metadata fields written as it is marked running (a staged one's sweep).
    """
    launch = for_experiment(launch, exp_id, cli_args or {}, ahead)
    slots = resources.gpu_slots(launch.env)
    watch = resources.Watch(exp_dir, slots, every=resources.interval())

    def started(pid: int) -> None:
        watch.pid = pid
        if on_start is not None:
            on_start(pid)

    with anyio.CancelScope(shield=True):  # once marked running, the finally below must run
        meta, out, err = await anyio.to_thread.run_sync(_start, exp_dir, stamp)
    extra_out = list(sinks(exp_id, "stdout")) if sinks else []
    extra_err = list(sinks(exp_id, "stderr")) if sinks else []
    outcome: _supervise.Outcome | None = None
    ended: list[_supervise.Outcome] = []  # also when cancelled: the child's usage
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_heartbeat, exp_dir, watch)
            tg.start_soon(resources.MONITOR.follow, watch)
            outcome = await _supervise.supervise(
                launch,
                stdout=[out, *extra_out],
                stderr=[err, *extra_err],
                timeout=timeout,
                grace=grace,
                on_start=started,
                on_end=ended.append,
            )
            tg.cancel_scope.cancel()
    finally:
        out.close()
        err.close()
        if outcome is None:  # cancelled before or while running
            outcome = _supervise.Outcome(returncode=None, duration=0.0, cancelled=True)
        status, message = _final(exp_dir, outcome, timeout)
        usage = ended[-1].usage if ended else None
        end = functools.partial(_finish, watch=watch, usage=usage)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(end, exp_dir, status, message, outcome.returncode)
    return ExperimentResult(
        experiment_id=exp_id,
        status=str(status),
        error_message=message if status != Status.COMPLETED else None,
        duration=outcome.duration,
        name=meta.name,
    )


def _finish(
    exp_dir: Path,
    status: Status,
    message: str | None,
    code: int | None,
    *,
    watch: resources.Watch | None = None,
    usage: dict[str, float] | None = None,
) -> None:
    """Record the end; with ``watch``, the final resource sample and summary too (``usage``:
    the kernel's account of the reaped child)."""
    summary = resources.finish(watch, usage) if watch is not None else None
    lifecycle.finish(exp_dir, status, message=message, exit_code=code, resources=summary)
    (exp_dir / experiment.OUTCOME_FILE).unlink(missing_ok=True)
