"""Metrics of several experiments in long (tidy) format: one row per (step, metric)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yanex._core import compare as _compare
from yanex._core import query as _query
from yanex._store import store


def _param_columns(params: dict[str, dict[str, Any]], include: str | Sequence[str]) -> list[str]:
    if isinstance(include, str):
        if include == "none":
            return []
        names = list(dict.fromkeys(k for p in params.values() for k in p))
        if include == "all":
            return names
        if include == "auto":
            return _compare.differing(names, list(params.values())) if len(params) > 1 else []
        raise ValueError(
            f"include_params must be 'auto', 'all', 'none' or a list of names, not {include!r}"
        )
    return list(include)


def collect(
    records: list[_query.Record],
    metrics: list[str] | None,
    include_params: str | Sequence[str],
    *,
    as_dataframe: bool,
) -> Any:
    wanted = set(metrics) if metrics is not None else None
    series = {r.id: store.read_metrics(r.dir) for r in records}
    if not as_dataframe:
        return {exp_id: _keep(entries, wanted) for exp_id, entries in series.items()}
    params = {r.id: _compare.flatten(store.read_config(r.dir)) for r in records}
    columns = _param_columns(params, include_params)
    rows = []
    for exp_id, entries in series.items():
        extra = {c: params[exp_id].get(c) for c in columns}
        for entry in entries:
            for key, value in entry.items():
                if key in _compare.NOT_METRICS or (wanted is not None and key not in wanted):
                    continue
                rows.append(
                    {
                        "experiment_id": exp_id,
                        "step": entry.get("step"),
                        "metric_name": key,
                        "value": value,
                        **extra,
                    }
                )
    from ._frames import long_metrics_frame

    return long_metrics_frame(rows, columns)


def _keep(entries: list[dict[str, Any]], wanted: set[str] | None) -> list[dict[str, Any]]:
    if wanted is None:
        return entries
    out = []
    for entry in entries:
        kept = {k: v for k, v in entry.items() if k in wanted}
        if kept:
            out.append({"step": entry.get("step"), **kept})
    return out
