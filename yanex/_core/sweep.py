"""Sweep identity and resume: the record of one ``yanex run`` / ``run_multiple`` call.

Each call gets a sweep id (``_store/sweeps.py``) and writes, before its first member starts,
what every member runs (script, parameters, script arguments, dependencies, name, tags) and
how (``-j``, timeout, launcher), with a SHA-256 of each script file. Every experiment it
starts carries ``sweep_id``, ``sweep_index`` (its member) and, for a second attempt,
``retry_of`` (the attempt it replaces). Members are not created ahead of their start, so a
member that never started has no experiment at all: only the record knows it.

``to_resume`` reads that back: a member whose latest attempt completed is done; any other
(failed, cancelled, left "running" or "created" by a supervisor that died, or never
started) is run again, as a new experiment with ``retry_of`` naming its latest attempt.
"""

from __future__ import annotations

import copy
import hashlib
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yanex import _launchers as launchers
from yanex._models import Status
from yanex._records import Record
from yanex._store import layout, store
from yanex._store import sweeps as records
from yanex._store.clock import now_iso, to_unix
from yanex._store.schema import Sweep, SweepMember
from yanex.errors import ConfigError

from . import child, lifecycle

LIVE = frozenset({Status.RUNNING, Status.PENDING})


def script_sha256(path: Path | str) -> str | None:
    """The SHA-256 of the script file; None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


# What a member and a plan both hold, copied as they are (the script is a str in one, a
# Path in the other, and the name it was given is checked again on the way back).
_SAME = ("config", "script_args", "name", "tags", "description", "project", "depends_on",
         "cli_args")  # fmt: skip


def _copies(source: object) -> dict[str, Any]:
    return {key: copy.copy(getattr(source, key)) for key in _SAME}


def to_member(plan: child.ChildPlan) -> SweepMember:
    return SweepMember(script=str(plan.script), script_arg=plan.script_arg, **_copies(plan))


def to_plan(member: SweepMember, cwd: str | None = None) -> child.ChildPlan:
    """What ``member`` runs; its script as named, if that reaches it from ``cwd``."""
    return child.ChildPlan(
        script=Path(member.script),
        script_arg=as_named(member.script_arg, member.script, cwd),
        **_copies(member),
    )


def as_named(script_arg: str | None, script: str | None, cwd: str | None = None) -> str | None:
    """The script as the caller named it, if that name still reaches the same file from
    here, or ``cwd`` (python gets it as named); else None: its absolute path is used."""
    if not script_arg or not script:
        return None
    try:
        named = Path(cwd or ".", script_arg).resolve()
        return script_arg if named == Path(script).resolve() else None
    except OSError:
        return None


@dataclass
class Info:
    """A sweep being run: its id and the script hashes its experiments record."""

    id: str
    hashes: dict[str, str] = field(default_factory=dict)

    def stamp(
        self, plan: child.ChildPlan, index: int, retry_of: str | None, gpus: Sequence[int] = ()
    ) -> dict[str, Any]:
        """The sweep fields of one attempt's metadata."""
        return {
            "sweep_id": self.id,
            "sweep_index": index,
            "retry_of": retry_of,
            "script_sha256": self.hashes.get(str(plan.script)),
            "gpus": list(gpus) or None,
        }


def start(
    plans: Sequence[child.ChildPlan],
    *,
    kind: str = "run",
    parallel: int | None = None,
    timeout: float | None = None,
    launcher: str | None = None,
    launcher_options: dict[str, Any] | None = None,
    gpus: tuple[Sequence[int], int] | None = None,
) -> Info:
    """Reserve a sweep id and write the sweep's record (every member); its ``Info``."""
    hashes = {}
    for script in dict.fromkeys(str(plan.script) for plan in plans):
        digest = script_sha256(script)
        if digest is not None:
            hashes[script] = digest
    sweep = Sweep(
        id=records.new_sweep_id(),
        created_at=now_iso(),
        kind=kind,
        members=[to_member(plan) for plan in plans],
        script_sha256=hashes,
        parallel=parallel,
        timeout=timeout,
        launcher=launcher,
        launcher_options=dict(launcher_options or {}),
        cwd=str(Path.cwd()),
        gpus=None if gpus is None else list(gpus[0]),
        gpus_per_run=None if gpus is None else gpus[1],
    )
    records.write(sweep)
    return Info(sweep.id, hashes)


# --- reading sweeps back ------------------------------------------------------------------


def resolve_id(ref: str) -> str:
    """The full sweep id for ``ref`` (an id or a unique prefix); ConfigError otherwise."""
    key = ref.strip().lower()
    if not records.SWEEP_ID_RE.match(key):
        raise ConfigError(f"unknown sweep id {ref!r} (a sweep id is 8 hex digits)")
    found = [sweep_id for sweep_id in records.ids() if sweep_id.startswith(key)]
    found = [sweep_id for sweep_id in found if records.read(sweep_id) is not None]
    if not found:
        raise ConfigError(f"unknown sweep id {ref!r}: no sweep with that id in {_store()}")
    if len(found) > 1:
        raise ConfigError(f"sweep id {ref!r} is ambiguous: {', '.join(found[:5])}")
    return found[0]


def _store() -> str:
    return str(layout.experiments_dir())


def latest(recs: Iterable[Record]) -> list[Record]:
    """The latest attempt of each member among ``recs`` (the records of one sweep): every
    record that no other one replaces (``retry_of``)."""
    recs = list(recs)
    replaced = {rec.summary.retry_of for rec in recs if rec.summary.retry_of}
    return [rec for rec in recs if rec.id not in replaced]


@dataclass
class Resume:
    """What ``--resume`` runs: (member index, plan, attempt it replaces) of each member left."""

    sweep: Sweep
    todo: list[tuple[int, child.ChildPlan, str | None]]
    changed: list[str] = field(default_factory=list)  # scripts whose file changed or is gone
    cwd: str | None = None  # where the sweep ran, if that directory still exists
    staged: dict[int, str] = field(default_factory=dict)  # member -> its staged experiment

    @property
    def launcher(self) -> launchers.Choice:
        """Where the sweep ran (its members run there again)."""
        return launchers.choose(self.sweep.launcher, self.sweep.launcher_options)


def to_resume(sweep_id: str, recs: Iterable[Record]) -> Resume:
    """The members of sweep ``sweep_id`` that did not complete (see the module docstring).

    ``recs``: the store's records of that sweep (settled: stale ones read failed). A member
    still running under a live supervisor raises ConfigError: resume it once that ends.
    """
    sweep = records.read(sweep_id)
    if sweep is None:
        raise ConfigError(f"unknown sweep id {sweep_id!r}")
    by_index: dict[int, Record] = {}
    for rec in latest(recs):
        index = rec.summary.sweep_index
        if index is None:
            continue
        held = by_index.get(index)
        if held is None or rec.created > held.created:
            by_index[index] = rec
    live = [rec.id for rec in by_index.values() if rec.status in LIVE]
    if live:
        raise ConfigError(
            f"sweep {sweep_id} is still running ({', '.join(live[:3])}): "
            "resume it once its yanex run has ended"
        )
    todo: list[tuple[int, child.ChildPlan, str | None]] = []
    staged: dict[int, str] = {}
    for index, member in enumerate(sweep.members):
        last = by_index.get(index)
        if last is not None and last.status == Status.STAGED:  # never started: it runs
            staged[index] = last.id
            todo.append((index, to_plan(member, sweep.cwd), None))
        elif last is None or last.status != Status.COMPLETED:
            todo.append((index, to_plan(member, sweep.cwd), last.id if last is not None else None))
    changed = [
        script
        for script in dict.fromkeys(str(plan.script) for _, plan, _ in todo)
        if script_sha256(script) != sweep.script_sha256.get(script)
    ]
    return Resume(sweep, todo, changed, staged=staged)


def load_resume(ref: str, *, force: bool = False) -> Resume:
    """What ``yanex run --resume ref`` runs; ConfigError for an unknown sweep, a member still
    running, or (without ``force``) a script whose file changed or is gone since."""
    from . import query
    from .filters import Filters

    sweep_id = resolve_id(ref)
    recs = query.select(Filters(sweep_id=sweep_id, archived=None)).records
    recs = [rec for rec in recs if rec.summary.sweep_id == sweep_id]
    for rec in recs:
        if rec.status == Status.RUNNING and _before_boot(rec):
            rec.status = Status.FAILED
    resume = to_resume(sweep_id, recs)
    if resume.sweep.cwd and Path(resume.sweep.cwd).is_dir():
        resume.cwd = resume.sweep.cwd
    gone = [script for script in resume.changed if not Path(script).is_file()]
    if gone:
        raise ConfigError(f"sweep {sweep_id}: its script {gone[0]} is gone")
    if resume.changed and not force:
        raise ConfigError(
            f"sweep {sweep_id}: {resume.changed[0]} changed since the sweep ran "
            "(--force resumes it with the script as it is now)"
        )
    return resume


def _before_boot(rec: Record) -> bool:
    """A 'running' experiment of this machine that started before it last booted (its pid
    may since belong to another process): recorded failed, and True."""
    import psutil

    meta = store.read_metadata(rec.dir)
    last = to_unix(meta.heartbeat_at or meta.started_at)
    if meta.launcher == "slurm" or meta.host != socket.gethostname() or last is None:
        return False
    booted = psutil.boot_time()
    if last >= booted:
        return False
    when = datetime.fromtimestamp(booted, UTC).isoformat(timespec="seconds")
    message = f"the machine restarted ({when}) while it was running"
    lifecycle.finish(rec.dir, Status.FAILED, message=message)
    return True


def info_for(resume: Resume) -> Info:
    """The ``Info`` of a resumed sweep; with a changed script (``--force``) its record now
    holds the new hash, which the new attempts record too."""
    sweep = resume.sweep
    for script in resume.changed:
        digest = script_sha256(script)
        if digest is not None:
            sweep.script_sha256[script] = digest
    if resume.changed:
        records.write(sweep)
    return Info(sweep.id, dict(sweep.script_sha256))
