"""Thinning a long metric series for a chart: min and max of each bucket, extremes kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Value = float | None


def _extremes(values: Sequence[Value], start: int, stop: int) -> list[int]:
    """Indices of the smallest and largest value in ``values[start:stop]``, in order."""
    seg = values[start:stop]
    if None not in seg:  # no gap: the builtins, without a Python step per value
        lo, hi = seg.index(min(seg)), seg.index(max(seg))  # type: ignore[type-var]
        return [start + lo] if lo == hi else [start + min(lo, hi), start + max(lo, hi)]
    lo = hi = -1
    lo_v = hi_v = 0.0
    for i in range(start, stop):
        v = values[i]
        if v is None:
            continue
        if lo < 0 or v < lo_v:
            lo, lo_v = i, v
        if hi < 0 or v > hi_v:
            hi, hi_v = i, v
    if lo < 0:
        return [start]  # only gaps here: keep one, so the chart shows the gap
    return sorted({lo, hi})


def min_max(
    steps: Sequence[Any], values: Sequence[Value], max_points: int
) -> tuple[list[Any], list[Value]]:
    """``(steps, values)`` thinned to at most ``max_points`` points (``max_points`` >= 4).

    The series is cut into about ``max_points / 2`` buckets of consecutive points; each keeps its
    minimum and its maximum, so every peak and trough of the full series is drawn, and the
    first and last points are always kept. A series short enough is returned whole.
    """
    n = len(values)
    if n <= max_points:
        return list(steps), list(values)
    buckets = max(1, (max_points - 2) // 2)  # two per bucket, plus both ends
    keep: list[int] = []
    for b in range(buckets):
        keep.extend(_extremes(values, b * n // buckets, (b + 1) * n // buckets))
    if keep[0] != 0:
        keep.insert(0, 0)
    if keep[-1] != n - 1:
        keep.append(n - 1)
    return [steps[i] for i in keep], [values[i] for i in keep]
