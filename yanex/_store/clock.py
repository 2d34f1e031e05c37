"""Timestamps as the store writes them: ISO 8601 in UTC with a ``Z`` marker."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# (whole second, its formatted text): replaying a metrics log formats ~100,000 times that
# mostly share their second, and strftime dominated reading them back. One tuple, swapped
# whole, so threads never see a second paired with another second's text.
_last_second: list[tuple[int, str]] = [(-1, "")]


def iso(ts: float) -> str:
    """``2026-11-27T15:48:59.666477Z`` for a unix time."""
    whole = int(ts)
    micros = round((ts - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    cached = _last_second[0]
    if cached[0] != whole:
        cached = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
        _last_second[0] = cached
    return f"{cached[1]}.{micros:06d}Z"


def now_iso() -> str:
    return iso(time.time())


def parse(value: str | None) -> datetime | None:
    """An aware UTC datetime; naive timestamps (yanex 0.6 writes those) are taken as UTC."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def to_unix(value: str | None) -> float | None:
    dt = parse(value)
    return dt.timestamp() if dt is not None else None
