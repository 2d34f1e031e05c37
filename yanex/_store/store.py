"""Read and write experiments in the store: metadata, config, metrics, script runs, listing.

Metrics are kept as an append-only log (``metrics.log.jsonl``, one ``[step, time, data]``
record per ``log_metrics`` call) that ``metrics.json`` is compacted from. The log is never
truncated while an experiment exists, so a writer's byte offset into it stays valid and
auto-increment across processes needs only the records appended since the writer last
looked. An experiment that already had a ``metrics.json`` before its first log record (one
written by yanex 0.6, then resumed) gets that list as a first "base" record (step -1).
Readers replay the log unless ``metrics.json`` was written after the log's last append.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from yanex.errors import CorruptFileError, ExperimentNotFoundError, StorageError

from . import fs, layout
from .clock import iso, now_iso
from .migrate import normalize_metadata
from .schema import (
    FORMAT_VERSION,
    JSONDecoder,
    Metadata,
    MetricsLogEntry,
    ScriptRun,
    encode_pretty,
    json_decoder,
    json_encoder,
    metrics_entry_decoder,
    yaml_block,
)

_BASE_STEP = -1
_entries_decoder = JSONDecoder(list[MetricsLogEntry])


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


def write_metadata(exp_dir: Path, meta: Metadata, *, base: dict[str, Any] | None = None) -> None:
    """Write ``meta`` over ``base`` (the raw file, whose unknown fields are preserved)."""
    raw = dict(base or {})
    raw.update(msgspec.structs.asdict(meta))
    raw["format_version"] = FORMAT_VERSION
    raw["saved_at"] = now_iso()
    fs.atomic_write(exp_dir / layout.METADATA, encode_pretty(_with_legacy_fields(raw, meta)))


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


# --- metrics ----------------------------------------------------------------------------


class MetricsWriter:
    """Appends ``log_metrics`` calls to one experiment's log; amortised O(1) per call.

    ``flock`` excludes other processes only (it belongs to the open file description, which
    all threads share), so threads of this process also take ``_thread_lock``.
    """

    def __init__(self, exp_dir: Path) -> None:
        self.exp_dir = exp_dir
        self._thread_lock = threading.Lock()
        self._fd = fs.open_append(exp_dir / layout.METRICS_LOG)
        self._offset = 0
        self._max_step = -1
        self._ends_nl = True
        self._lock()
        try:
            size = os.fstat(self._fd).st_size
            if size == 0:
                self._seed_from_legacy()
            else:
                self._catch_up(size)
        except BaseException:
            self._unlock()
            self.close()  # e.g. a corrupt legacy metrics.json: do not leak the descriptor
            raise
        self._unlock()

    def _lock(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def _unlock(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _seed_from_legacy(self) -> None:
        """An experiment with metrics.json but no log: the list becomes the base record."""
        base = _read_metrics_json(self.exp_dir)
        if not base:
            return
        line = json_encoder.encode(MetricsLogEntry(_BASE_STEP, time.time(), {"base": base}))
        os.write(self._fd, line + b"\n")
        self._offset = len(line) + 1
        self._max_step = _max_step(base)

    def _catch_up(self, size: int) -> None:
        """Read what other writers appended since our offset, to know the highest step."""
        chunk = os.pread(self._fd, size - self._offset, self._offset)
        self._offset = size
        self._ends_nl = chunk.endswith(b"\n")
        for entry in _decode_log(chunk):
            step = _max_step(entry.data["base"]) if entry.step == _BASE_STEP else entry.step
            self._max_step = max(self._max_step, step)

    def append(self, data: dict[str, Any], step: int | None) -> int:
        self._lock()
        try:
            size = os.fstat(self._fd).st_size
            if size != self._offset:
                self._catch_up(size)
            if step is None:
                step = self._max_step + 1
            line = json_encoder.encode(MetricsLogEntry(step, time.time(), data)) + b"\n"
            if not self._ends_nl:
                line = b"\n" + line  # seal a torn record left by a killed writer
            self._write_whole(line)
            self._max_step = max(self._max_step, step)
            return step
        finally:
            self._unlock()

    def _write_whole(self, line: bytes) -> None:
        """Write all of ``line`` or raise; a short write (a full disk) is not a success.

        What did get written stays as a torn record, which readers skip and the next
        append seals, so the step is reported as failed and nothing else is harmed.
        """
        view = memoryview(line)
        try:
            while view:
                written = os.write(self._fd, view)
                self._offset += written
                view = view[written:]
        finally:
            if len(view) < len(line):  # something was written: torn unless all of it
                self._ends_nl = not view

    def close(self) -> None:
        with self._thread_lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _max_step(entries: list[dict[str, Any]]) -> int:
    steps = [e.get("step") for e in entries if isinstance(e, dict)]
    return max((s for s in steps if isinstance(s, int) and not isinstance(s, bool)), default=-1)


def _decode_log(chunk: bytes) -> list[MetricsLogEntry]:
    """Complete records of a log chunk; a torn last line (killed mid-write) is skipped."""
    if not chunk:
        return []
    end = chunk.rfind(b"\n")
    body = chunk[: end + 1] if end >= 0 else b""
    if not body.strip():
        return []
    try:
        entries: list[MetricsLogEntry] = _entries_decoder.decode(
            b"[" + body.rstrip(b"\n").replace(b"\n", b",") + b"]"
        )
        return entries
    except msgspec.DecodeError:
        return _decode_lines(body)


def _decode_lines(body: bytes) -> list[MetricsLogEntry]:
    """Slow path: decode line by line, skipping any line that is not a record."""
    out: list[MetricsLogEntry] = []
    for line in body.splitlines():
        with contextlib.suppress(msgspec.DecodeError):
            out.append(metrics_entry_decoder.decode(line))
    return out


def _read_metrics_json(exp_dir: Path) -> list[dict[str, Any]]:
    for name in (layout.METRICS, layout.LEGACY_RESULTS):
        path = exp_dir / name
        data = fs.read_bytes(path)
        if data is None:
            continue
        try:
            value = json_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise CorruptFileError(f"corrupt metrics file {path}: {exc}") from exc
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []
    return []


def replay(entries: list[MetricsLogEntry]) -> list[dict[str, Any]]:
    """The documented step rules: new step -> new entry; existing step -> merge, last_updated."""
    steps: dict[Any, dict[str, Any]] = {}
    loose: list[dict[str, Any]] = []
    for entry in entries:
        if entry.step == _BASE_STEP:
            for item in entry.data.get("base", []):
                if "step" in item:
                    steps[item["step"]] = dict(item)
                else:
                    loose.append(dict(item))
            continue
        step = entry.step
        current = steps.get(step)
        if current is None:
            record = entry.data  # freshly decoded and ours: no copy (this loop bounds reads)
            record["step"] = step
            record["timestamp"] = iso(entry.time)
            steps[step] = record
        else:
            current.update(entry.data)
            current["step"] = step
            current["last_updated"] = iso(entry.time)
    return loose + list(steps.values())


def read_metrics(exp_dir: Path) -> list[dict[str, Any]]:
    """Every logged step, including those of an experiment still running."""
    log_path = exp_dir / layout.METRICS_LOG
    try:
        log_mtime = log_path.stat().st_mtime_ns
    except FileNotFoundError:
        return _read_metrics_json(exp_dir)
    try:
        if (exp_dir / layout.METRICS).stat().st_mtime_ns > log_mtime:
            return _read_metrics_json(exp_dir)
    except FileNotFoundError:
        pass
    data = fs.read_bytes(log_path) or b""
    if not data:
        return _read_metrics_json(exp_dir)
    with _no_gc():
        return replay(_decode_log(data))


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building many small dicts that form no cycles.

    Decoding a long log allocates a dict per step; each collection the allocations trigger
    walks every one of them again (reading 100,000 steps: about 0.12 s instead of 0.17 s
    to decode, and less variance when the caller already holds many objects).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compact_metrics(exp_dir: Path) -> None:
    """Write metrics.json from the log (under the log's lock, so no append is missed)."""
    log_path = exp_dir / layout.METRICS_LOG
    if not log_path.exists():
        return
    fd = os.open(log_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size == 0:
            return
        with _no_gc():
            metrics = replay(_decode_log(os.pread(fd, size, 0)))
        fs.atomic_write(exp_dir / layout.METRICS, encode_pretty(metrics))
    finally:
        os.close(fd)


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
