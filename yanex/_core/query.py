"""Finding experiments: the store scan, ordering, and selection by id, prefix or name.

A listing reads every ``metadata.json`` (as a ``summaries.Summary``), which takes about
0.1 s for 10,000 experiments on a warm disk cache; there is no index (see ``summaries``
for why). An experiment folder whose ``metadata.json`` is corrupt, or missing for longer
than a creation takes, is reported as a broken ``Problem``; it never stops a listing. A
'created' or 'running' experiment that nothing runs any more is recorded as failed, with
the reason, when it is read (``lifecycle.mark_stale_failed``).

Selection (``resolve``) takes a full id, a unique id prefix or an exact name, in that order.
What a listing keeps is decided by ``filters.Filters``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

import msgspec

from yanex._models import Status
from yanex._records import Problem as Problem  # noqa: PLC0414 (re-export: query.Problem)
from yanex._records import Record as Record  # noqa: PLC0414 (re-export: query.Record)
from yanex._store import layout, store
from yanex._store.schema import Metadata
from yanex.errors import (
    AmbiguousExperimentError,
    ConfigError,
    CorruptFileError,
    ExperimentNotFoundError,
    InvalidReferenceError,
    StorageError,
    YanexError,
)

from . import lifecycle
from .filters import Filters
from .summaries import Summary, sort_key
from .summaries import read as read_summary


@dataclass
class Selection:
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --- reading the store --------------------------------------------------------------------


def root_dir(root: Path | None = None) -> Path:
    return root or layout.experiments_dir()


def _bases(root: Path, archived: bool | None) -> list[tuple[str, bool]]:
    bases = []
    if archived is not True:
        bases.append((str(root), False))
    if archived is not False:
        bases.append((str(layout.archive_dir(root)), True))
    return bases


def _ids_in(base: str) -> list[str]:
    try:
        with os.scandir(base) as entries:
            return [e.name for e in entries if layout.ID_RE.match(e.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


BROKEN_AFTER = 30.0  # seconds a folder may lack metadata.json while it is being created


def load_record(base: str, exp_id: str, archived: bool) -> Record | None:
    """The record of ``base/exp_id``; None when there is no such folder, or when it holds no
    metadata yet because it is still being created.

    Raises CorruptFileError when its metadata is unreadable, or missing from a folder older
    than ``BROKEN_AFTER`` (deleted, or its creation was cut short).
    """
    summary = read_summary(f"{base}/{exp_id}/{layout.METADATA}")
    if summary is None:
        _check_missing_metadata(Path(base, exp_id))
        return None
    status = summary.status
    if status in (Status.RUNNING, Status.CREATED, Status.PENDING):
        summary, status = _settle(Path(base, exp_id), summary)
    created = sort_key(summary.created_at or summary.started_at)
    return Record(exp_id, base, archived, summary, status, created)


def _check_missing_metadata(exp_dir: Path) -> None:
    try:
        age = time.time() - exp_dir.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError):
        return
    if age > BROKEN_AFTER and exp_dir.is_dir():
        raise CorruptFileError(
            f"no metadata.json in {exp_dir} (deleted, or its creation was "
            "cut short); its other files are still there"
        )


def _settle(exp_dir: Path, summary: Summary) -> tuple[Summary, str]:
    """(summary, status) of a 'created' or 'running' experiment: one that nothing runs any
    more is recorded as failed with its reason first (and reported so, reason included,
    when that write cannot be made, as in a read-only store)."""
    try:
        meta = store.read_metadata(exp_dir)
    except StorageError:
        return summary, summary.status
    if meta.launcher == "slurm" and _settled_by_slurm(exp_dir, meta):
        fresh = read_summary(str(exp_dir / layout.METADATA))
        if fresh is not None:
            return fresh, fresh.status
    if not lifecycle.is_stale(meta):
        return summary, summary.status
    try:
        lifecycle.mark_stale_failed(exp_dir)
        fresh = read_summary(str(exp_dir / layout.METADATA))
    except (StorageError, OSError):
        fresh = None
    if fresh is None:
        reason = lifecycle.stale_reason(meta, exp_dir)
        return msgspec.structs.replace(summary, error_message=reason), Status.FAILED
    return fresh, fresh.status


def _settled_by_slurm(exp_dir: Path, meta: Metadata) -> bool:
    """A Slurm experiment whose job has ended, settled from Slurm's accounting (``accounting``)."""
    from . import accounting

    try:
        return accounting.settle_from_accounting(exp_dir, meta)
    except (StorageError, OSError):
        return False


def scan(root: Path | None = None, *, archived: bool | None = False) -> Iterator[Record | Problem]:
    """Every experiment of the store (active, archived or both), unordered.

    (Reading with a thread pool was tried: twice as fast on a cold disk cache, but two to
    four times slower on a warm one, from contention on the GIL.)
    """
    for base, is_archived in _bases(root_dir(root), archived):
        for exp_id in _ids_in(base):
            item = _load(base, exp_id, is_archived)
            if item is not None:
                yield item


def _direct(root: Path, ids: Sequence[str], archived: bool | None) -> Iterator[Record | Problem]:
    """Records of full ids, without listing the store."""
    for exp_id in dict.fromkeys(ids):
        for base, is_archived in _bases(root, archived):
            item = _load(base, exp_id, is_archived)
            if item is not None:
                yield item
                break


def _load(base: str, exp_id: str, archived: bool) -> Record | Problem | None:
    """``load_record``, a corrupt experiment reported as a broken Problem."""
    try:
        return load_record(base, exp_id, archived)
    except CorruptFileError as exc:
        return Problem(exp_id, str(exc), broken=True, dir=f"{base}/{exp_id}")


def newest_first(records: list[Record]) -> list[Record]:
    return sorted(records, key=attrgetter("created", "id"), reverse=True)


def select(flt: Filters | None = None, root: Path | None = None) -> Selection:
    """Experiments matching ``flt``, newest first, with the problems met on the way."""
    flt = flt or Filters()
    root = root_dir(root)
    if flt.ids is not None and all(layout.ID_RE.match(i) for i in flt.ids):
        found: Iterable[Record | Problem] = _direct(root, flt.ids, flt.archived)
    else:
        found = scan(root, archived=flt.archived)
    out = Selection()
    seen: set[str] = set()
    for item in found:
        if isinstance(item, Problem):
            out.problems.append(item)
        elif item.id in seen:  # active copy came first: a move into the archive was cut short
            out.problems.append(Problem(item.id, f"a second copy is in {item.base}; remove one"))
        else:
            seen.add(item.id)
            if flt.matches(item):
                out.records.append(item)
    out.records = newest_first(out.records)
    if flt.limit is not None:
        out.records = out.records[: flt.limit]
    return out


# --- selecting one experiment -------------------------------------------------------------


def resolve(identifier: str, *, archived: bool | None = None, root: Path | None = None) -> Record:
    """The one experiment ``identifier`` names: a full id, a unique id prefix, or a name.

    Raises ExperimentNotFoundError, AmbiguousExperimentError listing the candidates, or
    InvalidReferenceError for a path (``layout.check_id_ref``).
    """
    root = root_dir(root)
    key = layout.check_id_ref(identifier)
    lowered = key.lower()
    if layout.ID_RE.match(lowered):
        for item in _direct(root, [lowered], archived):
            if isinstance(item, Problem):
                raise CorruptFileError(item.message)
            return item
    if _is_hex(lowered):
        match = _by_prefix(root, lowered, archived)
        if match is not None:
            return match
    return _by_name(root, key, archived)


def resolve_option(option: str, ref: str) -> Record:
    """``resolve`` (active or archived) for a ``yanex run`` option such as ``-D`` or
    ``--clone-from``: the same lookup and precedence, any of its errors raised again as the
    usage error (ConfigError) ``OPTION REF: <the resolver's message>``."""
    try:
        return resolve(ref, archived=None)
    except AmbiguousExperimentError as exc:
        ids = ", ".join(c.split()[0] for c in exc.candidates[:5] if c.split())
        raise ConfigError(f"{option} {ref}: {exc} ({ids})") from None
    except YanexError as exc:  # not found, a refused reference, unreadable metadata
        raise ConfigError(f"{option} {ref}: {exc}") from None


def find_in(ref: str, by_id: Mapping[str, Record]) -> Record | None:
    """``resolve`` over records already read (id -> record), for passes over the whole store:
    the same precedence (full id, unique id prefix, name); None when ``ref`` names no
    experiment, or several."""
    try:
        key = layout.check_id_ref(ref)
    except InvalidReferenceError:
        return None
    lowered = key.lower()
    if lowered in by_id:
        return by_id[lowered]
    if _is_hex(lowered):
        hits = [rec for exp_id, rec in by_id.items() if exp_id.startswith(lowered)]
        if hits:
            return hits[0] if len(hits) == 1 else None
    named = [rec for rec in by_id.values() if rec.name == key]
    return named[0] if len(named) == 1 else None


def _is_hex(text: str) -> bool:
    return 0 < len(text) <= 8 and all(c in "0123456789abcdef" for c in text)


def _by_prefix(root: Path, prefix: str, archived: bool | None) -> Record | None:
    records: list[Record] = []
    broken: list[CorruptFileError] = []
    for base, is_archived in _bases(root, archived):
        for exp_id in _ids_in(base):
            if not exp_id.startswith(prefix):
                continue
            try:
                rec = load_record(base, exp_id, is_archived)
            except CorruptFileError as exc:  # still a candidate, by its id
                broken.append(exc)
                rec = Record(exp_id, base, is_archived, Summary(id=exp_id), "unreadable", "")
            if rec is not None:
                records.append(rec)
    if len(records) > 1:
        raise _ambiguous(f"id prefix '{prefix}'", records)
    if broken:
        raise broken[0]
    return records[0] if records else None


def _by_name(root: Path, name: str, archived: bool | None) -> Record:
    records = [r for r in scan(root, archived=archived) if isinstance(r, Record) and r.name == name]
    if not records:
        raise ExperimentNotFoundError(f"no experiment with id, id prefix or name '{name}'")
    if len(records) > 1:
        raise _ambiguous(f"name '{name}'", newest_first(records))
    return records[0]


def _ambiguous(what: str, records: list[Record]) -> AmbiguousExperimentError:
    lines = [f"{r.id}  {r.name or '(unnamed)'}  {r.status}" for r in records]
    return AmbiguousExperimentError(
        f"{what} matches {len(records)} experiments; use a longer id prefix or the full id",
        lines,
    )


def experiment_dir_of(ref: str, root: Path | None = None) -> Path:
    """The directory of the experiment ``ref`` names (id, unique id prefix or name, active or
    archived); never a path built from ``ref`` itself."""
    key = layout.check_id_ref(ref)
    if layout.ID_RE.match(key):
        found = layout.find_experiment_dir(key, root)
        if found is not None:
            return found
    return resolve(key, archived=None, root=root).dir


T = TypeVar("T")


def each_readable(
    records: Iterable[Record], read: Callable[[Record], T], *, strict: bool = False
) -> tuple[list[tuple[Record, T]], list[Problem]]:
    """``(record, read(record))`` for each record; one whose files cannot be read becomes a
    Problem instead (a store-wide read goes on), or raises when ``strict``."""
    out: list[tuple[Record, T]] = []
    problems: list[Problem] = []
    for rec in records:
        try:
            out.append((rec, read(rec)))
        except (StorageError, OSError) as exc:
            if strict:
                raise
            problems.append(Problem(rec.id, str(exc), dir=str(rec.dir)))
    return out, problems


def latest(flt: Filters | None = None, root: Path | None = None) -> Record | None:
    """The most recently created experiment matching ``flt``."""
    flt = flt or Filters()
    flt.limit = 1
    records = select(flt, root).records
    return records[0] if records else None


def refresh(rec: Record) -> Record:
    """Re-read ``rec`` from disk (after a change; it may have moved in or out of the archive)."""
    root = Path(rec.base).parent if rec.archived else Path(rec.base)
    for item in _direct(root, [rec.id], None):
        if isinstance(item, Problem):
            raise CorruptFileError(item.message)
        return item
    raise ExperimentNotFoundError(f"experiment '{rec.id}' not found")
