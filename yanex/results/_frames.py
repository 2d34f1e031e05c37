"""pandas DataFrames of experiment data; the only module of yanex.results that needs pandas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yanex._core import compare as _compare


def pandas() -> Any:
    """The pandas module, or an ImportError that says how to get it."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "this yanex.results function returns a pandas DataFrame and needs pandas: "
            "pip install pandas"
        ) from exc
    return pd


def metrics_frame(entries: list[dict[str, Any]]) -> Any:
    """One experiment's metrics, one row per step (index ``step``)."""
    pd = pandas()
    frame = pd.DataFrame(entries)
    if "step" in frame.columns:
        frame = frame.set_index("step")
    return frame


def _numeric(pd: Any, column: list[Any]) -> Any:
    """Numbers as a numeric array when every value is one; otherwise the values as they are."""
    series = pd.Series(column, dtype=object)
    try:
        return pd.to_numeric(series).to_numpy()
    except (ValueError, TypeError):
        return series.to_numpy()


def comparison_frame(cmp: _compare.Comparison) -> Any:
    """Columns ("meta"|"param"|"metric", name), one row per experiment (index experiment_id)."""
    pd = pandas()
    rows = cmp.rows
    data: dict[tuple[str, str], Any] = {
        ("meta", "name"): [r.record.name for r in rows],
        ("meta", "status"): [r.record.status for r in rows],
        ("meta", "started_at"): pd.to_datetime(
            [r.record.summary.started_at for r in rows], utc=True, format="ISO8601"
        ),
        ("meta", "duration"): _numeric(pd, [r.record.summary.duration for r in rows]),
    }
    usages = [r.record.summary.resources or {} for r in rows]
    if any(usages):  # what the processes used, where the supervisor recorded it
        for name in ("peak_rss_mb", "cpu_seconds", "gpu_mem_peak_mb"):
            data[("resources", name)] = _numeric(pd, [u.get(name) for u in usages])
    for name in cmp.params:
        data[("param", name)] = _numeric(pd, [r.params.get(name) for r in rows])
    for name in cmp.metrics:
        data[("metric", name)] = _numeric(pd, [r.metrics.get(name) for r in rows])
    index = pd.Index([r.record.id for r in rows], name="experiment_id")
    frame = pd.DataFrame(data, index=index)
    frame.columns = pd.MultiIndex.from_tuples(list(data), names=["group", "name"])
    return frame


def long_metrics_frame(rows: list[dict[str, Any]], param_columns: Sequence[str]) -> Any:
    """Long (tidy) metrics: experiment_id, step, metric_name, value, then parameters."""
    pd = pandas()
    columns = ["experiment_id", "step", "metric_name", "value", *param_columns]
    return pd.DataFrame(rows, columns=columns)
