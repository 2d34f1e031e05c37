"""``yanex run --launcher slurm``: the experiments as one Slurm job array, followed live.

The records are created first (all of them: the array is submitted at once), then
``cluster.Submission`` submits them and follows their output and statuses through the same
view as a local run (``_run_view``: status lines or the progress bar, output prefixed by
the experiment's id in a sweep). The first SIGINT or SIGTERM cancels every job of the run
(``scancel``) and records each experiment cancelled; ``--detach`` returns once submitted.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread

from yanex import _supervise
from yanex._core import child, cluster, planning, pool, runner, sweep
from yanex._launchers import Choice
from yanex._launchers.slurm import SubmissionError
from yanex._models import ExperimentResult
from yanex._store import store
from yanex.errors import ConfigError

from . import _console, _run_exec, _run_view


class _Reporter(cluster.Reporter):
    """Passes what the jobs do to the run's view, as a local run's children would."""

    def __init__(self, run: runner.Run, jobs: dict[str, runner.Job]) -> None:
        self.run, self.jobs = run, jobs
        self.sinks: dict[tuple[str, str], list[_supervise.Sink]] = {}

    def started(self, member: cluster.Member) -> None:
        self.run.started += 1
        self.run.observer.started(self.jobs[member.exp_id])

    def output(self, member: cluster.Member, stream: str, chunk: bytes) -> None:
        key = (member.exp_id, stream)
        if key not in self.sinks:
            self.sinks[key] = self.run.observer.sinks(self.jobs[member.exp_id], stream)
        for sink in self.sinks[key]:
            sink(chunk)

    def finished(self, member: cluster.Member, result: ExperimentResult) -> None:
        if not member.started:  # ended before it ran (cancelled while queued)
            self.run.started += 1
        self.run._done(self.jobs[member.exp_id], result)


def _create(plan: planning.Plan | None, request: planning.Request, git: Any) -> list[runner.Job]:
    if plan is None:
        return _run_exec.staged_jobs(request)
    jobs = [make() for make in runner.new_jobs(plan, git)]
    for job in jobs:  # params.yaml, which a local run writes once its child starts
        if job.legacy_params is not None:
            store.write_legacy_params(job.exp_dir, job.legacy_params)
    return jobs


async def execute(
    plan: planning.Plan | None,
    request: planning.Request,
    grace: float,
    git: runner.GitProbe | None,
    caller: _supervise.Caller,
    *,
    launcher: Choice,
    resume: sweep.Resume | None = None,
) -> int:
    """Submit the plan (or the staged experiments) to Slurm and wait; the exit code."""
    total = plan.total if plan is not None else None
    workers = request.parallel or total or 256  # -j N: the array's parallelism
    try:
        submission = cluster.Submission(
            launcher.options, workers=workers, timeout=request.timeout, grace=grace
        )
    except ConfigError as exc:
        _console.fail(str(exc), _console.EXIT_USAGE)
    jobs = await anyio.to_thread.run_sync(_create, plan, request, git)
    if not jobs:
        _console.echo("No staged experiments to run.")
        return 0
    members = [
        cluster.Member(
            job.index,
            job.exp_id,
            job.exp_dir,
            job.name,
            child.script_launch(caller, job.script_arg or str(job.script), job.script_args),
            job.cli_args,
        )
        for job in jobs
    ]
    workers = pool.worker_count(request.parallel or len(jobs), len(jobs))
    if request.detach:
        try:
            await submission.submit(members)
        except SubmissionError as exc:
            _console.fail(str(exc), _console.EXIT_USAGE)
        return _detached(members)
    view = _run_view.make_view(len(jobs), workers)
    run = runner.Run(len(jobs), workers=workers, observer=view, caller=caller)
    reporter = _Reporter(run, {job.exp_id: job for job in jobs})
    refused: list[SubmissionError] = []
    try:
        signum = await _run_exec.until_signalled(  # the first signal scancels every job
            lambda: _submit_and_follow(submission, members, reporter, refused),
            "cancelling the Slurm jobs of this run...",
        )
    finally:
        view.close()
    if refused:
        _console.fail(str(refused[0]), _console.EXIT_USAGE)
    _run_view.summary(run, interrupted=signum is not None)
    if signum is not None:
        return 128 + signum
    return 0 if run.ok else _console.EXIT_ERROR


def _detached(members: list[cluster.Member]) -> int:
    word = "experiment" if len(members) == 1 else "experiments"
    _console.echo(f"Submitted {len(members)} {word} to Slurm (detached):")
    for member in members:
        label = f"  {member.name}" if member.name else ""
        _console.echo(f"  {member.exp_id}  job {member.job_id}{label}")
    _console.echo("Follow them with: yanex list -s pending -s running, yanex get status ID")
    return 0


async def _submit_and_follow(
    submission: cluster.Submission,
    members: list[cluster.Member],
    reporter: _Reporter,
    refused: list[SubmissionError],
) -> None:
    try:
        await submission.submit(members)
    except SubmissionError as exc:
        refused.append(exc)
        return
    reporter.run.observer.begin(len(members), reporter.run.workers)
    await submission.follow(members, reporter)
