"""Read and write experiments in the store: metadata, config, metrics, script runs, listing.

Metrics (the append-only ``metrics.log.jsonl`` and the ``metrics.json`` kept complete from
it while an experiment runs) live in ``metrics.py`` (reading) and ``metrics_writer.py``,
and are re-exported here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from yanex.errors import CorruptFileError, ExperimentNotFoundError, StorageError

from . import fs, layout
from .clock import now_iso
from .metrics import compact_metrics as compact_metrics  # noqa: PLC0414
from .metrics import read_metric_chunks as read_metric_chunks  # noqa: PLC0414
from .metrics import read_metrics as read_metrics  # noqa: PLC0414
from .metrics import replay as replay  # noqa: PLC0414
from .metrics_writer import MetricsWriter as MetricsWriter  # noqa: PLC0414 - re-exported, for mypy
from .migrate import normalize_metadata
from .schema import (
    FORMAT_VERSION,
    Metadata,
    ResourceSample,
    ScriptRun,
    encode_pretty,
    json_decoder,
    json_encoder,
    yaml_block,
)

# --- experiment directories -------------------------------------------------------------


def new_experiment_dir(root: Path | None = None) -> tuple[str, Path]:
    """Reserve a fresh 8-hex id by creating its directory (exclusive mkdir, so no collision)."""
    root = root or layout.experiments_dir()
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        exp_id = os.urandom(4).hex()  # not `secrets`: its import costs ~5 ms at every start
        path = root / exp_id
        if (root / layout.ARCHIVED / exp_id).exists():
            continue
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / layout.ARTIFACTS).mkdir()
        return exp_id, path
    raise StorageError(f"could not allocate a new experiment id in {root}")


def require_dir(exp_id: str, root: Path | None = None) -> Path:
    found = layout.find_experiment_dir(exp_id, root)
    if found is None:
        raise ExperimentNotFoundError(f"experiment '{exp_id}' not found")
    return found


def iter_experiment_dirs(root: Path | None = None, *, archived: bool = False) -> Iterator[Path]:
    """Directories that look like experiments (8-hex name), active or archived."""
    base = layout.archive_dir(root) if archived else (root or layout.experiments_dir())
    try:
        entries = os.scandir(base)
    except FileNotFoundError:
        return
    with entries:
        for entry in entries:
            if layout.ID_RE.match(entry.name) and entry.is_dir():
                yield Path(entry.path)


# --- metadata ---------------------------------------------------------------------------


def read_metadata_raw(exp_dir: Path) -> dict[str, Any]:
    path = exp_dir / layout.METADATA
    data = fs.read_bytes(path)
    if data is None:
        raise ExperimentNotFoundError(f"no metadata.json in {exp_dir}")
    try:
        raw = json_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise CorruptFileError(f"corrupt metadata file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise CorruptFileError(f"corrupt metadata file {path}: not a JSON object")
    return raw


def to_metadata(raw: dict[str, Any], exp_dir: Path) -> Metadata:
    raw = normalize_metadata(dict(raw))
    raw.setdefault("id", exp_dir.name)
    try:
        return msgspec.convert(raw, Metadata, strict=False)
    except msgspec.ValidationError as exc:
        raise CorruptFileError(f"corrupt metadata file {exp_dir / layout.METADATA}: {exc}") from exc


def read_metadata(exp_dir: Path) -> Metadata:
    return to_metadata(read_metadata_raw(exp_dir), exp_dir)


def _with_legacy_fields(raw: dict[str, Any], meta: Metadata) -> dict[str, Any]:
    """Mirror the fields yanex 0.6's readers look for, so our experiments open there too."""
    git = dict(raw.get("git") or {})
    git.update(
        commit_hash=meta.git_commit,
        branch=meta.git_branch,
        has_uncommitted_changes=meta.has_uncommitted_changes,
        patch_file=meta.patch_file,
    )
    raw["git"] = git
    raw["process_id"] = meta.pid
    return raw


def write_metadata(
    exp_dir: Path, meta: Metadata, *, base: dict[str, Any] | None = None, fsync: bool = True
) -> None:
    """Write ``meta`` over ``base`` (the raw file, whose unknown fields are preserved)."""
    raw = dict(base or {})
    raw.update(msgspec.structs.asdict(meta))
    raw["format_version"] = FORMAT_VERSION
    raw["saved_at"] = now_iso()
    data = encode_pretty(_with_legacy_fields(raw, meta))
    fs.atomic_write(exp_dir / layout.METADATA, data, fsync=fsync)


@contextlib.contextmanager
def editing_metadata(exp_dir: Path) -> Iterator[Metadata]:
    """Read-modify-write of metadata.json under the experiment's lock."""
    with fs.locked(exp_dir / layout.LOCK):
        raw = read_metadata_raw(exp_dir)
        meta = to_metadata(raw, exp_dir)
        yield meta
        write_metadata(exp_dir, meta, base=raw)


# --- config -----------------------------------------------------------------------------


def write_config(exp_dir: Path, config: dict[str, Any], *, legacy: bool = True) -> None:
    """config.json (the documented file) plus params.yaml, which yanex 0.6 reads instead.

    ``legacy=False`` leaves params.yaml for a later ``write_legacy_params`` call.
    """
    fs.atomic_write(exp_dir / layout.CONFIG, encode_pretty(config), fsync=False)
    if legacy:
        write_legacy_params(exp_dir, config)


def write_legacy_params(exp_dir: Path, config: dict[str, Any]) -> None:
    """params.yaml: the parameters where yanex 0.6 reads them, as block YAML (PyYAML is
    imported here; ``yanex run`` calls this while the child starts, off its critical path)."""
    text = yaml_block(json_decoder.decode(json_encoder.encode(config)))
    fs.atomic_write(exp_dir / layout.LEGACY_PARAMS, text.encode(), fsync=False)


def read_config(exp_dir: Path) -> dict[str, Any]:
    path = exp_dir / layout.CONFIG
    data = fs.read_bytes(path)
    if data is not None:
        try:
            value = json_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise CorruptFileError(f"corrupt config file {path}: {exc}") from exc
        return value if isinstance(value, dict) else {}
    legacy = fs.read_bytes(exp_dir / layout.LEGACY_PARAMS)
    if legacy is None:
        return {}
    import yaml

    try:
        value = yaml.safe_load(legacy)
    except yaml.YAMLError as exc:
        raise CorruptFileError(f"corrupt params file {exp_dir / layout.LEGACY_PARAMS}") from exc
    return value if isinstance(value, dict) else {}


# --- script runs ------------------------------------------------------------------------


def append_script_run(exp_dir: Path, run: ScriptRun) -> None:
    """Add one entry to script_runs.json (a small list, rewritten atomically under the lock)."""
    path = exp_dir / layout.SCRIPT_RUNS
    with fs.locked(exp_dir / layout.LOCK):
        runs = read_script_runs(exp_dir)
        runs.append(msgspec.to_builtins(run))
        fs.atomic_write(path, encode_pretty(runs))


def read_script_runs(exp_dir: Path) -> list[dict[str, Any]]:
    path = exp_dir / layout.SCRIPT_RUNS
    data = fs.read_bytes(path)
    if data is None:
        return []
    try:
        value = json_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise CorruptFileError(f"corrupt script runs file {path}: {exc}") from exc
    return value if isinstance(value, list) else []


# --- resource samples -------------------------------------------------------------------


def append_resource_sample(exp_dir: Path, sample: ResourceSample) -> None:
    """Add one line to ``resources.jsonl`` (one ``write`` on an O_APPEND descriptor: a line
    is there whole or not at all)."""
    fd = fs.open_append(exp_dir / layout.RESOURCES)
    try:
        os.write(fd, json_encoder.encode(sample) + b"\n")
    finally:
        os.close(fd)


def read_resource_samples(exp_dir: Path) -> list[dict[str, Any]]:
    """The lines of ``resources.jsonl`` in order; a line that does not decode (a write cut
    short by a full disk) is skipped."""
    data = fs.read_bytes(exp_dir / layout.RESOURCES) or b""
    out = []
    for line in data.splitlines():
        try:
            value = json_decoder.decode(line)
        except msgspec.DecodeError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out
