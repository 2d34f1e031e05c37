"""Where things live in the store: every path yanex reads or writes is built here."""

from __future__ import annotations

import os
import re
from pathlib import Path

ID_RE = re.compile(r"^[0-9a-f]{8}$")

METADATA = "metadata.json"
CONFIG = "config.json"
LEGACY_PARAMS = "params.yaml"  # what the published yanex 0.6 writes instead of config.json
METRICS = "metrics.json"
METRICS_LOG = "metrics.log.jsonl"  # append-only log that metrics.json is compacted from
LEGACY_RESULTS = "results.json"
SCRIPT_RUNS = "script_runs.json"
ARTIFACTS = "artifacts"
LOCK = ".lock"
ARCHIVED = "archived"


def experiments_dir() -> Path:
    """The store's root: ``$YANEX_EXPERIMENTS_DIR`` or ``~/.yanex/experiments``."""
    env = os.environ.get("YANEX_EXPERIMENTS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".yanex" / "experiments"


def archive_dir(root: Path | None = None) -> Path:
    """Archived experiments sit in ``<root>/archived/<id>``, as in yanex 0.6."""
    return (root or experiments_dir()) / ARCHIVED


def is_experiment_id(name: str) -> bool:
    return bool(ID_RE.match(name))


def experiment_dir(exp_id: str, root: Path | None = None, *, archived: bool = False) -> Path:
    base = archive_dir(root) if archived else (root or experiments_dir())
    return base / exp_id


def find_experiment_dir(exp_id: str, root: Path | None = None) -> Path | None:
    """The directory of ``exp_id``, active first, then archived; None when neither exists."""
    root = root or experiments_dir()
    for candidate in (root / exp_id, root / ARCHIVED / exp_id):
        if (candidate / METADATA).is_file():
            return candidate
    return None
