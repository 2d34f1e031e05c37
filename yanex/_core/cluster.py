"""Experiments on a Slurm cluster: submit them as one job array, follow them, settle them.

``Submission`` checks the launcher's options before any record exists (``ConfigError``).
``run`` submits the created experiments (a refused submission deletes them again and raises
``SubmissionError``), marks them pending with their job ids, and unless detached waits:
each experiment's stdout and stderr are followed as the job appends them to the shared
store (woken by ``_platform.file_watch``, not by polling), its start and end are read from
its metadata (written by the job, ``_launchers/slurm_job.py``), and every
``ACCOUNTING_EVERY`` seconds Slurm's accounting settles the experiments whose job ended
without recording it (scancel from outside, time limit, node failure, OOM). Cancelling the
wait cancels every job of the run and records each experiment cancelled with Slurm's
state, within ``CANCEL_WAIT`` seconds. The records' side (pending with job ids, settled
from Slurm's accounting, also for readers) is ``accounting``.
"""

from __future__ import annotations

import functools
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from yanex import _launchers as launchers
from yanex import _supervise
from yanex._launchers import slurm
from yanex._models import TERMINAL, ExperimentResult, Status
from yanex._store import layout, store
from yanex._store.schema import Metadata
from yanex.errors import ConfigError, SpecError

from .accounting import mark_pending, settle

CANCEL_WAIT = 8.0  # seconds to wait for Slurm to confirm a cancellation before recording it
ACCOUNTING_EVERY = slurm.ACCOUNTING_EVERY


@dataclass
class Member:
    """One created experiment of the run, and what its job is."""

    index: int
    exp_id: str
    exp_dir: Path
    name: str | None
    launch: _supervise.Launch
    cli_args: dict[str, Any] = field(default_factory=dict)
    job_id: str = ""
    started: bool = False
    offsets: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})


class Reporter:
    """What a run tells its caller; the default tells nothing."""

    def started(self, member: Member) -> None:
        """The experiment's job started running it."""

    def output(self, member: Member, stream: str, chunk: bytes) -> None:
        """New bytes of its stdout or stderr."""

    def finished(self, member: Member, result: ExperimentResult) -> None:
        """It ended."""


class Submission:
    """A run's submitit executor, made (and its options checked) before any record."""

    def __init__(
        self, options: dict[str, Any], *, workers: int, timeout: float | None, grace: float
    ) -> None:
        self.timeout, self.grace = timeout, grace
        # submitit's pickles and its own logs, one folder per run (%j: one per job)
        self.folder = layout.experiments_dir() / ".slurm" / uuid.uuid4().hex[:12]
        self.executor = slurm.executor(
            options, workers=workers, timeout=timeout, grace=grace, folder=self.folder
        )

    def task(self, member: Member) -> slurm.Task:
        launch = member.launch
        return slurm.Task(
            exp_id=member.exp_id,
            store=str(layout.experiments_dir()),
            argv=list(launch.argv),
            env=dict(launch.env),
            cwd=launch.cwd,
            umask=launch.umask,
            cli_args=member.cli_args,
            timeout=self.timeout,
            grace=self.grace,
        )

    async def submit(self, members: Sequence[Member]) -> None:
        """Submit every member as one job array and mark them pending with their job ids;
        a refused submission deletes their records and raises SubmissionError."""
        tasks = [self.task(m) for m in members]
        # the pickles hold the caller's environment (the jobs need it): for our user only
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # shielded: once sbatch is called, the ids must reach the records (a cancellation
        # arriving meanwhile is seen right after, and cancels the jobs just submitted)
        with anyio.CancelScope(shield=True):
            try:
                ids = await anyio.to_thread.run_sync(slurm.submit, self.executor, tasks)
            except slurm.SubmissionError:
                dirs = [m.exp_dir for m in members]
                await anyio.to_thread.run_sync(_delete, [*dirs, self.folder])
                raise
            for member, job_id in zip(members, ids, strict=True):
                member.job_id = job_id
            await anyio.to_thread.run_sync(_mark_all_pending, members)

    async def follow(self, members: Sequence[Member], reporter: Reporter) -> None:
        """Wait for every submitted member; see the module's docstring."""
        await _Follow(members, reporter).run()

    async def run(self, members: Sequence[Member], reporter: Reporter) -> None:
        """Submit, then follow."""
        await self.submit(members)
        await self.follow(members, reporter)


def _delete(dirs: list[Path]) -> None:
    for exp_dir in dirs:
        shutil.rmtree(exp_dir, ignore_errors=True)


def _mark_all_pending(members: Sequence[Member]) -> None:
    for member in members:
        mark_pending(member.exp_dir, member.job_id)


def result_of(member: Member, meta: Metadata) -> ExperimentResult:
    return ExperimentResult(
        experiment_id=member.exp_id,
        status=meta.status,
        error_message=meta.error_message if meta.status != Status.COMPLETED else None,
        duration=meta.duration,
        name=meta.name,
    )


class _Follow:
    """Waits on a run's experiments: output, starts, ends, Slurm's accounting."""

    def __init__(self, members: Sequence[Member], reporter: Reporter) -> None:
        self.members = list(members)
        self.reporter = reporter
        self.waiting = set(range(len(self.members)))
        self.watch = slurm.Watch()
        for i, member in enumerate(self.members):
            self.watch.add(i, member.exp_dir)

    async def run(self) -> None:
        try:
            await self._loop()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._cancel_all()
            raise
        finally:
            self.watch.close()

    async def _loop(self) -> None:
        await self._look(set(self.waiting))
        last = time.monotonic()
        while self.waiting:
            left = max(0.0, ACCOUNTING_EVERY - (time.monotonic() - last))
            changed = await self.watch.changed(left, self.waiting)
            await self._look(changed & self.waiting)
            if time.monotonic() - last >= ACCOUNTING_EVERY:
                # every file too: a shared filesystem may not report other hosts' writes
                await self._look(set(self.waiting))
                await self._account()
                last = time.monotonic()

    async def _look(self, indices: set[int]) -> None:
        for i in sorted(indices):
            self._pump(self.members[i])
            meta = await anyio.to_thread.run_sync(_read, self.members[i].exp_dir)
            if meta is not None:
                self._status(i, meta)

    def _pump(self, member: Member) -> None:
        for stream in ("stdout", "stderr"):
            path = member.exp_dir / layout.ARTIFACTS / f"{stream}.txt"
            try:
                with open(path, "rb") as fh:
                    fh.seek(member.offsets[stream])
                    data = fh.read()
            except OSError:
                continue
            if data:
                member.offsets[stream] += len(data)
                self.reporter.output(member, stream, data)

    def _status(self, i: int, meta: Metadata) -> None:
        member = self.members[i]
        if meta.status == Status.RUNNING and not member.started:
            member.started = True
            self.reporter.started(member)
        if meta.status in TERMINAL and i in self.waiting:
            self._pump(member)
            self.waiting.discard(i)
            self.reporter.finished(member, result_of(member, meta))

    async def _account(self, *, by_us: bool = False) -> None:
        ids = [self.members[i].job_id for i in self.waiting]
        states = await anyio.to_thread.run_sync(slurm.accounting, ids)
        for i in sorted(self.waiting):
            job = (states or {}).get(self.members[i].job_id)
            if job is not None and job.ended:
                settling = functools.partial(settle, self.members[i].exp_dir, job, by_us=by_us)
                meta = await anyio.to_thread.run_sync(settling)
                self._status(i, meta)

    async def _cancel_all(self) -> None:
        """scancel every job of the run; record each one cancelled once Slurm says so (or
        after CANCEL_WAIT seconds, as cancelled by us)."""
        if not self.waiting:
            return
        await anyio.to_thread.run_sync(slurm.cancel, [m.job_id for m in self.members])
        deadline = time.monotonic() + CANCEL_WAIT
        while self.waiting and time.monotonic() < deadline:
            await anyio.sleep(0.5)
            await self._look(set(self.waiting))
            await self._account(by_us=True)
        for i in sorted(self.waiting):
            gone = slurm.JobState("CANCELLED", "CANCELLED", "None", "", "")
            settling = functools.partial(settle, self.members[i].exp_dir, gone, by_us=True)
            meta = await anyio.to_thread.run_sync(settling)
            self._status(i, meta)


def _read(exp_dir: Path) -> Metadata | None:
    try:
        return store.read_metadata(exp_dir)
    except Exception:  # noqa: BLE001  mid-write or gone: looked at again on the next change
        return None


# --- run_multiple / as_completed through Slurm ---------------------------------------------


def submission_for(
    name: str | None, options: Mapping[str, Any] | None, *, parallel: int | None, total: int
) -> Submission | None:
    """The Submission of a ``run_multiple(launcher=..., launcher_options=...)`` call, or None
    for the local launcher. Raises SpecError (a ValueError) naming the valid options."""
    try:
        choice = launchers.choose(name, options)
        if choice.local:
            return None
        grace = _supervise.default_grace()
        return Submission(choice.options, workers=parallel or total, timeout=None, grace=grace)
    except ConfigError as exc:
        raise SpecError(str(exc)) from None
