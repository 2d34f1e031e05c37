"""``yanex run``: run a script (or a sweep of it, or the staged experiments) as experiments.

This module reads the command line and says what a dry run or ``--stage`` would do;
``_run_exec`` runs the experiments and handles Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

import anyio
import asyncclick as click

from yanex import _context, _supervise
from yanex._core import child, planning, resources, runner, sweep
from yanex._core.sweeps import MAX_EXPERIMENTS
from yanex._launchers import Choice
from yanex.errors import ConfigError, YanexError

from . import _console, _run_exec

EPILOG = """\b
Parameters: config files < YANEX_PARAM_<key> variables (__ nests) < --param.
Sweeps (several give their cartesian product): list(a, b)  a,b,c  range(stop)
  range(start, stop[, step])  linspace(start, stop, n)  logspace(start, stop, n)
Ctrl-C or SIGTERM stops every experiment (SIGINT, SIGTERM, then SIGKILL).

\b
Examples:
  yanex run train.py -p lr=0.01 -p model.layers=[64,128]
  yanex run train.py -c base.yaml -c prod.yaml --tag prod
  yanex run train.py -p "lr=logspace(-4,-1,4)" -p "bs=32,64" -j 2
  yanex run train.py --stage -p "seed=range(5)"   then   yanex run --staged -j 0
  yanex run train.py -p lr=0.1 -- --my-flag      (after --, everything goes to the script)
  yanex run train.py -p "seed=range(8)" --gpus 0,1 --retries 1 --fail-fast
  yanex run --resume SWEEP_ID      (rerun what that sweep did not complete)
"""


class RunCommand(click.Command):
    """``yanex run``: unknown options go to the script, but a near miss of one of its own
    options (``--dryrun``) is refused before anything runs (see ``_suggest``)."""

    async def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from ._suggest import check_run_args

        check_run_args(self, args)
        return await super().parse_args(ctx, args)


@click.command(
    "run",
    cls=RunCommand,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog=EPILOG,
)
@click.argument("script", required=False)
@click.option(
    "-c",
    "--config",
    "config",
    multiple=True,
    metavar="FILE",
    help="Config file (YAML, JSON or TOML); repeatable, merged left to right.",
)
@click.option(
    "-p",
    "--param",
    "param",
    multiple=True,
    metavar="KEY=VALUE",
    help="Parameter override, dots nest (model.lr=0.1); sweeps allowed; repeatable.",
)
@click.option("--clone-from", metavar="ID", help="Start from the parameters of experiment ID.")
@click.option("-n", "--name", help="Experiment name.")
@click.option("-t", "--tag", "tag", multiple=True, help="Tag; repeatable.")
@click.option("-d", "--description", help="Experiment description.")
@click.option("--project", help="Project name (default: the git repository's name).")
@click.option(
    "-D",
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="[SLOT=]ID[,ID]",
    help="Depend on experiment(s) (id, prefix or name); SLOT=a,b sweeps over a slot.",
)
@click.option("--dry-run", is_flag=True, help="Show the resolved parameters; run nothing.")
@click.option("--stage", is_flag=True, help="Create the experiments as staged; run nothing.")
@click.option("--staged", is_flag=True, help="Run the staged experiments (of SCRIPT, when given).")
@click.option(
    "--id", "ids", multiple=True, metavar="ID", help="Run this staged experiment; repeatable."
)
@click.option(
    "--max-experiments",
    type=int,
    metavar="N",
    help=f"Refuse a sweep of more than N experiments (default {MAX_EXPERIMENTS:,}).",
)
@click.option(
    "-j", "--parallel", type=int, metavar="N", help="Run N experiments at a time (0: one per CPU)."
)
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help="Stop an experiment after SECONDS and mark it failed.",
)
@click.option(
    "--launcher",
    metavar="NAME",
    help="Where the experiments run: local (default) or slurm (a job array, via submitit).",
)
@click.option(
    "--launcher-opt",
    "launcher_opt",
    multiple=True,
    metavar="KEY=VALUE",
    help="Launcher option (slurm: partition, timeout_min, cpus_per_task, mem_gb...); repeatable.",
)
@click.option(
    "--detach", is_flag=True, help="With --launcher slurm: submit, print the ids and return."
)
@click.option(
    "--resume",
    metavar="SWEEP_ID",
    help="Run again the members of that sweep that did not complete (new attempts).",
)
@click.option("--force", is_flag=True, help="With --resume: even if the script changed since.")
@click.option(
    "--retries", type=int, default=0, metavar="N", help="Run a failed experiment again, N times."
)
@click.option("--fail-fast", is_flag=True, help="At the first failure stop the sweep (exit 1).")
@click.option(
    "--gpus",
    metavar="IDS|auto",
    help="GPU slots to share (0,1,2,3); each experiment gets its own CUDA_VISIBLE_DEVICES.",
)
@click.option("--gpus-per-run", type=int, metavar="K", help="GPU slots per experiment (1).")
@click.option("--ignore-dirty", is_flag=True, hidden=True)
@click.pass_context
async def command(ctx: click.Context, /, **opts: Any) -> None:
    """Run SCRIPT as a tracked experiment; extra arguments go to the script's sys.argv."""
    caller = _supervise.Caller.now()  # what the script inherits, as under python
    request = _request(opts, list(ctx.args))
    if request.script_args:
        _console.note(f"script arguments: {shlex.join(request.script_args)}")
    staged_mode = request.staged or bool(request.ids)
    git = None if staged_mode or request.dry_run else runner.GitProbe()
    if not (request.dry_run or request.stage):
        _supervise.warm_up()  # the spawner's imports overlap with planning the run
        if not staged_mode:
            _prepare_early(caller, request)
    try:
        plan = planning.prepare(request)
        grace = _supervise.default_grace()
        resources.interval()  # a bad $YANEX_RESOURCE_INTERVAL: an error before anything runs
        launcher, resume = await _where(plan, request)
    except ConfigError as exc:
        _console.fail(str(exc), _console.EXIT_USAGE)
    if resume is not None and resume.cwd is not None:
        caller = dataclasses.replace(caller, cwd=resume.cwd)  # members run where it ran
    for note in plan.deps.notes if plan is not None else ():
        _console.echo(f"Warning: {note}", err=True)
    if plan is None and request.dry_run:
        _dry_run_staged(await anyio.to_thread.run_sync(_run_exec.staged_jobs, request))
        return
    if plan is not None and plan.dry_run:
        _dry_run(plan)
        return
    if plan is not None and plan.stage:
        _staged_list(await anyio.to_thread.run_sync(runner.stage, plan, git))
        return
    try:
        if not launcher.local:
            from . import _run_slurm

            code = await _run_slurm.execute(
                plan, request, grace, git, caller, launcher=launcher, resume=resume
            )
        else:
            code = await _run_exec.execute(plan, request, grace, git, caller, resume=resume)
    except BaseExceptionGroup as group:
        _raise_single(group)
        raise
    _exit_now(code)


async def _where(
    plan: planning.Plan | None, request: planning.Request
) -> tuple[Choice, sweep.Resume | None]:
    """(the launcher, the sweep to resume if --resume): a resumed sweep runs where it ran."""
    if request.resume:
        resume = await anyio.to_thread.run_sync(_load_resume, request)
        return resume.launcher, resume
    return (plan.launcher if plan is not None else planning.launcher_choice(request)), None


def _load_resume(request: planning.Request) -> sweep.Resume:
    """The sweep to resume, checked (ConfigError: unknown, still running, script changed)."""
    resume = sweep.load_resume(request.resume or "", force=request.force)
    if request.gpus is not None and not resume.launcher.local:
        raise ConfigError(planning.GPUS_ON_SLURM)
    return resume


def _prepare_early(caller: _supervise.Caller, request: planning.Request) -> None:
    """Start the first experiment's interpreter now (pool path), so that it is ready when
    its record is: planning, git and the record take longer than an interpreter's start.
    It is made for a single run (our stdin passed on); a sweep will not use it and it is
    stopped with the others at the end."""
    if any("(" in p for p in request.params) or request.config_files or request.depends_on:
        return  # probably a sweep (-p "x=list(...)", a config's sweeps, -D slot=a,b)
    if request.script and Path(request.script).is_file() and request.launcher in (None, "local"):
        early = child.script_launch(caller, request.script, request.script_args, stdin=True)
        _supervise.prepare(early, 1, ensure=True)


def _exit_now(code: int) -> NoReturn:
    """Leave at once: every child is reaped and every write done, and the interpreter's
    teardown of the ~300 modules loaded (event loop, anyio, msgspec...) costs 30 ms or more,
    a tenth of a short ``yanex run``."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _request(opts: dict[str, Any], script_args: list[str]) -> planning.Request:
    cli_args = {
        "script": opts["script"],
        "config": list(opts["config"]),
        "clone_from": opts["clone_from"],
        "param": list(opts["param"]),
        "name": opts["name"],
        "tag": list(opts["tag"]),
        "description": opts["description"],
        "depends_on": list(opts["depends_on"]),
        "dry_run": opts["dry_run"],
        "stage": opts["stage"],
        "staged": opts["staged"],
        "parallel": opts["parallel"],
        "project": opts["project"],
        "timeout": opts["timeout"],
        "env_param": _env_param_paths(),  # run-command pins their values with -p
    }
    if opts["launcher"] or opts["launcher_opt"]:  # run-command repeats them
        cli_args["launcher"] = opts["launcher"]
        cli_args["launcher_opt"] = list(opts["launcher_opt"])
    return planning.Request(
        script=opts["script"],
        script_args=script_args,
        config_files=list(opts["config"]),
        params=list(opts["param"]),
        clone_from=opts["clone_from"],
        name=opts["name"],
        tags=list(opts["tag"]),
        description=opts["description"],
        project=opts["project"],
        depends_on=list(opts["depends_on"]),
        dry_run=opts["dry_run"],
        stage=opts["stage"],
        staged=opts["staged"],
        parallel=opts["parallel"],
        timeout=opts["timeout"],
        cli_args=cli_args,
        ids=list(opts["ids"]),
        max_experiments=opts["max_experiments"],
        launcher=opts["launcher"],
        launcher_opts=list(opts["launcher_opt"]),
        detach=opts["detach"],
        resume=opts["resume"],
        force=opts["force"],
        retries=opts["retries"],
        fail_fast=opts["fail_fast"],
        gpus=opts["gpus"],
        gpus_per_run=opts["gpus_per_run"],
    )


def _env_param_paths() -> list[str]:
    """The parameter paths set by ``YANEX_PARAM_*`` variables (``a__b`` -> ``a.b``)."""
    prefix = _context.ENV_PARAM_PREFIX
    names = [n for n in os.environ if n.startswith(prefix) and len(n) > len(prefix)]
    return sorted(n[len(prefix) :].replace("__", ".") for n in names)


def _dry_run(plan: planning.Plan) -> None:
    import json

    word = "experiment" if plan.total == 1 else "experiments"
    _console.echo(f"Dry run: {plan.total} {word} would run (nothing was created)")
    _console.echo(f"  script: {plan.template.script}")
    for i, spec in enumerate(plan.children(), 1):
        label = f" {spec.name}" if spec.name else ""
        _console.echo(f"  [{i}/{plan.total}]{label}")
        _console.echo(f"    params: {json.dumps(spec.config, default=str)}")
        if spec.depends_on:
            _console.echo(f"    depends on: {' '.join(spec.depends_on)}")


def _dry_run_staged(jobs: list[runner.Job]) -> None:
    _console.echo(f"Dry run: {len(jobs)} staged experiment(s) would run")
    for job in jobs:
        _console.echo(f"  {job.exp_id}  {job.name or ''}".rstrip())


def _staged_list(created: list[tuple[str, str | None]]) -> None:
    word = "experiment" if len(created) == 1 else "experiments"
    _console.echo(f"Staged {len(created)} {word}:")
    for exp_id, name in created:
        _console.echo(f"  {exp_id}  {name or ''}".rstrip())
    _console.echo("Run them with: yanex run --staged [-j N]")


def _raise_single(group: BaseExceptionGroup[Any]) -> None:
    """Re-raise a task group's yanex or OS error alone, so the CLI shows one line."""
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for sub in exc.exceptions:
                collect(sub)
        else:
            leaves.append(exc)

    collect(group)
    for leaf in leaves:
        if isinstance(leaf, YanexError | KeyboardInterrupt | SystemExit):
            raise leaf from None
        if isinstance(leaf, OSError):
            _console.fail(str(leaf))
