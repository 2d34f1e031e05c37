"""What ``yanex run`` shows while experiments run: status lines, progress, live child output.

Plain text when stdout is not a terminal: one ``[yanex]`` line on stderr per start and end
(with done/failed/running counts in a sweep), the child's output passed through unchanged,
or line by line behind ``[<id>]`` when several experiments run at once. On a terminal a
sweep gets a rich progress bar instead, and child lines are printed above it. Rich is
imported only then.
"""

from __future__ import annotations

from typing import Any

from yanex import _supervise
from yanex._core import runner
from yanex._models import ExperimentResult, Status

from . import _console, _render


def _ending(result: ExperimentResult) -> str:
    text = f"{result.experiment_id} {result.status} after {_render.duration(result.duration)}"
    if result.status != Status.COMPLETED and result.error_message:
        text += f": {result.error_message.strip().splitlines()[0]}"
    return text


def _counts(run: runner.Run, *, done: bool = True) -> str:
    running = run.started - run.finished
    text = f"{run.count(Status.FAILED)} failed, {running} running"
    return f"{len(run.results)}/{run.total} done, {text}" if done else text


class PlainView(runner.Observer):
    """Status lines on stderr; child output straight to the terminal's descriptors."""

    def __init__(self, total: int, workers: int) -> None:
        self.prefixed = workers > 1 and total > 1
        self._held: dict[str, list[_supervise.LineSink]] = {}
        self.sweep_id: str | None = None
        self._single = total == 1

    def note(self, text: str) -> None:
        _console.echo(f"[yanex] {text}", err=True)

    def begin(self, total: int, workers: int) -> None:
        if total > 1:
            sweep = f"sweep {self.sweep_id}: " if self.sweep_id else ""
            self.note(f"{sweep}running {total} experiments, {workers} at a time")

    def started(self, job: runner.Job) -> None:
        text = f"{job.exp_id} started" + (f": {job.name}" if job.name else "")
        if job.retry_of:
            text += f" (retry of {job.retry_of})"
        if self._single and self.sweep_id:  # a sweep's id is on its first line
            text += f" [sweep {self.sweep_id}]"
        self.note(text)

    def finished(self, job: runner.Job, result: ExperimentResult, run: runner.Run) -> None:
        counts = f"  [{_counts(run)}]" if run.total > 1 else ""
        self.note(_ending(result) + counts)

    def write(self, stream: str) -> _supervise.Sink:
        return _supervise.FdSink(1 if stream == "stdout" else 2)

    def sinks(self, job: runner.Job, stream: str) -> list[_supervise.Sink]:
        if not self.prefixed:
            return [self.write(stream)]
        sink = _supervise.LineSink(self.write(stream), prefix=f"[{job.exp_id}] ".encode())
        self._held.setdefault(job.exp_id, []).append(sink)
        return [sink]

    def streams_ended(self, job: runner.Job) -> None:
        for sink in self._held.pop(job.exp_id, []):
            sink.flush()

    def close(self) -> None:
        """The run is over (normally or not)."""


class RichView(PlainView):
    """A progress bar on the terminal; child output and status lines scroll above it."""

    def __init__(self, total: int, workers: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        super().__init__(total, workers)
        self.prefixed = True  # lines must be whole to print above the bar
        self._prefix_ids = workers > 1
        self.console = Console(highlight=False)
        self.progress = Progress(
            TextColumn("[bold]yanex run"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task = self.progress.add_task("run", total=total, counts="")
        self._running = 0

    def note(self, text: str) -> None:
        self.console.print(f"[dim]\\[yanex][/dim] {_escape(text)}")

    def begin(self, total: int, workers: int) -> None:
        self.progress.start()
        super().begin(total, workers)

    def started(self, job: runner.Job) -> None:
        super().started(job)
        self._running += 1
        self.progress.update(self._task, counts=f"{self._running} running")

    def finished(self, job: runner.Job, result: ExperimentResult, run: runner.Run) -> None:
        self._running -= 1
        self.note(_ending(result))
        counts = _counts(run, done=False)
        self.progress.update(self._task, completed=len(run.results), counts=counts)

    def sinks(self, job: runner.Job, stream: str) -> list[_supervise.Sink]:
        prefix = f"[{job.exp_id}] ".encode() if self._prefix_ids else b""
        sink = _supervise.LineSink(self._printer(stream), prefix=prefix)
        self._held.setdefault(job.exp_id, []).append(sink)
        return [sink]

    def _printer(self, stream: str) -> _supervise.Sink:
        from rich.text import Text

        style = "red" if stream == "stderr" else ""

        def show(lines: bytes) -> None:
            text = lines.decode(errors="replace").rstrip("\n")
            self.console.print(Text(text, style=style), soft_wrap=True)

        return show

    def close(self) -> None:
        self.progress.stop()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def make_view(total: int, workers: int) -> PlainView:
    """A progress bar for a sweep on a terminal, plain lines otherwise."""
    import sys

    if total > 1 and _console.use_rich() and sys.stderr.isatty():
        return RichView(total, workers)
    return PlainView(total, workers)


def resume_hint(sweep_id: str) -> None:
    """After an interrupted run: how to finish it."""
    _console.echo(f"Resume it with: yanex run --resume {sweep_id}", err=True)


def stopped(run: runner.Run, sweep_id: str) -> None:
    """After fail-fast stopped the sweep."""
    left = run.total - len(run.results)
    _console.echo(
        f"[yanex] fail-fast: {run.outcome.stopped_by} failed, so the sweep stopped "
        f"({run.count(Status.CANCELLED)} cancelled, {left} not started); "
        f"yanex run --resume {sweep_id} runs the rest",
        err=True,
    )


def summary(run: runner.Run, *, interrupted: bool) -> None:
    """The table of a sweep's experiments (one experiment: its ending line was enough)."""
    if run.total > 1 and run.results:
        rows: list[list[Any]] = [
            [r.experiment_id, r.name or "", r.status, _render.duration(r.duration)]
            for r in run.in_plan_order()
        ]
        _console.table(["ID", "NAME", "STATUS", "DURATION"], rows, title="Summary")
    if run.total > 1 or interrupted:
        parts = [f"{run.count(s)} {s}" for s in (Status.COMPLETED, Status.FAILED, Status.CANCELLED)]
        not_run = run.total - len(run.results)
        if not_run:
            parts.append(f"{not_run} not started")
        _console.echo(f"{run.total} experiment{'s' if run.total != 1 else ''}: {', '.join(parts)}")
