"""The fields ``yanex get`` can read, and how each is read from one experiment.

Kinds decide how values print: ``scalar``, ``list`` (tags, parameter and metric names),
``complex`` (dicts), ``multiline`` (stdout, stderr, artifacts) and ``lineage`` (dependency
graphs). ``params.<key>``/``param:<key>``, ``metrics.<key>``/``metric:<key>``,
``meta:<key>``, ``git.<key>`` and ``environment.<path>`` reach inside. ``cli-command`` and
``run-command`` are rebuilt in ``_command_line``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from yanex._core import metadata, query
from yanex._store import layout, store

from ._filters import usage_error

SCALARS = {
    "id", "name", "status", "description", "project", "script_path", "created_at",
    "started_at", "completed_at", "duration", "error_message", "cancellation_reason",
    "exit_code", "cli-command", "run-command", "experiment-dir", "artifacts-dir",
}  # fmt: skip
LISTS = {"tags", "params", "metrics"}
MULTILINE = {"stdout", "stderr", "artifacts"}
LINEAGE = {"upstream", "downstream", "lineage"}
PREFIXES = ("params.", "param:", "metrics.", "metric:", "meta:", "git.", "environment.")
_GIT = {"commit_hash": "git_commit", "branch": "git_branch", "dirty": "has_uncommitted_changes"}


_KINDS = {
    **dict.fromkeys(SCALARS, "scalar"),
    **dict.fromkeys(LISTS, "list"),
    **dict.fromkeys(MULTILINE, "multiline"),
    **dict.fromkeys(LINEAGE, "lineage"),
    "dependencies": "complex",
}


_GLOB = frozenset("*?[")
_WILD_PREFIXES = ("params.", "param:", "metrics.", "metric:")


def kind(field: str) -> str:
    """The kind of ``field``: ``bare`` for a name looked up in params, then metrics;
    ``wildcard`` for a glob over parameter and/or metric names."""
    found = _KINDS.get(field)
    if found is not None:
        return found
    if _GLOB & set(field):
        bare = not any(field.startswith(p) for p in PREFIXES)
        if bare or field.startswith(_WILD_PREFIXES):
            return "wildcard"
        usage_error(f"wildcards apply to params.<glob>, metrics.<glob> or a bare name: {field}")
    if any(field.startswith(p) and len(field) > len(p) for p in PREFIXES):
        return "scalar"
    if not field or field.startswith(("-", ".")) or field.endswith("."):
        usage_error(f"unknown field '{field}' (see yanex get --help)")
    return "bare"


def unknown_field(field: str) -> str:
    """The message for a bare name found in no experiment's params or metrics."""
    from ._suggest import nearest

    guess = nearest(field, sorted({*_KINDS, "params.<key>", "metrics.<key>"}))
    hint = f"; did you mean '{guess}'?" if guess else " (see yanex get --help)"
    return f"unknown field '{field}': not a field, parameter or metric{hint}"


class Source:
    """One experiment's data, each part read on first use."""

    def __init__(self, rec: query.Record) -> None:
        self.rec = rec

    @cached_property
    def meta(self) -> dict[str, Any]:
        raw = metadata.as_dict(self.rec.dir)
        raw["status"] = self.rec.status
        return raw

    @cached_property
    def params(self) -> dict[str, Any]:
        return store.read_config(self.rec.dir)

    @cached_property
    def metrics(self) -> dict[str, Any]:
        from yanex._core import compare  # here: fields such as status do not need it

        return compare.last_values(store.read_metrics(self.rec.dir))

    @cached_property
    def slots(self) -> dict[str, str]:
        from yanex._core import dependencies

        return dependencies.slots_of(self.rec.dir, self.rec.summary.depends_on)


nested = metadata.dotted


def _flat(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters with dotted keys (``compare.flatten``, imported only when needed)."""
    from yanex._core import compare

    return compare.flatten(params)


def value(src: Source, field: str, head: int | None, tail: int | None) -> tuple[Any, bool]:
    """(value, found) of ``field`` for one experiment."""
    field_kind = _KINDS.get(field) or kind(field)
    if field_kind == "bare":
        found, ok = nested(src.params, field)
        return (found, True) if ok else _metric(src, field)
    if field_kind == "wildcard":
        matches = wildcard(src, field)
        return matches, bool(matches)
    if field in ("stdout", "stderr"):
        return read_lines(src.rec.dir / layout.ARTIFACTS / f"{field}.txt", head, tail)
    special = _SPECIAL.get(field)
    if special is not None:
        return special(src)
    for prefix, reader in _PREFIXED:
        if field.startswith(prefix):
            return reader(src, field[len(prefix) :])
    found, ok = nested(src.meta, field)
    return found, ok and found is not None


def wildcard(src: Source, field: str) -> dict[str, Any]:
    """{name: value} of the parameters and/or metrics whose names match the glob ``field``
    (``params.lr*``, ``metrics.acc*``; a bare ``lr*`` looks in params, then metrics)."""
    import fnmatch

    prefix, pattern = "", field
    for start in _WILD_PREFIXES:
        if field.startswith(start):
            prefix = "params" if start.startswith("param") else "metrics"
            pattern = field[len(start) :]
    sources: list[tuple[str, dict[str, Any]]] = []
    if prefix in ("", "params"):
        sources.append(("params.", _flat(src.params)))
    if prefix in ("", "metrics"):
        sources.append(("metrics.", src.metrics))
    out: dict[str, Any] = {}
    for label, names in sources:
        for name, val in names.items():
            shown = name if not prefix else label + name
            if fnmatch.fnmatchcase(name, pattern) and shown not in out:
                out[shown] = val
    return out


def _artifact_list(src: Source) -> tuple[Any, bool]:
    names = store_artifacts(src.rec.dir)
    return ("\n".join(names), True) if names else (None, False)


Reader = Callable[[Source], tuple[Any, bool]]
KeyReader = Callable[[Source, str], tuple[Any, bool]]

_SPECIAL: dict[str, Reader] = {
    "artifacts": _artifact_list,
    "experiment-dir": lambda src: (str(src.rec.dir), True),
    "artifacts-dir": lambda src: (str(src.rec.dir / layout.ARTIFACTS), True),
    "params": lambda src: (sorted(_flat(src.params)), True),
    "metrics": lambda src: (list(src.metrics), True),
    "dependencies": lambda src: (src.slots, True),
    "tags": lambda src: (src.rec.tags, True),
    "cli-command": lambda src: _command(src, resolved=False),
    "run-command": lambda src: _command(src, resolved=True),
}


def _command(src: Source, *, resolved: bool) -> tuple[Any, bool]:
    from ._command_line import command_line  # here: only the command fields need it

    return command_line(src, resolved=resolved)


def _metric(src: Source, key: str) -> tuple[Any, bool]:
    return (src.metrics[key], True) if key in src.metrics else (None, False)


def _git(src: Source, key: str) -> tuple[Any, bool]:
    if key in _GIT:
        found = src.meta.get(_GIT[key])
        return found, found is not None
    return nested(src.meta.get("git") or {}, key)


def _environment(src: Source, path: str) -> tuple[Any, bool]:
    if path == "python.version":
        version = src.meta.get("python_version")
        return version, version is not None
    return nested(src.meta.get("environment") or {}, path)


def _meta(src: Source, key: str) -> tuple[Any, bool]:
    return value(src, key, None, None)


_PREFIXED: list[tuple[str, KeyReader]] = [
    ("params.", lambda src, key: nested(src.params, key)),
    ("param:", lambda src, key: nested(src.params, key)),
    ("metrics.", _metric),
    ("metric:", _metric),
    ("git.", _git),
    ("environment.", _environment),
    ("meta:", _meta),
]


def store_artifacts(exp_dir: Path) -> list[str]:
    from yanex._core import artifacts

    base = exp_dir / layout.ARTIFACTS
    return [str(base / name) for name in artifacts.list_names(base)]


def read_lines(path: Path, head: int | None, tail: int | None) -> tuple[str | None, bool]:
    """A text file, or its first ``head`` and/or last ``tail`` lines ('...' between)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, False
    if head is None and tail is None:
        return path.read_text(encoding="utf-8", errors="replace").rstrip("\n"), True
    first = _head(path, head) if head else []
    last = tail_lines(path, tail, size) if tail else []
    if head and tail:
        whole = _head(path, head + tail + 1)
        if len(whole) <= head + tail:
            return "\n".join(whole), True
        return "\n".join([*first, "...", *last]), True
    return "\n".join(first or last), True


def _head(path: Path, n: int) -> list[str]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            out.append(line.rstrip("\n"))
            if len(out) >= n:
                break
    return out


def tail_lines(path: Path, n: int, size: int, block: int = 64 * 1024) -> list[str]:
    """The last ``n`` lines of the first ``size`` bytes, read backwards (cheap for huge files)."""
    data = b""
    with open(path, "rb") as fh:
        pos = size
        while pos > 0 and data.count(b"\n") <= n:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    lines = data.decode("utf-8", errors="replace").rstrip("\n").split("\n")
    return lines[-n:] if data else []


def file_size(path: Path) -> str:
    try:
        size = float(path.stat().st_size)
    except OSError:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover
