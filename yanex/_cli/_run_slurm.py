"""``yanex run --launcher slurm``: the experiments as one Slurm job array, followed live.

The records are created first (all of them: the array is submitted at once), then
``cluster.Submission`` submits them and follows their output and statuses through the same
view as a local run (``_run_view``: status lines or the progress bar, output prefixed by
the experiment's id in a sweep). The first SIGINT or SIGTERM cancels every job of the run
(``scancel``) and records each experiment cancelled; ``--detach`` returns once submitted.
"""

from __future__ import annotations

import dataclasses

import anyio
import anyio.to_thread

from yanex import _supervise
from yanex._core import child, cluster, cluster_sweep, gitinfo, planning, pool, runner, sweep
from yanex._launchers import Choice
from yanex._launchers.slurm import SubmissionError
from yanex._models import ExperimentResult
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

    def retrying(self, member: cluster.Member, replaces: str) -> None:
        """A failed member's next attempt is about to be submitted."""
        old = self.jobs[replaces]
        self.jobs[member.exp_id] = dataclasses.replace(
            old, exp_id=member.exp_id, exp_dir=member.exp_dir, retry_of=replaces
        )


def _specs(
    plan: planning.Plan | None, request: planning.Request, resume: sweep.Resume | None
) -> tuple[list[tuple[int, child.ChildPlan, str | None]], list[runner.Job | None]]:
    """((member index, plan, attempt it replaces) of each member to run, and beside each
    the staged experiment that is its own first attempt, if any)."""
    if resume is not None:
        members = _run_exec.resumed(resume)
        return list(resume.todo), [member.existing for member in members]
    if plan is None:
        staged = _run_exec.staged_jobs(request)
        from_staged: list[tuple[int, child.ChildPlan, str | None]]
        from_staged = [(i, runner.plan_of(job), None) for i, job in enumerate(staged)]
        return from_staged, list(staged)
    specs: list[tuple[int, child.ChildPlan, str | None]]
    specs = [(i, spec, None) for i, spec in enumerate(plan.children())]
    return specs, [None] * len(specs)


def _create(
    plan: planning.Plan | None,
    request: planning.Request,
    git: runner.GitProbe | None,
    resume: sweep.Resume | None,
    launcher: Choice,
) -> tuple[list[runner.Job], sweep.Info, dict[int, child.ChildPlan]]:
    """The records of every member (the array is submitted at once), in the sweep."""
    specs, staged = _specs(plan, request, resume)
    if resume is not None:
        info = sweep.info_for(resume)
    elif not specs:
        return [], sweep.Info(""), {}
    else:
        info = sweep.start(
            [spec for _, spec, _ in specs], parallel=request.parallel, timeout=request.timeout,
            launcher=launcher.name, launcher_options=launcher.options,
        )  # fmt: skip
    jobs = []
    git_state = git.get() if git is not None else gitinfo.capture()
    for (index, spec, retry_of), job in zip(specs, staged, strict=True):
        stamp = info.stamp(spec, index, retry_of)
        if job is not None:
            runner.stamp_existing(job, stamp)
            jobs.append(dataclasses.replace(job, index=index))
        else:
            jobs.append(runner.create_job(spec, index, git=git_state, stamp=stamp,
                                          retry_of=retry_of))  # fmt: skip
    return jobs, info, {index: spec for index, spec, _ in specs}


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
    """Submit the plan (or the staged experiments, or what a resumed sweep left) to Slurm
    and wait; the exit code."""
    timeout = request.timeout
    parallel = request.parallel
    if resume is not None:
        timeout = timeout if timeout is not None else resume.sweep.timeout
        parallel = parallel if parallel is not None else resume.sweep.parallel
        if not resume.todo:
            done = len(resume.sweep.members)
            _console.echo(f"Sweep {resume.sweep.id}: nothing left to run ({done} completed).")
            return 0
    total = plan.total if plan is not None else None
    workers = parallel or total or 256  # -j N: the array's parallelism
    try:
        submission = cluster.Submission(
            launcher.options, workers=workers, timeout=timeout, grace=grace
        )
        _, policy = planning.policy(request, 1)
    except ConfigError as exc:
        _console.fail(str(exc), _console.EXIT_USAGE)
    jobs, info, specs = await anyio.to_thread.run_sync(
        _create, plan, request, git, resume, launcher
    )
    if not jobs:
        _console.echo("No staged experiments to run.")
        return 0
    members = [_member(job, caller) for job in jobs]
    workers = pool.worker_count(parallel or len(jobs), len(jobs))
    if request.detach:
        try:
            await submission.submit(members)
        except SubmissionError as exc:
            _console.fail(str(exc), _console.EXIT_USAGE)
        return _detached(members, info.id)
    view = _run_view.make_view(len(jobs), workers)
    view.sweep_id = info.id
    run = runner.Run(len(jobs), workers=workers, observer=view, caller=caller, sweep=info)
    reporter = _Reporter(run, {job.exp_id: job for job in jobs})
    rounds = cluster_sweep.Rounds(submission, specs, info, policy)
    refused: list[SubmissionError] = []
    try:
        signum = await _run_exec.until_signalled(  # the first signal scancels every job
            lambda: _submit_and_follow(rounds, members, reporter, refused),
            "cancelling the Slurm jobs of this run...",
        )
    finally:
        view.close()
    if refused:
        _console.fail(str(refused[0]), _console.EXIT_USAGE)
    _run_view.summary(run, interrupted=signum is not None)
    if signum is not None:
        _run_view.resume_hint(info.id)
        return 128 + signum
    run.outcome = rounds.outcome
    if run.outcome.stopped_by is not None:
        _run_view.stopped(run, info.id)
    return 0 if run.ok and run.outcome.stopped_by is None else _console.EXIT_ERROR


def _member(job: runner.Job, caller: _supervise.Caller) -> cluster.Member:
    launch = child.script_launch(caller, job.script_arg or str(job.script), job.script_args)
    return cluster.Member(job.index, job.exp_id, job.exp_dir, job.name, launch, job.cli_args)


def _detached(members: list[cluster.Member], sweep_id: str) -> int:
    word = "experiment" if len(members) == 1 else "experiments"
    _console.echo(f"Submitted {len(members)} {word} to Slurm (detached), sweep {sweep_id}:")
    for member in members:
        label = f"  {member.name}" if member.name else ""
        _console.echo(f"  {member.exp_id}  job {member.job_id}{label}")
    _console.echo("Follow them with: yanex list -s pending -s running, yanex get status ID")
    return 0


async def _submit_and_follow(
    rounds: cluster_sweep.Rounds,
    members: list[cluster.Member],
    reporter: _Reporter,
    refused: list[SubmissionError],
) -> None:
    reporter.run.observer.begin(len(members), reporter.run.workers)
    try:
        await rounds.run(members, reporter, reporter.retrying)
    except SubmissionError as exc:
        refused.append(exc)
