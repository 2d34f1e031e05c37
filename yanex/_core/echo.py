"""Documented user-facing output of the library: live child output and batch progress.

``execute_bash_script(stream_output=True)`` copies the command's output to our stdout and
stderr as it arrives; ``run_multiple(verbose=True)`` copies each child's lines prefixed with
its experiment id (through ``_supervise.LineSink``). Batch progress goes to stderr, and only
when asked for (``verbose=True``) or when stderr is a terminal: a line per finished
experiment, drawn above a rich progress bar on a colour terminal, and a summary at the end.
Rich is imported only when a bar is drawn.

Streams are looked up on ``sys`` at every write, so redirections made after the call
started (pytest's capture, ``contextlib.redirect_stdout``, Jupyter) are honoured.
"""

from __future__ import annotations

import codecs
import os
import sys
import time
from typing import Any, TextIO

from yanex._models import ExperimentResult


def _stream(name: str) -> TextIO | None:
    return getattr(sys, name, None)


class TerminalSink:
    """Copies a child's byte stream to ``sys.stdout`` or ``sys.stderr`` as it arrives."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, chunk: bytes) -> None:
        stream = _stream(self._name)
        if stream is None:
            return
        buffer = getattr(stream, "buffer", None)
        try:
            if buffer is not None:
                stream.flush()  # keep the order with text the caller already wrote
                buffer.write(chunk)
                buffer.flush()
            else:  # a text-only stream (Jupyter): decode, keeping split characters whole
                stream.write(self._decoder.decode(chunk))
                stream.flush()
        except (BrokenPipeError, ValueError):  # closed or vanished reader: keep running
            pass


def _describe(result: ExperimentResult) -> str:
    label = f" ({result.name})" if result.name else ""
    took = f" in {result.duration:.2f}s" if result.duration is not None else ""
    line = f"{result.status} {result.experiment_id}{label}{took}"
    if result.status == "failed" and result.error_message:
        line += ": " + result.error_message.strip().splitlines()[0]
    return line


class Progress:
    """Progress of one batch on stderr: per-experiment lines or a rich bar, then a summary."""

    def __init__(self, total: int, *, verbose: bool) -> None:
        err = _stream("stderr")
        tty = bool(err is not None and _isatty(err))
        self.total = total
        self.enabled = verbose or tty
        self._started = time.monotonic()
        self._done: list[ExperimentResult] = []
        self._bar: Any = None
        if tty and not verbose and "NO_COLOR" not in os.environ:
            self._bar = _start_bar(total)

    def finished(self, result: ExperimentResult) -> None:
        self._done.append(result)
        if not self.enabled:
            return
        line = f"[{len(self._done)}/{self.total}] {_describe(result)}"
        if self._bar is not None:
            progress, task = self._bar
            progress.console.print(line, markup=False, highlight=False)
            progress.advance(task)
            progress.refresh()
        else:
            _write_line(line)

    def close(self, *, interrupted: bool = False) -> None:
        """Stop the bar and print the summary (also after an interruption)."""
        if self._bar is not None:
            self._bar[0].stop()
            self._bar = None
        if self.enabled:
            _write_line(self.summary(interrupted=interrupted))

    def summary(self, *, interrupted: bool = False) -> str:
        counts: dict[str, int] = {}
        for result in self._done:
            counts[result.status] = counts.get(result.status, 0) + 1
        parts = [f"{counts[s]} {s}" for s in ("completed", "failed", "cancelled") if s in counts]
        took = time.monotonic() - self._started
        head = "run_multiple interrupted" if interrupted else "run_multiple finished"
        return f"{head}: {', '.join(parts) or 'nothing run'} of {self.total} in {took:.1f}s"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _write_line(line: str) -> None:
    err = _stream("stderr")
    if err is None:
        return
    try:
        err.write(line + "\n")
        err.flush()
    except (BrokenPipeError, ValueError):
        pass


def _start_bar(total: int) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress(
        "run_multiple",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        auto_refresh=False,  # refreshed on each result: no refresh thread in the library
    )
    task = progress.add_task("experiments", total=total)
    progress.start()
    progress.refresh()
    return progress, task
