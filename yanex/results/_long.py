"""Metrics of several experiments in long (tidy) format: one row per (step, metric)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from yanex._core import compare as _compare
from yanex._core import query as _query
from yanex._core.warn import skipped
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


def _read(rec: _query.Record, with_params: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    params = _compare.flatten(store.read_config(rec.dir)) if with_params else {}
    return store.read_metrics(rec.dir), params


def collect(
    records: list[_query.Record],
    metrics: list[str] | None,
    include_params: str | Sequence[str],
    *,
    as_dataframe: bool,
) -> Any:
    wanted = set(metrics) if metrics is not None else None
    found, problems = _query.each_readable(records, lambda rec: _read(rec, as_dataframe))
    skipped(problems)  # an experiment with an unreadable file is left out, with a warning
    series = {rec.id: entries for rec, (entries, _params) in found}
    if not as_dataframe:
        return {exp_id: _keep(entries, wanted) for exp_id, entries in series.items()}
    params = {rec.id: flat for rec, (_entries, flat) in found}
    columns = _param_columns(params, include_params)
    rows: list[dict[str, Any]] = []
    for exp_id, entries in series.items():
        extra = {c: params[exp_id].get(c) for c in columns}
        rows.extend(metric_rows(exp_id, entries, wanted, extra))
    from ._frames import long_metrics_frame

    return long_metrics_frame(rows, columns)


def metric_rows(
    exp_id: str,
    entries: list[dict[str, Any]],
    wanted: set[str] | None,
    extra: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """The long-format rows of one experiment's metric entries: one per (step, metric) in
    ``wanted`` (None: every metric), each followed by the ``extra`` columns."""
    for entry in entries:
        for key, value in entry.items():
            if key in _compare.NOT_METRICS or (wanted is not None and key not in wanted):
                continue
            yield {
                "experiment_id": exp_id,
                "step": entry.get("step"),
                "metric_name": key,
                "value": value,
                **extra,
            }


def _keep(entries: list[dict[str, Any]], wanted: set[str] | None) -> list[dict[str, Any]]:
    if wanted is None:
        return entries
    out = []
    for entry in entries:
        kept = {k: v for k, v in entry.items() if k in wanted}
        if kept:
            out.append({"step": entry.get("step"), **kept})
    return out
