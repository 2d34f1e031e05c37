"""The only place child processes are spawned, streamed, timed out, signalled and reaped.

``supervise()`` starts a ``Launch`` in its own session (so signals go to its whole process
group, a bash script's own children included) through the spawner process (``_spawner``
and ``_spawnd``: the group dies with a SIGKILLed supervisor), drains stdout and stderr
concurrently in chunks into the given sinks (memory stays bounded whatever the volume),
and stops the group on cancellation with SIGINT (what Ctrl-C in a terminal sends), then
SIGTERM after a grace period, then SIGKILL; on timeout with SIGTERM, then SIGKILL (as
``timeout(1)`` and batch schedulers do). It always waits for the child (shielded) before
returning or re-raising, and never relies on a library's ``close()`` to kill gently.

``Caller.now()`` takes what a child inherits from the caller (environment, working
directory, umask) at the moment of the caller's call, not when the child happens to start.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from yanex import _context, _platform, _spawner
from yanex._sinks import CHUNK, FdSink, FileSink, LineSink, Sink, Tail
from yanex._spawner import Launch, launch_path
from yanex.errors import SpawnError

__all__ = [
    "CHUNK",
    "Caller",
    "FdSink",
    "FileSink",
    "Launch",
    "LineSink",
    "Outcome",
    "Sink",
    "SpawnError",
    "Tail",
    "launch_path",
    "supervise",
]

READ_CHUNK = 1024 * 1024  # pipes are enlarged to this size: fewer wake-ups per megabyte
GRACE = 5.0  # seconds from SIGINT to SIGTERM, and from SIGTERM to SIGKILL
LEFTOVER_WAIT = 1.0  # seconds the pipes may stay open after the child exited


def default_grace() -> float:
    """The stop grace period: ``$YANEX_KILL_GRACE`` seconds when set (tests), else GRACE."""
    raw = os.environ.get(_context.ENV_KILL_GRACE, "").strip()
    if not raw:
        return GRACE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or math.isinf(value):
        from yanex.errors import ConfigError

        raise ConfigError(f"{_context.ENV_KILL_GRACE} must be a number of seconds, not {raw!r}")
    return value


@dataclass
class Outcome:
    """How a supervised process ended."""

    returncode: int | None
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    pid: int | None = None
    stderr_tail: str = ""
    signals_sent: list[str] = field(default_factory=list)
    via: str = ""  # the launch path that started it: "pool" or "exec"
    foreground: bool = False  # it held the terminal: Ctrl-C went to it, not to us
    # the kernel's account of the child and the descendants it waited for, from reaping it:
    # cpu_seconds (user + system), maxrss_bytes; None when not known
    usage: dict[str, float] | None = None


async def _pump(fd: int, sinks: Sequence[Sink]) -> None:
    """Copy a pipe into the sinks until end-of-file; closes the descriptor."""
    try:
        while True:
            await anyio.wait_readable(fd)
            try:
                chunk = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                continue
            if not chunk:
                return
            for sink in sinks:
                sink(chunk)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Caller:
    """What a child started by the caller would inherit, taken at one moment."""

    env: dict[str, str]
    cwd: str
    umask: int
    limits: list[tuple[int, int, int]] = field(default_factory=list)
    nice: int | None = None

    @classmethod
    def now(cls) -> Caller:
        env = _platform.without_locale_coercion(dict(os.environ))
        return cls(
            env,
            str(Path.cwd()),
            _platform.current_umask(),
            _platform.process_limits(),
            _platform.niceness(),
        )

    def launch(
        self, argv: list[str], env: dict[str, str] | None = None, *, stdin: bool = False
    ) -> Launch:
        """A launch of ``argv`` as this caller; ``stdin=True`` passes our own stdin on (and,
        if it is the terminal we are the foreground of, the terminal too)."""
        fd = own_stdin() if stdin else None
        return Launch(
            argv=argv,
            env=dict(self.env if env is None else env),
            cwd=self.cwd,
            umask=self.umask,
            stdin=fd,
            foreground=fd is not None and in_foreground(fd),
            limits=list(self.limits),
            nice=self.nice,
        )


def in_foreground(fd: int) -> bool:
    """``fd`` is a terminal whose foreground process group is ours."""
    try:
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


def resume_foreground() -> None:
    """Call when continued (SIGCONT): stopped foreground children continue too."""
    _spawner.resume()


def own_stdin() -> int | None:
    """Our stdin's descriptor if it is open, else None (the child gets an empty stdin)."""
    try:
        os.fstat(0)
    except OSError:
        return None
    return 0


def warm_up() -> None:
    """Start the spawner now, so its start-up overlaps with the caller's own work."""
    _spawner.warm_up()


def prepare(launch: Launch, count: int = 1, *, ensure: bool = False) -> None:
    """Have ``count`` interpreters started ahead for launches like ``launch`` (pool path);
    ``ensure``: as many as it takes to have ``count`` ready."""
    _spawner.prepare(launch, count, ensure=ensure)


def drop(launch: Launch) -> None:
    """Stop interpreters prepared for ``launch`` that will not be used."""
    _spawner.drop(launch)


def signal_group(pid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group ``pid``; False when it is gone (or not ours)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def stop(
    child: _spawner.Child, grace: float, sent: list[str], first: signal.Signals = signal.SIGINT
) -> None:
    """``first`` (SIGINT or SIGTERM), then SIGTERM after ``grace``, then SIGKILL; returns
    once the child is reaped."""
    with anyio.CancelScope(shield=True):
        for sig in dict.fromkeys((first, signal.SIGTERM)):
            if child.returncode is not None:
                break  # not return: its group may still hold children (bash's `cmd &`)
            if signal_group(child.pid, sig):
                sent.append(sig.name)
            with anyio.move_on_after(grace):
                await child.wait()
        if child.returncode is None:
            signal_group(child.pid, signal.SIGKILL)
            sent.append("SIGKILL")
            await child.wait()
        signal_group(child.pid, signal.SIGKILL)  # stragglers left in the group


async def supervise(
    launch: Launch,
    *,
    stdout: Sequence[Sink] = (),
    stderr: Sequence[Sink] = (),
    timeout: float | None = None,
    grace: float = GRACE,
    on_start: Callable[[int], Awaitable[None] | None] | None = None,
    on_end: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Run ``launch`` to its end (or timeout/cancellation) and report how it ended.

    ``on_end`` gets the outcome however it ends, cancellation included (which then goes on
    propagating): the child's exit status and usage are not lost with the return value."""
    tail = Tail()
    launch.env[_context.ENV_SUPERVISOR_PID] = str(os.getpid())
    started = time.monotonic()
    child, out_fd, err_fd = await _spawner.spawn(launch)
    outcome = Outcome(
        returncode=None, duration=0.0, pid=child.pid, via=child.via, foreground=launch.foreground
    )
    try:
        if on_start is not None:
            maybe = on_start(child.pid)
            if maybe is not None:
                await maybe
        await _run_to_end(
            child,
            (out_fd, stdout),
            (err_fd, [*stderr, tail]),
            timeout=timeout,
            grace=grace,
            outcome=outcome,
        )
    finally:
        child.close()
        outcome.duration = time.monotonic() - started
        outcome.returncode = child.returncode
        outcome.usage = child.usage
        outcome.stderr_tail = tail.text()
        if on_end is not None:
            on_end(outcome)
    return outcome


async def _run_to_end(
    child: _spawner.Child,
    out: tuple[int, Sequence[Sink]],
    err: tuple[int, Sequence[Sink]],
    *,
    timeout: float | None,
    grace: float,
    outcome: Outcome,
) -> None:
    """Drain both pipes while the child runs, while it is being stopped, and a moment after.

    The pumps are shielded from the caller's cancellation: what a script prints while it
    handles SIGINT or SIGTERM (its cleanup) is kept like everything else. They stop once
    the child has exited and its pipes are drained; a grandchild that outlives the child
    would hold the pipes open forever, so after a moment the group's leftovers are killed.
    The pumps own the pipes' read ends and close them however they end.
    """
    pumps_done = anyio.Event()
    pump_scope = anyio.CancelScope(shield=True)

    async def pumps() -> None:
        with pump_scope:
            async with anyio.create_task_group() as inner:
                inner.start_soon(_pump, *out)
                inner.start_soon(_pump, *err)
        pumps_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pumps)
        try:
            with anyio.move_on_after(math.inf if timeout is None else timeout) as scope:
                await child.wait()
            if scope.cancelled_caught:
                outcome.timed_out = True
                await stop(child, grace, outcome.signals_sent, first=signal.SIGTERM)
        except BaseException:
            outcome.cancelled = True
            with anyio.CancelScope(shield=True):
                await stop(child, grace, outcome.signals_sent)
                await _drain(child, pumps_done)
                pump_scope.cancel()
            raise
        await _drain(child, pumps_done)
        pump_scope.cancel()


async def _drain(child: _spawner.Child, pumps_done: anyio.Event) -> None:
    """Give the pumps a moment to reach end-of-file; then kill what holds the pipes."""
    with anyio.move_on_after(LEFTOVER_WAIT):
        await pumps_done.wait()
    signal_group(child.pid, signal.SIGKILL)
    with anyio.move_on_after(LEFTOVER_WAIT):
        await pumps_done.wait()
