"""Reading the times users give to filters: ISO dates and phrases like "2 hours ago".

Accepted: ISO 8601 dates and times (``2024-01-31``, ``2024-01-31 14:30``,
``2024-01-31T14:30:00Z``), ``now``, ``today``, ``yesterday``, ``tomorrow``,
``N <unit>(s) ago`` and ``a/an <unit> ago`` (units: seconds, minutes, hours, days, weeks,
months, years, and their usual abbreviations), and ``last <unit>``. A time without a zone is
the user's local time. Everything is returned as an aware UTC datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from yanex.errors import InvalidFilterError

_UNITS = {
    "s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds",
    "seconds": "seconds",
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes",
    "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "yr": "years", "yrs": "years", "year": "years", "years": "years",
}  # fmt: skip
_AGO = re.compile(r"^(\d+|an?|one)\s*([a-z]+)\s+ago$")
_LAST = re.compile(r"^last\s+([a-z]+)$")
_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}


def parse(spec: str | datetime, *, now: datetime | None = None) -> datetime:
    """The moment ``spec`` names, as an aware UTC datetime; InvalidFilterError otherwise."""
    if isinstance(spec, datetime):
        return _as_utc(spec)
    now = now or datetime.now(UTC)
    text = " ".join(str(spec).strip().lower().split())
    found = _phrase(text, now)
    if found is None:
        found = _iso(str(spec).strip())
    if found is None:
        raise InvalidFilterError(
            f"cannot read the time {spec!r}: give an ISO date such as 2024-01-31 or "
            "'2024-01-31 14:30', or a phrase such as '2 hours ago', 'yesterday', '1 week ago'"
        )
    return found


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.astimezone()  # a naive time is the user's local time
    return value.astimezone(UTC)


def _phrase(text: str, now: datetime) -> datetime | None:
    if text == "now":
        return now
    if text in _DAYS:
        local = now.astimezone()
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight + timedelta(days=_DAYS[text])).astimezone(UTC)
    match = _AGO.match(text)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else 1
        return _back(now, count, match.group(2))
    match = _LAST.match(text)
    if match:
        return _back(now, 1, match.group(1))
    return None


def _back(now: datetime, count: int, unit_word: str) -> datetime | None:
    unit = _UNITS.get(unit_word)
    if unit is None:
        return None
    if unit == "months":
        return _minus_months(now, count)
    if unit == "years":
        return _minus_months(now, 12 * count)
    return now - timedelta(**{unit: count})


def _minus_months(now: datetime, months: int) -> datetime:
    """Calendar months back; the day is clamped to the target month's length."""
    total = now.year * 12 + (now.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    for day in range(now.day, 0, -1):
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return now.replace(year=year, month=month, day=1)  # pragma: no cover


def _iso(text: str) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return _as_utc(value)
