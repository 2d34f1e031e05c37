"""Safe loading: artifact paths that stay inside their directory, and pickle provenance.

``confined`` refuses an artifact path that a symbolic link leads out of the artifacts
directory (or an artifacts directory that is itself a link out of its experiment), for
writes and reads alike. ``warn_untrusted_pickle`` warns, once per process and experiment,
before a pickle is loaded from an experiment that is neither the current one nor one of its
dependencies (transitively): unpickling runs whatever code the file holds.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from yanex._store import layout
from yanex.errors import UntrustedPickleWarning

from .warn import warn

_warned: set[str] = set()  # experiments already warned about in this process


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _first_link(start: Path, parts: tuple[str, ...]) -> Path | None:
    current = start
    for part in parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def _refuse(link: Path | None, name: str, action: str, where: str) -> ValueError:
    if link is not None:
        target = link.readlink()
        how = f"{link} is a symbolic link to {target}, outside {where}"
    else:
        how = f"it leads outside {where}"
    return ValueError(f"refusing to {action} artifact {name!r}: {how}")


def confined(artifacts_dir: Path, name: str, action: str) -> Path:
    """``artifacts_dir / name`` (``name`` already checked by ``artifacts.safe_name``), or
    ValueError when a symbolic link on the way leads out of the artifacts directory, or the
    artifacts directory of a stored experiment is a link out of the experiment's folder."""
    base = os.path.realpath(artifacts_dir)
    exp_dir = artifacts_dir.parent
    if layout.ID_RE.match(exp_dir.name) and not _inside(base, os.path.realpath(exp_dir)):
        raise _refuse(artifacts_dir, name, action, f"experiment {exp_dir.name}")
    path = artifacts_dir / name
    if not _inside(os.path.realpath(path), base):
        parts = PurePosixPath(name).parts
        raise _refuse(_first_link(artifacts_dir, parts), name, action, "the artifacts directory")
    return path


# --- pickles ------------------------------------------------------------------------------


def _stored_experiment(artifacts_dir: Path) -> str | None:
    """The id of the stored experiment owning ``artifacts_dir``; None for ./artifacts."""
    exp_dir = artifacts_dir.parent
    if not layout.ID_RE.match(exp_dir.name):
        return None
    root = layout.experiments_dir()
    parent = os.path.realpath(exp_dir.parent)
    if parent not in (os.path.realpath(root), os.path.realpath(layout.archive_dir(root))):
        return None
    return exp_dir.name


def _lineage() -> set[str]:
    """Ids of the current experiment and of every experiment upstream of it."""
    from . import dependencies, experiment

    exp = experiment.current()
    if exp is None:
        return set()

    entries = [f"{slot}={ref}" for slot, ref in dependencies.slots_of(exp.dir).items()]
    return {exp.id, *(rec.id for rec in dependencies.ordered(entries, transitive=True))}


def warn_untrusted_pickle(artifacts_dir: Path, name: str) -> None:
    """Warn (once per experiment) before unpickling an artifact of an experiment that is
    neither the current one nor upstream of it."""
    exp_id = _stored_experiment(artifacts_dir)
    if exp_id is None or exp_id in _warned or exp_id in _lineage():
        return
    _warned.add(exp_id)
    warn(
        f"loading pickle {name!r} from experiment {exp_id}, which is neither the current "
        "experiment nor one of its dependencies: unpickling runs any code the file holds, so "
        "load pickles only from experiments you trust (said once per experiment)",
        UntrustedPickleWarning,
    )
