"""The only place child processes are spawned, streamed, timed out, signalled and reaped.

``supervise()`` starts a command in its own session (so signals go to its whole process
group, a bash script's own children included) through the ``_launch`` watchdog (so the group
dies with a SIGKILLed supervisor), drains stdout and stderr concurrently in chunks into the
given sinks (memory stays bounded whatever the volume), and stops the group on timeout or
cancellation with SIGINT, then SIGTERM after a grace period, then SIGKILL, always waiting
for the child (shielded) before returning or re-raising. It never relies on a library's
``close()`` to kill gently.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc

from yanex import _context

Sink = Callable[[bytes], None]
CHUNK = 64 * 1024
TAIL_LINES = 20
GRACE = 5.0  # seconds from SIGINT to SIGTERM, and from SIGTERM to SIGKILL
LEFTOVER_WAIT = 1.0  # seconds the pipes may stay open after the child exited
_LAUNCHER = str(Path(__file__).with_name("_launch.py"))


class Tail:
    """The last few lines of a stream, for error messages (bounded memory)."""

    def __init__(self, lines: int = TAIL_LINES) -> None:
        self._lines: collections.deque[bytes] = collections.deque(maxlen=lines)
        self._partial = b""

    def __call__(self, chunk: bytes) -> None:
        data = self._partial + chunk
        parts = data.split(b"\n")
        self._partial = parts.pop()[-4096:]
        self._lines.extend(p[-4096:] for p in parts)

    def text(self) -> str:
        lines = [*self._lines, self._partial] if self._partial else list(self._lines)
        return b"\n".join(lines).decode(errors="replace").rstrip()


class FileSink:
    """Appends a stream to a file as it arrives (unbuffered, so readers can follow it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.bytes = 0
        self.lines = 0
        self._ends_nl = True

    def __call__(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self.bytes += len(chunk)
        self.lines += chunk.count(b"\n")
        self._ends_nl = chunk.endswith(b"\n")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def line_count(self) -> int:
        """Lines as a person counts them: a last line without newline counts too."""
        return self.lines + (0 if self._ends_nl or self.bytes == 0 else 1)


class FdSink:
    """Copies a stream to a file descriptor (the terminal); stops quietly if it goes away.

    A closed pipe (``yanex run ... | head``) must not stop the capture to the artifacts.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __call__(self, chunk: bytes) -> None:
        if self._fd < 0:
            return
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self._fd = -1


class LineSink:
    """Passes whole lines, each behind ``prefix``, to ``write``; partial lines wait.

    Used where several children share a terminal, so their lines do not interleave
    mid-line. The wait buffer is bounded: a line longer than ``max_line`` goes out in
    pieces. Call ``flush()`` when the stream has ended.
    """

    def __init__(self, write: Sink, prefix: bytes = b"", max_line: int = CHUNK) -> None:
        self._write = write
        self._prefix = prefix
        self._max = max_line
        self._partial = b""

    def __call__(self, chunk: bytes) -> None:
        data = self._partial + chunk if self._partial else chunk
        end = data.rfind(b"\n") + 1
        lines, self._partial = data[:end], data[end:]
        if lines:
            if self._prefix:
                lines = b"".join(self._prefix + line for line in lines.splitlines(keepends=True))
            self._write(lines)
        while len(self._partial) >= self._max:
            piece, self._partial = self._partial[: self._max], self._partial[self._max :]
            self._write(self._prefix + piece + b"\n")

    def flush(self) -> None:
        if self._partial:
            self._write(self._prefix + self._partial + b"\n")
            self._partial = b""


def default_grace() -> float:
    """The stop grace period: ``$YANEX_KILL_GRACE`` seconds when set (tests), else GRACE."""
    raw = os.environ.get("YANEX_KILL_GRACE", "").strip()
    if not raw:
        return GRACE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or math.isinf(value):
        from yanex.errors import ConfigError

        raise ConfigError(f"YANEX_KILL_GRACE must be a number of seconds, not {raw!r}")
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


def launch_argv(argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` under the watchdog."""
    return [sys.executable, "-S", _LAUNCHER, *argv]


async def _pump(stream: anyio.abc.ByteReceiveStream | None, sinks: Sequence[Sink]) -> None:
    if stream is None:
        return
    closed = (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError)
    with contextlib.suppress(*closed):
        while True:
            chunk = await stream.receive(CHUNK)
            for sink in sinks:
                sink(chunk)


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def stop(process: anyio.abc.Process, grace: float, sent: list[str]) -> None:
    """SIGINT, then SIGTERM after ``grace``, then SIGKILL; returns once the child is reaped."""
    with anyio.CancelScope(shield=True):
        for sig in (signal.SIGINT, signal.SIGTERM):
            if process.returncode is not None:
                break  # not return: its group may still hold children (bash's `cmd &`)
            if _signal_group(process.pid, sig):
                sent.append(sig.name)
            with anyio.move_on_after(grace):
                await process.wait()
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGKILL)
            sent.append("SIGKILL")
            await process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # stragglers left in the group


async def supervise(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdout: Sequence[Sink] = (),
    stderr: Sequence[Sink] = (),
    timeout: float | None = None,
    grace: float = GRACE,
    on_start: Callable[[int], Awaitable[None] | None] | None = None,
) -> Outcome:
    """Run ``argv`` to its end (or timeout/cancellation) and report how it ended."""
    tail = Tail()
    child_env = dict(os.environ if env is None else env)
    child_env[_context.ENV_SUPERVISOR_PID] = str(os.getpid())
    started = time.monotonic()
    process = await anyio.open_process(
        launch_argv(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=child_env,
        start_new_session=True,
    )
    outcome = Outcome(returncode=None, duration=0.0, pid=process.pid)
    try:
        if on_start is not None:
            maybe = on_start(process.pid)
            if maybe is not None:
                await maybe
        with anyio.move_on_after(math.inf if timeout is None else timeout) as scope:
            await _run_to_end(process, stdout, [*stderr, tail])
        if scope.cancelled_caught:
            outcome.timed_out = True
            await stop(process, grace, outcome.signals_sent)
    except BaseException:
        outcome.cancelled = True
        await stop(process, grace, outcome.signals_sent)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await _close(process)
        outcome.duration = time.monotonic() - started
        outcome.returncode = process.returncode
        outcome.stderr_tail = tail.text()
    return outcome


async def _run_to_end(
    process: anyio.abc.Process, stdout: Sequence[Sink], stderr: Sequence[Sink]
) -> None:
    """Drain both pipes while waiting for the child; then reap what it left in its group.

    A grandchild that outlives the child would hold the pipes open forever: once the child
    has exited, the pumps get a moment to drain, then the group's leftovers are killed.
    """
    pumps_done = anyio.Event()

    async def pumps() -> None:
        async with anyio.create_task_group() as inner:
            inner.start_soon(_pump, process.stdout, stdout)
            inner.start_soon(_pump, process.stderr, stderr)
        pumps_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pumps)
        await process.wait()
        with anyio.move_on_after(LEFTOVER_WAIT):
            await pumps_done.wait()
        _signal_group(process.pid, signal.SIGKILL)


async def _close(process: anyio.abc.Process) -> None:
    for stream in (process.stdout, process.stderr, process.stdin):
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.aclose()
