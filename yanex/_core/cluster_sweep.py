"""A sweep's retries and fail-fast on Slurm: rounds of job arrays (``cluster.Submission``).

The local pool retries a member in the worker that ran it; on a cluster every member of a
round is submitted at once, so retries go by rounds: once a round's jobs have all ended,
its failed members (not the cancelled ones) are created again, each a new experiment with
``retry_of`` naming the failed one, and submitted as the next round's job array, up to
``retries`` rounds more. With fail-fast, the first member that fails for good (in the last
round it could be tried in) cancels the round's wait, which scancels every job still queued
or running and records them cancelled; no round follows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from yanex import _supervise
from yanex._models import ExperimentResult, Status

from . import child, cluster, echo, gitinfo, pool
from . import sweep as sweeps

OnNew = Callable[[cluster.Member, str], None]  # (a retry's member, the id it replaces)


class _Watch(cluster.Reporter):
    """Passes everything on to the run's reporter; notes failures, stops on one if told."""

    def __init__(self, inner: cluster.Reporter, *, stop_on_failure: bool) -> None:
        self.inner, self.stop_on_failure = inner, stop_on_failure
        self.failed: list[cluster.Member] = []
        self.stopped_by: str | None = None
        self.scope = anyio.CancelScope()

    def started(self, member: cluster.Member) -> None:
        self.inner.started(member)

    def output(self, member: cluster.Member, stream: str, chunk: bytes) -> None:
        self.inner.output(member, stream, chunk)

    def finished(self, member: cluster.Member, result: ExperimentResult) -> None:
        self.inner.finished(member, result)
        if result.status != Status.FAILED:
            return
        self.failed.append(member)
        if self.stop_on_failure and self.stopped_by is None:
            self.stopped_by = member.exp_id
            self.scope.cancel()  # the wait scancels the rest and records them cancelled


@dataclass
class Rounds:
    """Runs a cluster sweep's members under ``policy`` (its retries and fail-fast)."""

    submission: cluster.Submission
    plans: Mapping[int, child.ChildPlan]  # member index -> what each attempt runs
    sweep: sweeps.Info
    policy: pool.Policy = field(default_factory=pool.Policy)
    outcome: pool.Outcome = field(default_factory=pool.Outcome)

    async def run(
        self,
        members: Sequence[cluster.Member],
        reporter: cluster.Reporter,
        on_new: OnNew | None = None,
    ) -> None:
        """Submit ``members`` (created), follow them, and retry the failed ones by rounds;
        ``on_new`` is told of each retry's member before it is submitted."""
        git: gitinfo.GitState | None = None
        for number in range(self.policy.retries + 1):
            last = number == self.policy.retries
            watch = _Watch(reporter, stop_on_failure=self.policy.fail_fast and last)
            await self.submission.submit(members)
            with watch.scope:
                await self.submission.follow(members, watch)
            if watch.stopped_by is not None:
                self.outcome.stopped_by = watch.stopped_by
                return
            if last or not watch.failed:
                return
            if git is None:
                git = await anyio.to_thread.run_sync(gitinfo.capture)
            with anyio.CancelScope(shield=True):  # created records must get submitted
                members = await anyio.to_thread.run_sync(self._again, watch.failed, git)
            for old, new in zip(watch.failed, members, strict=True):
                self.outcome.retried.append(old.exp_id)
                if on_new is not None:
                    on_new(new, old.exp_id)

    def _again(
        self, failed: Sequence[cluster.Member], git: gitinfo.GitState
    ) -> list[cluster.Member]:
        """A new experiment for each failed member, replacing it (``retry_of``)."""
        out = []
        for old in failed:
            plan = self.plans[old.index]
            stamp = self.sweep.stamp(plan, old.index, old.exp_id)
            exp_id, exp_dir = child.create_record(plan, git=git, stamp=stamp)
            out.append(
                cluster.Member(old.index, exp_id, exp_dir, old.name, old.launch, old.cli_args)
            )
        return out


# --- run_multiple / as_completed through Slurm ---------------------------------------------


class _BatchReporter(cluster.Reporter):
    """Progress lines (``echo.Progress``) and, when verbose, the output tagged by id."""

    def __init__(self, total: int, verbose: bool, on_result: Callable[[int, Any], None]) -> None:
        self.progress = echo.Progress(total, verbose=verbose)
        self.verbose, self.on_result = verbose, on_result
        self.echoes: dict[tuple[str, str], _supervise.LineSink] = {}

    def output(self, member: cluster.Member, stream: str, chunk: bytes) -> None:
        if not self.verbose:
            return
        key = (member.exp_id, stream)
        if key not in self.echoes:
            prefix = f"[{member.exp_id}] ".encode()
            self.echoes[key] = _supervise.LineSink(echo.TerminalSink(stream), prefix=prefix)
        self.echoes[key](chunk)

    def finished(self, member: cluster.Member, result: ExperimentResult) -> None:
        for stream in ("stdout", "stderr"):
            sink = self.echoes.pop((member.exp_id, stream), None)
            if sink is not None:
                sink.flush()
        self.progress.finished(result)
        self.on_result(member.index, result)


async def run_batch(
    rounds: Rounds,
    launches: Sequence[_supervise.Launch],
    verbose: bool,
    on_result: Callable[[int, Any], None],
) -> None:
    """Create every plan's record (in the sweep), submit them as one job array and wait
    for them, retrying and stopping as ``rounds.policy`` says."""
    git = await anyio.to_thread.run_sync(gitinfo.capture)
    plans = rounds.plans

    def create() -> list[cluster.Member]:
        members = []
        for index, launch in enumerate(launches):
            plan = plans[index]
            stamp = rounds.sweep.stamp(plan, index, None)
            exp_id, exp_dir = child.create_record(plan, git=git, stamp=stamp)
            members.append(cluster.Member(index, exp_id, exp_dir, plan.name, launch, plan.cli_args))
        return members

    with anyio.CancelScope(shield=True):
        members = await anyio.to_thread.run_sync(create)

    def tell(index: int, result: ExperimentResult) -> None:
        on_result(index, dataclasses.replace(result, sweep_id=rounds.sweep.id))

    reporter = _BatchReporter(len(members), verbose, tell)
    interrupted = True
    try:
        await rounds.run(members, reporter)
        interrupted = False
    finally:
        reporter.progress.close(interrupted=interrupted)
