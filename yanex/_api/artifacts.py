"""The Run API of artifacts: files saved with an experiment, and loaded from it or its lineage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from yanex import _portal
from yanex._core.experiment import current
from yanex._store import layout

# --- artifacts ----------------------------------------------------------------------------


def _artifacts_dir(from_experiment: str | None = None) -> Path:
    if from_experiment is not None:
        from yanex._core import query

        return query.experiment_dir_of(from_experiment) / layout.ARTIFACTS
    exp = current()
    return exp.artifacts_dir if exp is not None else Path.cwd() / "artifacts"


@_portal.in_worker_thread
def copy_artifact(src_path: Path | str, filename: str | None = None) -> None:
    """Copy the file ``src_path`` into the artifacts directory (``./artifacts/`` standalone),
    as ``filename`` (default: the source's own name).

    Raises FileNotFoundError when the source does not exist, IsADirectoryError for a
    directory, ValueError when ``filename`` would leave the artifacts directory.
    """
    from yanex._core import artifacts as _artifacts

    _artifacts.copy(src_path, _artifacts_dir(), filename)


@_portal.in_worker_thread
def save_artifact(
    obj: Any, filename: str, saver: Callable[[Any, Path], None] | None = None
) -> None:
    """Save ``obj`` as the artifact ``filename`` (``./artifacts/`` standalone).

    The extension picks the format: ``.txt`` (str), ``.csv`` (DataFrame or list of dicts),
    ``.json``, ``.jsonl`` (list of dicts), ``.npy`` / ``.npz`` (numpy), ``.pt`` / ``.pth``
    (torch), ``.pkl`` (pickle), ``.png`` (matplotlib figure or PIL image); any other, or
    any object, with ``saver(obj, path)``. Raises ValueError for an unknown format without
    ``saver``, TypeError when ``obj`` does not suit the format, ImportError when the library
    the format needs is not installed.
    """
    from yanex._core import artifacts as _artifacts

    _artifacts.save(obj, _artifacts_dir(), filename, saver)


@_portal.in_worker_thread
def load_artifact(
    filename: str,
    loader: Callable[[Path], Any] | None = None,
    from_experiment: str | None = None,
) -> Any:
    """Load the artifact ``filename``, in the format its extension names, or with the
    ``loader`` given (called as ``loader(path)``); None when it does not exist.

    Searched in ``from_experiment`` if given; else in the current experiment, then in its
    dependencies, then in theirs (breadth first: the nearest one that has it wins). Raises
    AmbiguousArtifactError when several dependencies at that nearest level have it.
    """
    from yanex._core import artifacts as _artifacts

    directory = _artifacts_dir(from_experiment)
    exp = current() if from_experiment is None else None
    if exp is not None:
        from yanex._core import dependencies

        directory = dependencies.find_artifact(exp.dir, filename) or directory
    return _artifacts.load(directory, filename, loader)


@_portal.in_worker_thread
def artifact_exists(filename: str, from_experiment: str | None = None) -> bool:
    """True when the artifact ``filename`` exists: in ``from_experiment`` (id, unique id
    prefix or name) if given, else in the current experiment (``./artifacts/`` standalone)."""
    from yanex._core import artifacts as _artifacts

    return _artifacts.exists(_artifacts_dir(from_experiment), filename)


@_portal.in_worker_thread
def list_artifacts(from_experiment: str | None = None) -> list[str]:
    """The names of the artifacts, sorted: those of ``from_experiment`` (id, unique id prefix
    or name) if given, else of the current experiment (``./artifacts/`` standalone)."""
    from yanex._core import artifacts as _artifacts

    return _artifacts.list_names(_artifacts_dir(from_experiment))
