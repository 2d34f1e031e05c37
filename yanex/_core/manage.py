"""Changing experiments after the fact: archive, unarchive, delete and metadata updates.

Archiving moves ``<store>/<id>`` to ``<store>/archived/<id>`` (the layout of yanex 0.6) with
one ``os.rename``, which is atomic on one filesystem: an interruption leaves the experiment
wholly in one place. When ``archived/`` is on another filesystem (a symlink to other
storage), the move copies into a hidden folder beside the target, renames that into place,
and only then removes the original, so an interruption leaves at worst two complete copies,
never a partial one where the original used to be.

Deleting first renames the experiment to a hidden name in its own folder (so it vanishes
from listings at once) and then removes that; it refuses any directory that is not an
8-hex experiment folder directly in the store or its archive, so nothing outside the store
is ever touched. A symlinked experiment folder loses only its link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yanex._models import TERMINAL, Status
from yanex._store import layout, store
from yanex._store.schema import Metadata
from yanex.errors import InvalidUpdateError, StorageError

from . import lifecycle, query
from .filters import STATUSES


def _root_of(rec: query.Record) -> Path:
    return Path(rec.base).parent if rec.archived else Path(rec.base)


def _check_inside(rec: query.Record) -> Path:
    """The experiment's folder, after making sure it is one of the store's own."""
    root = _root_of(rec)
    expected = layout.archive_dir(root) if rec.archived else root
    path = Path(rec.base) / rec.id
    if not layout.is_experiment_id(rec.id) or Path(rec.base) != expected:
        raise StorageError(f"refusing to touch {path}: not an experiment folder of the store")
    return path


def archive(rec: query.Record) -> Path:
    """Move an active experiment into the archive; returns its new folder."""
    if rec.archived:
        raise StorageError(f"experiment {rec.id} is already archived")
    src = _check_inside(rec)
    dst = layout.archive_dir(_root_of(rec)) / rec.id
    _move(src, dst)
    return dst


def unarchive(rec: query.Record) -> Path:
    """Move an archived experiment back among the active ones; returns its new folder."""
    if not rec.archived:
        raise StorageError(f"experiment {rec.id} is not archived")
    src = _check_inside(rec)
    dst = _root_of(rec) / rec.id
    _move(src, dst)
    return dst


def _move(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        raise StorageError(f"cannot move {src.name}: {dst} already exists (nothing was changed)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        src.rename(dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise StorageError(f"cannot move {src} to {dst}: {exc.strerror}") from exc
        _move_across_devices(src, dst)


def _move_across_devices(src: Path, dst: Path) -> None:
    staging = dst.with_name(f".{dst.name}.moving-{os.getpid()}")
    try:
        shutil.copytree(src, staging, symlinks=True)
        staging.rename(dst)  # same filesystem as dst: atomic
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove(src)


def delete(rec: query.Record) -> None:
    """Remove the experiment's folder (and nothing else) for good."""
    _remove(_check_inside(rec))


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
        return
    doomed = path.with_name(f".{path.name}.deleting-{os.getpid()}")
    try:
        path.rename(doomed)
    except OSError as exc:
        raise StorageError(f"cannot delete {path}: {exc.strerror}") from exc
    shutil.rmtree(doomed)


def sweep_leftovers(root: Path | None = None) -> None:
    """Finish deletions and drop partial copies that an interrupted process left behind.

    Only leftovers whose process is gone are touched, never a move still in progress.
    """
    root = query.root_dir(root)
    for base in (root, layout.archive_dir(root)):
        with contextlib.suppress(OSError), os.scandir(base) as entries:
            for entry in entries:
                if _abandoned(entry.name):
                    shutil.rmtree(entry.path, ignore_errors=True)


def _abandoned(name: str) -> bool:
    if not name.startswith("."):
        return False
    for marker in (".deleting-", ".moving-"):
        head, sep, pid = name.rpartition(marker)
        if sep and layout.is_experiment_id(head[1:]) and pid.isdigit():
            return not lifecycle.pid_alive(int(pid))
    return False


# --- metadata updates ---------------------------------------------------------------------


@dataclass
class Changes:
    """What ``yanex update`` (or an Experiment's setters) changes; None leaves a field alone."""

    name: str | None = None
    description: str | None = None
    project: str | None = None
    status: str | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        fields = (self.name, self.description, self.project, self.status)
        return all(v is None for v in fields) and not self.add_tags and not self.remove_tags

    def validate(self) -> None:
        """Raise InvalidUpdateError (a ValueError) for a status or tag that cannot be set."""
        if self.status is not None and self.status not in STATUSES:
            raise InvalidUpdateError(
                f"unknown status {self.status!r} (choose from {', '.join(STATUSES)})"
            )
        for tag in (*self.add_tags, *self.remove_tags):
            if not isinstance(tag, str) or not tag.strip():
                raise InvalidUpdateError(f"tags must be non-empty strings, not {tag!r}")


def preview(rec: query.Record, changes: Changes) -> dict[str, tuple[Any, Any]]:
    """field -> (old, new) for what ``changes`` would do to ``rec``."""
    meta = store.read_metadata(rec.dir)
    out: dict[str, tuple[Any, Any]] = {}
    for key in ("name", "description", "project"):
        new = getattr(changes, key)
        if new is not None and (new or None) != getattr(meta, key):
            out[key] = (getattr(meta, key), new or None)
    if changes.status is not None and changes.status != rec.status:
        out["status"] = (rec.status, changes.status)
    tags = _new_tags(meta.tags, changes)
    if tags != meta.tags:
        out["tags"] = (list(meta.tags), tags)
    return out


def _new_tags(tags: list[str], changes: Changes) -> list[str]:
    out = [t for t in tags if t not in changes.remove_tags]
    out += [t for t in dict.fromkeys(changes.add_tags) if t not in out]
    return out


def update(rec: query.Record, changes: Changes) -> dict[str, tuple[Any, Any]]:
    """Apply ``changes`` under the experiment's lock; returns what changed."""
    changes.validate()
    diff = preview(rec, changes)
    if not diff:
        return diff
    with store.editing_metadata(rec.dir) as meta:
        for key in ("name", "description", "project"):
            if key in diff:
                setattr(meta, key, diff[key][1])
        if "tags" in diff:
            meta.tags = _new_tags(meta.tags, changes)
        if "status" in diff:
            _set_status(meta, Status(diff["status"][1]))
    return diff


def _set_status(meta: Metadata, new: Status) -> None:
    """A status set by hand: between two endings the recorded times stay as they were."""
    if lifecycle.is_stale(meta):
        meta.status = Status.FAILED
    if meta.status in TERMINAL and new in TERMINAL:
        meta.status = new
    else:
        lifecycle.apply(meta, new, force=True)
