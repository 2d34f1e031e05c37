"""Where things live in the store: every path yanex reads or writes is built here."""

from __future__ import annotations

import os
import re
from pathlib import Path

from yanex._context import ENV_EXPERIMENTS_DIR

ID_RE = re.compile(r"^[0-9a-f]{8}$")

METADATA = "metadata.json"
CONFIG = "config.json"
LEGACY_PARAMS = "params.yaml"  # what the published yanex 0.6 writes instead of config.json
METRICS = "metrics.json"
METRICS_LOG = "metrics.log.jsonl"  # append-only log that metrics.json is compacted from
LEGACY_RESULTS = "results.json"
SCRIPT_RUNS = "script_runs.json"
RESOURCES = "resources.jsonl"  # samples of the process tree's CPU and memory use
ARTIFACTS = "artifacts"
LOCK = ".lock"
ARCHIVED = "archived"


def experiments_dir() -> Path:
    """The store's root: ``$YANEX_EXPERIMENTS_DIR`` or ``~/.yanex/experiments``."""
    env = os.environ.get(ENV_EXPERIMENTS_DIR)
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".yanex" / "experiments"


def archive_dir(root: Path | None = None) -> Path:
    """Archived experiments sit in ``<root>/archived/<id>``, as in yanex 0.6."""
    return (root or experiments_dir()) / ARCHIVED


def is_experiment_id(name: str) -> bool:
    return bool(ID_RE.match(name))


def check_id_ref(ref: object) -> str:
    """``ref`` stripped, when it can be an experiment reference: an 8-hex id, an id prefix or
    a name. A path (``/``, ``\\``, ``.``, ``..``, a leading ``~``), an empty or non-string
    value raises InvalidReferenceError, so no caller ever joins a user's text onto the store
    root."""
    from yanex.errors import InvalidReferenceError

    if not isinstance(ref, str):
        raise InvalidReferenceError(
            f"an experiment id, id prefix or name must be a string, not {type(ref).__name__}"
        )
    key = ref.strip()
    if not key:
        raise InvalidReferenceError("empty experiment id, id prefix or name")
    if key in (".", "..") or key.startswith("~") or any(c in key for c in "/\\\0"):
        raise InvalidReferenceError(
            f"{ref!r} looks like a path (paths are not accepted); give an experiment id "
            "(8 hex digits), a unique id prefix or a name"
        )
    return key


def find_experiment_dir(exp_id: str, root: Path | None = None) -> Path | None:
    """The directory of ``exp_id``, active first, then archived; None when neither exists
    (or when ``exp_id`` is not an 8-hex id: nothing else is ever joined onto the root)."""
    if not ID_RE.match(exp_id):
        return None
    root = root or experiments_dir()
    for candidate in (root / exp_id, root / ARCHIVED / exp_id):
        if (candidate / METADATA).is_file():
            return candidate
    return None
