"""The jobs of ``yanex run``: the members of a sweep, the experiments they make, and the
store side (staging, the staged experiments, stale ones, the git state captured alongside).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yanex._models import Status
from yanex._store import fs, layout, store
from yanex._store.schema import Metadata
from yanex.errors import YanexError

from . import child, gitinfo, lifecycle
from .planning import Plan
from .sweep import as_named


@dataclass
class Job:
    """One experiment about to run (already in the store)."""

    exp_id: str
    exp_dir: Path
    script: Path
    script_args: list[str]
    cli_args: dict[str, Any]
    name: str | None
    index: int = 0  # position in the plan, for a summary in plan order
    legacy_params: dict[str, Any] | None = None  # params.yaml still to write, once started
    script_arg: str | None = None  # the script as the caller named it (default: ``script``)
    gpus: tuple[int, ...] = ()  # the GPU slots it holds (its CUDA_VISIBLE_DEVICES)
    retry_of: str | None = None  # the attempt it replaces
    stamp: dict[str, Any] | None = None  # sweep fields to write as it starts (staged ones)


@dataclass
class Member:
    """One member of the sweep: how to make each of its attempts."""

    index: int
    plan: child.ChildPlan
    existing: Job | None = None  # its first attempt: an experiment already stored (staged)
    retry_of: str | None = None  # resume: the attempt its first try replaces


def new_members(plan: Plan) -> list[Member]:
    """The plan's members (no record is made until one starts)."""
    return [Member(index, spec) for index, spec in enumerate(plan.children())]


def staged_members(jobs: list[Job]) -> list[Member]:
    """Staged experiments as members: each is its own first attempt."""
    return [Member(index, plan_of(job), dataclasses.replace(job, index=index))
            for index, job in enumerate(jobs)]  # fmt: skip


def plan_of(job: Job) -> child.ChildPlan:
    """What a stored experiment runs, as a plan (for a new attempt of it)."""
    meta = store.read_metadata(job.exp_dir)
    return child.ChildPlan(
        script=job.script,
        config=store.read_config(job.exp_dir),
        script_args=list(job.script_args),
        name=meta.name,
        tags=list(meta.tags),
        description=meta.description,
        project=meta.project,
        depends_on=list(meta.depends_on),
        cli_args=dict(job.cli_args),
        script_arg=job.script_arg,
    )


# --- the store side -----------------------------------------------------------------------


def mark_stale(stop: threading.Event | None = None) -> list[str]:
    """Mark every 'running' experiment whose supervisor is gone as failed; their ids.

    ``stop`` ends the scan early (the run it accompanies is over): it is housekeeping, and
    every reader already reports such experiments as failed, so a partial pass is fine.
    """
    stale = []
    for exp_dir in store.iter_experiment_dirs():
        if stop is not None and stop.is_set():
            break
        raw = fs.read_bytes(exp_dir / layout.METADATA) or b""
        if b'"running"' not in raw:  # cheap filter: most experiments are finished
            continue
        try:
            if lifecycle.mark_stale_failed(exp_dir):
                stale.append(exp_dir.name)
        except YanexError:  # an unreadable experiment is not ours to fix here
            continue
    return stale


class GitProbe:
    """The git state, captured in a thread from the moment ``yanex run`` starts.

    ``git rev-parse`` and ``git diff`` take milliseconds to tens of milliseconds; run
    beside the argument parsing and planning, they are off the path to the first child.
    """

    def __init__(self) -> None:
        self._state: list[gitinfo.GitState] = []
        self._thread = threading.Thread(target=self._capture, name="yanex-git", daemon=True)
        self._thread.start()

    def _capture(self) -> None:
        self._state.append(gitinfo.capture())

    def get(self) -> gitinfo.GitState:
        self._thread.join()
        return self._state[0] if self._state else gitinfo.capture()


def stage(plan: Plan, git: GitProbe | None = None) -> list[tuple[str, str | None]]:
    """Create the plan's experiments as staged; (id, name) of each."""
    git_state = (git or GitProbe()).get()
    out = []
    for spec in plan.children():
        exp_id, _ = child.create_record(spec, git=git_state, staged=True)
        out.append((exp_id, spec.name))
    return out


def staged_jobs() -> list[Job]:
    """The staged experiments, oldest first."""
    found = []
    for exp_dir in store.iter_experiment_dirs():
        try:
            meta = store.read_metadata(exp_dir)
        except YanexError:
            continue
        if meta.status == Status.STAGED:
            found.append((meta.created_at or "", meta, exp_dir))
    found.sort(key=lambda item: item[0])
    return [job_of(meta, exp_dir, index) for index, (_, meta, exp_dir) in enumerate(found)]


def job_of(meta: Metadata, exp_dir: Path, index: int = 0) -> Job:
    """The job that runs a stored (staged) experiment as it is."""
    return Job(
        meta.id,
        exp_dir,
        Path(meta.script_path or ""),
        list(meta.script_args),
        dict(meta.cli_args),
        meta.name,
        index,
        script_arg=as_named(meta.script_arg, meta.script_path),
    )


def staged_member(index: int, plan: child.ChildPlan, exp_dir: Path) -> Member:
    """A resumed member whose latest attempt is still staged: that experiment runs."""
    return Member(index, plan, job_of(store.read_metadata(exp_dir), exp_dir, index))


def create_job(
    spec: child.ChildPlan,
    index: int,
    *,
    git: gitinfo.GitState,
    stamp: dict[str, Any] | None = None,
    retry_of: str | None = None,
) -> Job:
    """Create ``spec``'s record now (params.yaml included) and return its job."""
    exp_id, exp_dir = child.create_record(spec, git=git, stamp=stamp)
    return Job(
        exp_id, exp_dir, spec.script, spec.script_args, spec.cli_args, spec.name, index,
        script_arg=spec.script_arg, retry_of=retry_of,
    )  # fmt: skip


def stamp_existing(job: Job, stamp: dict[str, Any]) -> None:
    """Write a sweep's fields into a stored (staged) experiment before it is submitted."""
    with store.editing_metadata(job.exp_dir) as meta:
        for key, value in stamp.items():
            setattr(meta, key, value)
