"""``yanex run``'s experiments running: the view, the stale scan beside it, and the signals.

Signals: while experiments run, SIGINT (Ctrl-C) and SIGTERM are received by an anyio
signal receiver task rather than raised as KeyboardInterrupt somewhere in the event loop.
The first one cancels the run's task group: every running child's process group gets
SIGINT, then SIGTERM after the grace period, then SIGKILL, and is recorded as cancelled
before the command exits with 128 + the signal number. A second one kills the children at
once. The children live in their own sessions, so a terminal's Ctrl-C reaches only us;
the spawner process (``_spawnd``) takes them down if we are SIGKILLed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from yanex import _supervise
from yanex._core import child, planning, runner, slots, sweep
from yanex._store import layout
from yanex.errors import ConfigError

from . import _console, _run_view

STALE_SCAN_GRACE = 2.0  # seconds the stale-experiment scan may outlast the run


def staged_jobs(request: planning.Request) -> list[runner.Job]:
    from yanex._core import staged

    return staged.select(request.script if request.staged else None, request.ids)


async def execute(
    plan: planning.Plan | None,
    request: planning.Request,
    grace: float,
    git: runner.GitProbe | None,
    caller: _supervise.Caller,
    *,
    resume: sweep.Resume | None = None,
) -> int:
    """Run the plan (or the staged experiments, or what a resumed sweep left) under the
    signal watcher; the exit code."""
    members, timeout, parallel = await _members(plan, request, resume)
    if not members:
        if resume is not None:
            done = len(resume.sweep.members)
            _console.echo(f"Sweep {resume.sweep.id}: nothing left to run ({done} completed).")
        else:
            _console.echo("No staged experiments to run.")
        return 0
    total = len(members)
    try:
        workers, policy = planning.policy(request, total, parallel, _gpus_before(resume))
    except ConfigError as exc:
        _console.fail(str(exc), _console.EXIT_USAGE)
    try:
        info = await anyio.to_thread.run_sync(_sweep_info, members, request, resume, policy.gpus)
    except OSError as exc:  # an unusable store: one line, as the records' creation would say
        _console.fail(str(exc))
    view = _run_view.make_view(total, workers)
    view.sweep_id = info.id
    expected = None
    if plan is not None:  # a single experiment reads our stdin, as python would
        expected = child.script_launch(
            caller, plan.template.script_name, plan.template.script_args, stdin=total == 1
        )
    run = runner.Run(
        total,
        workers=workers,
        timeout=timeout,
        grace=grace,
        observer=view,
        caller=caller,
        expected=expected,
        policy=policy,
        sweep=info,
        git=git,
    )
    if expected is not None and expected.foreground:  # `fg` after Ctrl-Z: the script too
        signal.signal(signal.SIGCONT, lambda *_: _supervise.resume_foreground())
    stop_scan, scan_done = threading.Event(), anyio.Event()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_mark_stale, stop_scan, scan_done)  # beside the run
            signum = await until_signalled(
                lambda: run.execute(members), "stopping the experiments...", run.kill_now
            )
            if signum is None:  # a huge store may hold us only this long after the run
                with anyio.move_on_after(STALE_SCAN_GRACE):
                    await scan_done.wait()
            stop_scan.set()
    finally:
        view.close()
    _run_view.summary(run, interrupted=signum is not None)
    if signum is not None:
        _run_view.resume_hint(info.id)
        return 128 + signum
    if expected is not None and expected.foreground and run.count("cancelled"):
        return 128 + signal.SIGINT  # Ctrl-C reached the script itself, as under python
    if run.outcome.stopped_by is not None:
        _run_view.stopped(run, info.id)
    return 0 if run.ok and run.outcome.stopped_by is None else _console.EXIT_ERROR


async def _members(
    plan: planning.Plan | None, request: planning.Request, resume: sweep.Resume | None
) -> tuple[list[runner.Member], float | None, int | None]:
    """(the members to run, the timeout, the default -j): the plan's, the staged
    experiments' or a resumed sweep's (its own timeout and -j unless given again)."""
    if resume is not None:
        members = await anyio.to_thread.run_sync(resumed, resume)
        timeout = request.timeout if request.timeout is not None else resume.sweep.timeout
        return members, timeout, resume.sweep.parallel
    if plan is None:
        staged = await anyio.to_thread.run_sync(staged_jobs, request)
        return await anyio.to_thread.run_sync(runner.staged_members, staged), request.timeout, None
    return runner.new_members(plan), request.timeout, None


def resumed(resume: sweep.Resume) -> list[runner.Member]:
    """The members a resume runs: a staged one as it is, the others as new attempts."""
    return [
        runner.staged_member(i, spec, resume_dir)
        if (resume_dir := _staged_dir(resume, i)) is not None
        else runner.Member(i, spec, retry_of=prev)
        for i, spec, prev in resume.todo
    ]


def _staged_dir(resume: sweep.Resume, index: int) -> Path | None:
    exp_id = resume.staged.get(index)
    return layout.find_experiment_dir(exp_id) if exp_id is not None else None


def _sweep_info(
    members: list[runner.Member],
    request: planning.Request,
    resume: sweep.Resume | None,
    shared: slots.Slots | None,
) -> sweep.Info:
    if resume is not None:
        return sweep.info_for(resume)
    gpus = None if shared is None else (shared.all, shared.per_run)
    info = sweep.start(
        [member.plan for member in members],
        parallel=request.parallel,
        timeout=request.timeout,
        gpus=gpus,
    )
    for member in members:  # staged ones join the sweep now: a resume finds those left
        if member.existing is not None:
            runner.stamp_existing(member.existing, info.stamp(member.plan, member.index, None))
    return info


def _gpus_before(resume: sweep.Resume | None) -> tuple[list[int], int] | None:
    """The GPU slots a resumed sweep shared, which its members get again by default."""
    if resume is None or resume.sweep.gpus is None:
        return None
    return resume.sweep.gpus, resume.sweep.gpus_per_run or 1


async def _mark_stale(stop: threading.Event, done: anyio.Event) -> None:
    """Experiments left 'running' by a supervisor that died are failed now, and said so."""
    try:
        stale = await anyio.to_thread.run_sync(runner.mark_stale, stop)
    finally:
        done.set()
    if stale:
        _console.echo(
            f"[yanex] marked {len(stale)} experiment(s) whose supervisor died as failed: "
            + ", ".join(stale),
            err=True,
        )


async def until_signalled(
    work: Callable[[], Awaitable[None]], doing: str, again: Callable[[], None] | None = None
) -> int | None:
    """Await ``work()``: the first SIGINT/SIGTERM cancels it, saying ``[yanex] SIGNAL: doing``
    on stderr; a later one calls ``again`` (e.g. kill at once). The first signal, if any."""
    received: list[int] = []
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def watch() -> None:
                async for signum in signals:
                    received.append(int(signum))
                    if len(received) == 1:
                        name = signal.Signals(signum).name
                        _console.echo(f"\n[yanex] {name}: {doing}", err=True)
                        scope.cancel()
                    elif again is not None:
                        again()

            tg.start_soon(watch)
            with scope:
                await work()
            tg.cancel_scope.cancel()
    return received[0] if received else None
