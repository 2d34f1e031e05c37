"""What the experiment and compare pages show: metadata, git, lineage and metric series.

Metric series are read with the store's own reader (``read_metrics``: every logged step,
of a running experiment too), split into one ``(steps, values)`` pair per numeric metric,
and thinned on the server (``downsample.min_max``) so a 100,000-step metric stays a small
answer. The last few answers are kept, keyed by the metric files' size and mtime, so a
page that asks again (compare, a reload) does not decode the file again.
"""

from __future__ import annotations

import math
import operator
from collections import OrderedDict
from pathlib import Path
from typing import Any

import msgspec

from yanex._core import compare, dependencies, query
from yanex._models import Status
from yanex._store import layout, store

from . import downsample, files

PATCH_BYTES = 1024 * 1024
CHART_POINTS = 2000
Series = dict[str, tuple[list[Any], list[Any]]]  # metric -> (steps, values or None)


LIVE = frozenset({Status.RUNNING, Status.CREATED})


def running(rec: query.Record) -> bool:
    """Still going: its page streams (a staged one waits for ``yanex run --staged``)."""
    return rec.status in LIVE


def experiment(rec: query.Record) -> dict[str, Any]:
    """Everything the experiment page shows at first, but the metrics and the lineage."""
    meta = store.read_metadata(rec.dir)
    raw = msgspec.to_builtins(meta)
    environment = raw.pop("environment", None) or {}
    raw.pop("git", None)
    return {
        "id": rec.id,
        "status": rec.status,
        "running": running(rec),
        "archived": rec.archived,
        "metadata": raw,
        "params": store.read_config(rec.dir),
        "environment": environment,
        "git": _git(rec.dir, meta),
        "dependencies": dependencies.slots_of(rec.dir, meta.depends_on),
        "artifacts": files.listing(rec),
        "script_runs": store.read_script_runs(rec.dir),
    }


def _git(exp_dir: Path, meta: Any) -> dict[str, Any]:
    patch, truncated = None, False
    name = meta.patch_file or f"{layout.ARTIFACTS}/git_diff.patch"
    rec_dir = exp_dir / layout.ARTIFACTS
    path = exp_dir / name
    if path.parent == rec_dir and path.is_file() and not path.is_symlink():
        with open(path, "rb") as fh:
            data = fh.read(PATCH_BYTES + 1)
        patch, truncated = data[:PATCH_BYTES].decode("utf-8", "replace"), len(data) > PATCH_BYTES
    return {
        "commit": meta.git_commit,
        "branch": meta.git_branch,
        "dirty": meta.has_uncommitted_changes,
        "patch": patch,
        "patch_truncated": truncated,
    }


def lineage(rec: query.Record, depth: int = 10) -> dict[str, Any]:
    """The experiments this one depends on and those depending on it, as nodes and edges."""
    graph = dependencies.lineage([rec], depth)
    nodes = [
        {"id": n.id, "name": n.name, "status": n.status, "missing": False}
        for n in graph.nodes.values()
    ]
    nodes += [{"id": m, "name": None, "status": "missing", "missing": True} for m in graph.missing]
    order = {n: i for i, n in enumerate(graph.topological_ids())}
    nodes.sort(key=lambda n: order.get(str(n["id"]), len(order)))
    edges = [{"from": a, "to": b, "slot": slot} for a, b, slot in graph.edges]
    return {"target": rec.id, "nodes": nodes, "edges": edges}


# --- metrics ------------------------------------------------------------------------------

_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
CACHE_SIZE = 16


def _stamp(exp_dir: Path) -> tuple[Any, ...]:
    out: list[Any] = [str(exp_dir)]
    for name in (layout.METRICS, layout.METRICS_LOG):
        try:
            st = (exp_dir / name).stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [None, None]
    return tuple(out)


def number(value: Any) -> float | None:
    """A chartable value: finite int or float (NaN and infinities become gaps)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


_GONE = object()


def _values(rows: list[dict[str, Any]], key: str, missing: Any) -> list[Any]:
    """``row[key]`` of every row (``missing`` where it has none), by C-level loops."""
    try:
        return list(map(operator.itemgetter(key), rows))
    except KeyError:
        return [e.get(key, missing) for e in rows]


def _column(rows: list[dict[str, Any]], key: str, xs: list[Any]) -> tuple[list[Any], list[Any]]:
    """``(steps, values)`` of one metric: entries without a number for it are left out."""
    col = _values(rows, key, _GONE)
    kinds = set(map(type, col))  # the usual cases are decided without a Python step per value
    if kinds == {float}:
        if math.isfinite(sum(col)):  # no NaN nor infinity among them
            return xs, col
        return xs, [v if v - v == 0 else None for v in col]  # v - v is NaN for NaN and inf
    if kinds == {int}:
        return xs, [float(v) for v in col]
    out_x, out_y = [], []
    for x, v in zip(xs, col, strict=True):
        y = number(v)
        if y is not None or isinstance(v, float):  # text, lists, None: left out; NaN: a gap
            out_x.append(x)
            out_y.append(y)
    return out_x, out_y


def split(entries: list[dict[str, Any]], start: int = 0, *, base: int = 0) -> Series:
    """One ``(steps, values)`` per metric that has a number, from ``entries[start:]``
    (``base``: how many entries came before ``entries``, for steps that are not numbers).

    Column by column, with comprehensions: a 100,000-step metric is split in a few
    milliseconds, where a loop over each entry's items took about 0.15 s.
    """
    rows = entries[start:] if start else entries
    steps = _values(rows, "step", None)
    if set(map(type, steps)) <= {int}:
        xs: list[Any] = steps  # the usual case: steps as logged, no conversion
    else:
        xs = [x if number(x) is not None else base + start + i for i, x in enumerate(steps)]
    out: Series = {}
    first = rows[0] if rows else {}
    names = set().union(*rows) - compare.NOT_METRICS
    for key in [*(k for k in first if k in names), *sorted(names - first.keys())]:
        sx, sy = _column(rows, key, xs)
        if sx:
            out[key] = (sx, sy)
    return out


def _thin(exp_dir: Path, points: int) -> dict[str, Any]:
    # chunk by chunk: only the columns grow, never all the steps' dicts at once (a
    # 100,000-step metric would otherwise add about 30 MB to the server's peak)
    found: Series = {}
    count = 0
    for chunk in store.read_metric_chunks(exp_dir):
        for name, (xs, ys) in split(chunk, base=count).items():
            column = found.setdefault(name, ([], []))
            column[0].extend(xs)
            column[1].extend(ys)
        count += len(chunk)
    out = {}
    for name, (xs, ys) in found.items():
        sx, sy = downsample.min_max(xs, ys, points)
        out[name] = {"steps": sx, "values": sy, "total": len(xs), "downsampled": len(sx) < len(xs)}
    return {"count": count, "metrics": out}


def metrics(rec: query.Record, points: int = CHART_POINTS) -> dict[str, Any]:
    """Each metric as a chart series, thinned to at most ``points`` points.

    The answers (small: ``points`` per metric) are kept for the last few requests, keyed by
    the metric files' size and mtime; the decoded entries are not, so a server that showed
    a long metric once does not hold it in memory.
    """
    key = (*_stamp(rec.dir), points)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    found = _cache[key] = _thin(rec.dir, points)
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return found


def compare_runs(records: list[query.Record], points: int = 1000) -> dict[str, Any]:
    """Parameters (with the differing ones marked), last metric values and series of each."""
    cmp = compare.build(records)
    params = compare.differing(cmp.params, [r.params for r in cmp.rows])
    runs = []
    for row in cmp.rows:
        rec = row.record
        found = metrics(rec, points)["metrics"]
        runs.append(
            {
                "id": rec.id,
                "name": rec.name,
                "status": rec.status,
                "params": {p: row.params.get(p) for p in cmp.params},
                "last": {m: number(row.metrics.get(m)) for m in cmp.metrics},
                "series": {
                    k: {"steps": v["steps"], "values": v["values"]} for k, v in found.items()
                },
            }
        )
    return {
        "params": cmp.params,
        "differing": params,
        "metrics": cmp.metrics,
        "runs": runs,
        "problems": [{"id": p.id, "message": p.message} for p in cmp.problems],
    }
