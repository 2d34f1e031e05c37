"""Plans ``yanex run``: checks a request and turns it into the experiments it will make.

``prepare()`` does every check that can fail on bad input (script, parameters, sweeps,
config files, dependencies, flag combinations) and writes nothing, so a mistake never
leaves a half-made experiment behind. ``Plan.children()`` then yields the experiments one
at a time, for ``runner`` to stage or run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yanex import _launchers as launchers
from yanex._launchers import Choice
from yanex.errors import ConfigError

from . import child, depspec, params, pool, slots, sweeps

SWEEP_TAG = "sweep"


@dataclass
class Request:
    """The ``yanex run`` flags, as given."""

    script: str | None = None
    script_args: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    clone_from: str | None = None
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    project: str | None = None
    depends_on: list[str] = field(default_factory=list)
    dry_run: bool = False
    stage: bool = False
    staged: bool = False
    parallel: int | None = None
    timeout: float | None = None
    cli_args: dict[str, Any] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)  # --id: staged experiments to run
    max_experiments: int | None = None  # refuse a bigger plan (default sweeps.MAX_EXPERIMENTS)
    launcher: str | None = None  # --launcher (default: the config's, else local)
    launcher_opts: list[str] = field(default_factory=list)  # --launcher-opt KEY=VALUE
    detach: bool = False  # --detach: submit to the cluster and return
    resume: str | None = None  # --resume SWEEP_ID: rerun the members that did not complete
    force: bool = False  # --force: resume even though a script changed since the sweep
    retries: int = 0  # --retries N: run a failed member again up to N times
    fail_fast: bool = False  # --fail-fast: stop the sweep at its first failure
    gpus: str | None = None  # --gpus 0,1,2,3 | auto
    gpus_per_run: int | None = None  # --gpus-per-run K (default 1)


@dataclass
class Plan:
    """What ``yanex run`` will do. ``children()`` yields the experiments lazily."""

    template: child.ChildPlan
    params: dict[str, Any]
    total: int
    sweep: bool
    dry_run: bool = False
    stage: bool = False
    deps: depspec.DependencyPlan = field(default_factory=depspec.DependencyPlan)
    launcher: Choice = field(default_factory=Choice)

    def children(self) -> Iterator[child.ChildPlan]:
        for depends_on, dep_swept in self.deps.points():  # -D slot=a,b sweeps, outermost
            base = self.template.name
            if dep_swept:
                label = depspec.point_label(dep_swept)
                base = f"{base}-{label}" if base else label
            for point, swept in sweeps.expand(self.params):
                plan = child.ChildPlan(**{**vars(self.template), "config": point})
                plan.tags = list(self.template.tags)
                plan.depends_on = depends_on
                plan.name = sweeps.point_name(base, swept) if swept else base
                yield plan


def prepare(req: Request) -> Plan | None:
    """Check the request and plan its experiments; None for ``--staged`` and ``--resume``.
    Writes nothing."""
    _check_flags(req)
    _check_sweep_flags(req)
    if req.staged or req.ids or req.resume:
        return None
    script = _check_script(req.script)
    resolved = params.resolve(
        config_files=[Path(p) for p in req.config_files],
        overrides=req.params,
        clone_from=req.clone_from,
    )
    defaults = resolved.run_defaults
    stage = req.stage or bool(defaults.get("stage", False))
    if stage and req.parallel is not None:
        raise ConfigError(
            "--parallel cannot be used with --stage: stage first, then run "
            "'yanex run --staged --parallel N'"
        )
    deps = depspec.plan(req.depends_on, staging=stage)  # resolved now: ids, not names
    total = sweeps.count(resolved.params) * deps.count
    sweeps.check_limit(total, req.max_experiments)
    sweep = bool(sweeps.sweep_paths(resolved.params)) or deps.swept
    tags = list(req.tags) or list(defaults.get("tag", []))
    if sweep and SWEEP_TAG not in tags:
        tags.append(SWEEP_TAG)
    template = child.ChildPlan(
        script=script,
        script_arg=req.script,
        script_args=list(req.script_args),
        name=req.name if req.name is not None else defaults.get("name"),
        tags=tags,
        description=req.description if req.description is not None else defaults.get("description"),
        project=req.project if req.project is not None else defaults.get("project"),
        cli_args=dict(req.cli_args),
    )
    dry_run = req.dry_run or bool(defaults.get("dry_run", False))
    plan = Plan(template, resolved.params, total, sweep, dry_run=dry_run, stage=stage, deps=deps)
    plan.launcher = launcher_choice(req, defaults.get("launcher"))
    if req.gpus is not None and not plan.launcher.local:
        raise ConfigError(GPUS_ON_SLURM)
    policy(req, total)  # a bad --gpus / -j is refused before anything is made
    return plan


GPUS_ON_SLURM = (
    "--gpus is for the local launcher: on Slurm, Slurm assigns the GPUs "
    "(--launcher-opt gpus_per_node=K)"
)


def policy(
    req: Request,
    total: int,
    parallel: int | None = None,
    gpus_before: tuple[list[int], int] | None = None,
) -> tuple[int, pool.Policy]:
    """(workers, the pool's policy) for running ``total`` experiments as ``req`` says:
    ``-j`` (or ``parallel``, a resumed sweep's) bounded by the GPU slots (``--gpus``, or
    ``gpus_before``, the slots a resumed sweep shared); ConfigError for a bad ``--gpus`` or a
    ``-j`` the slots cannot serve."""
    gpus = None
    if req.gpus is not None:
        ids = slots.parse(req.gpus)
        per_run = slots.check_per_run(req.gpus_per_run or 1, ids)
        parallel = slots.workers(req.parallel, ids, per_run)
        gpus = slots.Slots(ids, per_run)
    elif gpus_before is not None:
        ids, per_run = gpus_before
        parallel = slots.workers(req.parallel if req.parallel is not None else parallel, ids,
                                 per_run)  # fmt: skip
        gpus = slots.Slots(ids, per_run)
    else:
        parallel = req.parallel if req.parallel is not None else parallel
    workers = pool.worker_count(parallel, total)
    return workers, pool.Policy(retries=req.retries, fail_fast=req.fail_fast, gpus=gpus)


def _check_sweep_flags(req: Request) -> None:
    if req.retries < 0:
        raise ConfigError("--retries must be 0 or a positive number")
    if req.gpus_per_run is not None and req.gpus is None:
        raise ConfigError("--gpus-per-run goes with --gpus (the GPU slots to share)")
    if req.gpus is not None and req.launcher not in (None, "local"):
        raise ConfigError(GPUS_ON_SLURM)
    if req.force and not req.resume:
        raise ConfigError(
            "--force goes with --resume (a sweep whose script changed); "
            "for the script's own --force, put it after --"
        )
    running = (("--retries", req.retries), ("--fail-fast", req.fail_fast), ("--gpus", req.gpus))
    given = [flag for flag, value in running if value]
    if req.stage and given:
        raise ConfigError(f"{given[0]} applies when experiments run: give it to yanex run --staged")
    if req.resume:
        _check_resume_flags(req)


def _check_resume_flags(req: Request) -> None:
    given = [
        flag
        for flag, value in (
            ("SCRIPT", req.script),
            ("--config", req.config_files),
            ("--param", req.params),
            ("--clone-from", req.clone_from),
            ("-D/--depends-on", req.depends_on),
            ("--stage", req.stage),
            ("--staged", req.staged),
            ("--id", req.ids),
            ("--dry-run", req.dry_run),
            ("--launcher", req.launcher),
            ("--launcher-opt", req.launcher_opts),
            ("--name", req.name),
            ("--tag", req.tags),
        )
        if value
    ]
    if given:
        raise ConfigError(f"--resume reruns the sweep's members as they were: drop {given[0]}")


def launcher_choice(req: Request, configured: dict[str, Any] | None = None) -> Choice:
    """Where the experiments run: ``--launcher``/``--launcher-opt`` over the config file's
    ``yanex.launcher`` mapping; ConfigError for an unknown launcher or option, or a value of
    the wrong type (before anything is created)."""
    from_file = dict(configured or {})
    name = req.launcher or from_file.pop("name", None)
    if req.launcher is not None and req.launcher != "slurm":
        from_file = {}  # the file's options are for its own launcher
    given = launchers.parse_pairs(req.launcher_opts)
    typed = launchers.choose(name, given, text=True).options
    choice = launchers.choose(name, {**from_file, **typed})
    if req.detach and choice.local:
        raise ConfigError("--detach needs a cluster launcher (--launcher slurm)")
    return choice


def _check_flags(req: Request) -> None:
    if req.stage and req.staged:
        raise ConfigError("--stage and --staged cannot be used together")
    if req.parallel is not None and req.parallel < 0:
        raise ConfigError("--parallel must be 0 (one per CPU) or a positive number")
    if req.timeout is not None and not req.timeout > 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    if req.ids and (req.stage or req.script):
        raise ConfigError("--id runs a staged experiment as it is: drop the script and --stage")
    if req.max_experiments is not None and req.max_experiments < 1:
        raise ConfigError("--max-experiments must be a positive number")
    if req.staged or req.ids:  # SCRIPT --staged: that script's staged experiments
        given = [
            flag
            for flag, value in (
                ("--config", req.config_files),
                ("--param", req.params),
                ("--clone-from", req.clone_from),
                ("-D/--depends-on", req.depends_on),
            )
            if value
        ]
        if given:
            flag = "--id" if req.ids else "--staged"
            raise ConfigError(f"{flag} runs the staged experiments as they are: drop {given[0]}")


def _check_script(script: str | None) -> Path:
    if not script:
        raise ConfigError("missing script: yanex run SCRIPT [ARGS]... (or yanex run --staged)")
    path = Path(script)
    if not path.is_file():
        raise ConfigError(f"script not found: {script}")
    if path.suffix != ".py":
        raise ConfigError(f"script must be a Python file (.py): {script}")
    return path.resolve()
