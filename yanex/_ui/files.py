"""Files of an experiment the web UI shows: artifacts (listed, previewed, downloaded) and logs.

Every path comes from a request, so each is checked before it is opened: the experiment
is found by its id only (never a path joined from user text), the artifact name must be
relative and free of ``..`` (``artifacts.safe_name``), and the resolved file must still be
inside the experiment's artifacts directory (``trust.confined``: no symlink leads out).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path, PurePosixPath
from typing import Any

from yanex._core import artifacts, query, trust
from yanex._store import layout
from yanex.errors import ExperimentNotFoundError

PREVIEW_BYTES = 64 * 1024
CSV_ROWS = 200
TAIL_BYTES = 64 * 1024
STREAMS = ("stdout", "stderr")
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
IMAGES[".webp"] = "image/webp"
TEXT = frozenset({".txt", ".log", ".md", ".py", ".yaml", ".yml", ".toml", ".patch", ".diff"})


class RefusedPath(ValueError):
    """A requested file that is not an artifact of the experiment."""


def record(ref: str) -> query.Record:
    """The experiment ``ref`` names (id, unique prefix or name; active or archived), found
    as the CLI finds it: a ``ref`` that looks like a path is refused, never joined."""
    return query.resolve(ref, archived=None)


def artifact_path(rec: query.Record, name: str) -> Path:
    """The artifact file ``name`` of ``rec``, checked to stay inside its artifacts folder."""
    try:
        clean = artifacts.safe_name(name)
        path = trust.confined(rec.dir / layout.ARTIFACTS, clean, "read")
    except ValueError as exc:
        raise RefusedPath(str(exc)) from None
    if not path.is_file():
        raise ExperimentNotFoundError(f"experiment {rec.id} has no artifact {name!r}")
    return path


def kind(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in IMAGES:
        return "image"
    if suffix in (".json", ".jsonl"):
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in TEXT or name in ("stdout.txt", "stderr.txt"):
        return "text"
    return "binary"


def listing(rec: query.Record) -> list[dict[str, Any]]:
    base = rec.dir / layout.ARTIFACTS
    out = []
    for name in artifacts.list_names(base):
        try:
            size = artifact_path(rec, name).stat().st_size
        except (RefusedPath, ExperimentNotFoundError, OSError):
            continue  # a link out of the store: not listed, not served
        out.append({"name": name, "size": size, "kind": kind(name)})
    return out


def _head(path: Path) -> tuple[str, bool]:
    with open(path, "rb") as fh:
        data = fh.read(PREVIEW_BYTES + 1)
    return data[:PREVIEW_BYTES].decode("utf-8", "replace"), len(data) > PREVIEW_BYTES


def preview(rec: query.Record, name: str) -> dict[str, Any]:
    """What the page shows of an artifact: text, pretty JSON, a CSV table or an image."""
    path = artifact_path(rec, name)
    what = kind(name)
    out: dict[str, Any] = {"name": name, "kind": what, "size": path.stat().st_size}
    if what in ("image", "binary"):
        return out
    text, truncated = _head(path)
    out["truncated"] = truncated
    if what == "csv":
        dialect = "excel-tab" if name.lower().endswith(".tsv") else "excel"
        rows = list(csv.reader(io.StringIO(text), dialect))
        out["rows"] = rows[: CSV_ROWS + 1]
        out["truncated"] = truncated or len(rows) > CSV_ROWS + 1
    elif what == "json" and not truncated and name.lower().endswith(".json"):
        try:
            out["text"] = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            out["text"] = text
    else:
        out["text"] = text
    return out


def log_path(rec: query.Record, stream: str) -> Path:
    """The experiment's stdout or stderr file (it may not exist yet), never a link out."""
    if stream not in STREAMS:
        raise RefusedPath(f"no such log: {stream!r}")
    try:
        return trust.confined(rec.dir / layout.ARTIFACTS, f"{stream}.txt", "read")
    except ValueError as exc:
        raise RefusedPath(str(exc)) from None


def read_from(path: Path, offset: int, limit: int) -> tuple[str, int]:
    """Text from byte ``offset`` (at most ``limit`` bytes, whole UTF-8 characters) and the
    offset to read on from; ("", offset) when the file is missing or has not grown."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(limit)
    except (FileNotFoundError, NotADirectoryError):
        return "", offset
    cut = _whole_chars(data)
    return data[:cut].decode("utf-8", "replace"), offset + cut


def _whole_chars(data: bytes) -> int:
    """Length of ``data`` without a multi-byte UTF-8 character cut at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # the lead byte of the last character: is it complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)


def tail(rec: query.Record, stream: str) -> dict[str, Any]:
    """The last ``TAIL_BYTES`` of a log and the offset a live tail continues from."""
    path = log_path(rec, stream)
    try:
        size = path.stat().st_size
    except OSError:
        return {"text": "", "offset": 0, "truncated": False}
    start = max(0, size - TAIL_BYTES)
    text, offset = read_from(path, start, TAIL_BYTES)
    return {"text": text, "offset": offset, "truncated": start > 0}
