"""Bulk operations of ``yanex.results``: archive the experiments filters select, or export them.

A bulk action needs at least one filter that says which experiments: called with none, it
refuses (ValueError) instead of acting on the whole store; a filter given as an empty list
(``ids=[]``, ``tags=[]``, ``status=[]``) selects nothing, so the action does nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

from yanex._core import compare as _compare
from yanex._core import manage, query, values
from yanex._core.filters import SELECTING, Filters
from yanex._core.warn import skipped
from yanex._store import fs
from yanex.errors import InvalidFilterError, YanexError

from .experiment import Experiment

log = logging.getLogger("yanex.results")

EXPORT_FORMATS = ("json", "csv", "yaml")


_CSV_FIXED = [
    "id",
    "name",
    "status",
    "project",
    "tags",
    "created_at",
    "started_at",
    "completed_at",
    "duration_seconds",
    "script_path",
    "archived",
]


def _require_selection(filters: dict[str, Any], what: str) -> None:
    if not any(filters.get(key) is not None for key in SELECTING):
        raise InvalidFilterError(
            f"{what} needs at least one filter saying which experiments "
            f"({', '.join(sorted(SELECTING))}); it never acts on the whole store by default"
        )


def _select(filters: dict[str, Any]) -> list[query.Record]:
    found = query.select(Filters.build(**filters))
    for problem in found.problems:
        log.warning("skipped experiment %s: %s", problem.id, problem.message)
    skipped(found.problems)  # and one warning each on stderr, as the other loops give
    return found.records


def archive_experiments(**filters: Any) -> int:
    """Move the active experiments matching the filters into the archive.

    Returns how many were archived. One that cannot be moved is logged (logger
    ``yanex.results``) and skipped. Raises ValueError when no filter is given.
    """
    _require_selection(filters, "archive_experiments()")
    if filters.get("archived") is True:
        return 0  # archived ones cannot be archived again
    filters["archived"] = False
    count = 0
    for rec in _select(filters):
        try:
            manage.archive(rec)
        except (YanexError, OSError) as exc:
            log.warning("could not archive %s: %s", rec.id, exc)
            continue
        count += 1
    return count


def export_experiments(path: str | os.PathLike[str], format: str = "json", **filters: Any) -> None:
    """Write the experiments matching the filters to ``path`` as "json", "csv" or "yaml".

    json and yaml: a list with everything about each experiment (``Experiment.to_dict``:
    metadata, parameters, every metric step, artifact names, script runs, dependencies).
    csv: one row per experiment with its facts, ``param:<name>`` columns (nested parameters
    dotted) and ``metric:<name>`` columns holding each metric's last value. Values are
    written exactly (no rounding). Active and archived experiments are both included unless
    ``archived=`` says otherwise.

    Raises ValueError for an unknown format or no filter, OSError when the file cannot be
    written; the file is replaced atomically, so a failure leaves any old one intact.
    """
    fmt = str(format).strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r} (choose from json, csv, yaml)")
    _require_selection(filters, "export_experiments()")
    filters.setdefault("archived", None)
    experiments = [Experiment._from_record(r) for r in _select(filters)]
    if fmt == "csv":
        data = _csv(experiments)
    else:
        items = [exp.to_dict() for exp in experiments]
        data = _json(items) if fmt == "json" else _yaml(items)
    target = Path(path).expanduser()
    fs.atomic_write(target.resolve(), data)


def _json(items: list[dict[str, Any]]) -> bytes:
    # NaN and infinities as the tokens json.loads and yanex 0.6 read back
    return (json.dumps(items, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def _yaml(items: list[dict[str, Any]]) -> bytes:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a dependency
        raise ImportError("exporting as yaml needs PyYAML: pip install PyYAML") from exc
    plain = json.loads(json.dumps(items, default=str))  # only YAML-safe builtins left
    text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text.encode()


def _csv(experiments: list[Experiment]) -> bytes:
    rows = []
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for exp in experiments:
        flat = _compare.flatten(exp.get_params())
        last = _compare.last_values(exp.get_metrics())
        params.update(dict.fromkeys(flat))
        metrics.update(dict.fromkeys(last))
        rows.append((exp, flat, last))
    headers = _CSV_FIXED + [f"param:{p}" for p in params] + [f"metric:{m}" for m in metrics]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    for exp, flat, last in rows:
        facts = exp.to_dict() | {"tags": ", ".join(exp.tags)}
        fixed = [facts.get(key) for key in _CSV_FIXED]
        values = fixed + [flat.get(p) for p in params] + [last.get(m) for m in metrics]
        writer.writerow([_cell(v) for v in values])
    return buf.getvalue().encode()


def _cell(value: Any) -> str:
    """``values.exact``, but a list as JSON (one cell: "a, b" would not read back)."""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return values.exact(value)
