"""Side-by-side data of several experiments: their parameters and last metric values.

Shared by ``yanex compare`` and ``yanex.results.compare``/``get_metrics``; plain Python
(no pandas), so the CLI can print it without importing pandas. Nested parameters are
flattened to dotted names (``model.layers``); a metric's value is the last one logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from yanex._store import store
from yanex._store.schema import json_encoder

from . import query

NOT_METRICS = frozenset({"step", "timestamp", "last_updated"})


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"layers": 3}}`` -> ``{"model.layers": 3}``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def last_values(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Each metric's last logged value."""
    out: dict[str, Any] = {}
    for entry in entries:
        for key, value in entry.items():
            if key not in NOT_METRICS:
                out[key] = value
    return out


def metric_names(entries: Iterable[dict[str, Any]]) -> list[str]:
    return list(last_values(entries))


@dataclass
class Row:
    record: query.Record
    params: dict[str, Any]
    metrics: dict[str, Any]


@dataclass
class Comparison:
    params: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    problems: list[query.Problem] = field(default_factory=list)  # left out: unreadable files


def _columns(chosen: Sequence[str] | None, found: Iterable[dict[str, Any]]) -> list[str]:
    if chosen is not None:
        return list(chosen)
    names: dict[str, None] = {}
    for values in found:
        names.update(dict.fromkeys(values))
    return list(names)


def _key(value: Any) -> bytes:
    return json_encoder.encode(value)


def differing(columns: list[str], values: list[dict[str, Any]]) -> list[str]:
    """The columns whose values are not the same in every row."""
    return [c for c in columns if len({_key(v.get(c)) for v in values}) > 1]


def _row(rec: query.Record) -> Row:
    return Row(rec, flatten(store.read_config(rec.dir)), last_values(store.read_metrics(rec.dir)))


def build(
    records: Sequence[query.Record],
    *,
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    only_different: bool = False,
) -> Comparison:
    """The comparison of ``records``; ``None`` columns are discovered from the data.

    An experiment whose config or metrics cannot be read is left out, as a problem."""
    found, problems = query.each_readable(records, _row)
    rows = [row for _rec, row in found]
    out = Comparison(
        params=_columns(params, (row.params for row in rows)),
        metrics=_columns(metrics, (row.metrics for row in rows)),
        rows=rows,
        problems=problems,
    )
    if only_different and len(rows) > 1:
        out.params = differing(out.params, [row.params for row in rows])
        out.metrics = differing(out.metrics, [row.metrics for row in rows])
    return out
