"""What a query keeps: the filters of listings and bulk commands, validated from user values.

Values come from the CLI or ``yanex.results`` keyword arguments: strings or lists, and
times as datetimes, ISO strings or phrases (``timespec``). Anything that cannot be
understood raises InvalidFilterError (a ValueError), which the CLI reports with exit 2.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from yanex._models import Status
from yanex._records import Record, Summary
from yanex._store import layout
from yanex._store.clock import to_unix
from yanex.errors import InvalidFilterError, InvalidReferenceError

from . import timespec

STATUSES = tuple(s.value for s in Status)


@dataclass
class Filters:
    """What to select. ``archived``: False = active only, True = archived only, None = both."""

    ids: list[str] | None = None
    status: list[str] | None = None
    name: str | None = None
    tags: list[str] | None = None
    project: str | None = None
    script_pattern: str | None = None
    started_after: float | None = None
    started_before: float | None = None
    ended_after: float | None = None
    ended_before: float | None = None
    sweep_id: str | None = None  # an id or id prefix of the sweep (yanex run / run_multiple)
    archived: bool | None = False
    limit: int | None = None

    @classmethod
    def build(cls, **given: Any) -> Filters:
        """Filters from user values (strings, lists, datetimes, time phrases), validated."""
        unknown = sorted(set(given) - _FILTER_KEYS)
        if unknown:
            known = ", ".join(sorted(_FILTER_KEYS))
            raise InvalidFilterError(f"unknown filter {unknown[0]!r} (known: {known})")
        out = cls(archived=given.get("archived", False))
        out.ids = _id_list(given.get("ids"))
        out.status = _statuses(given.get("status"))
        out.name = given.get("name")
        out.tags = _str_list(given.get("tags"), "tags")
        out.project = given.get("project")
        out.script_pattern = given.get("script_pattern")
        out.sweep_id = _sweep_id(given.get("sweep_id"))
        for key in ("started_after", "started_before", "ended_after", "ended_before"):
            value = given.get(key)
            if value is not None:
                setattr(out, key, timespec.parse(value).timestamp())
        out.limit = _limit(given.get("limit"))
        return out

    def matches(self, rec: Record) -> bool:
        """True when ``rec`` passes every filter (``limit`` and ``archived`` aside)."""
        s = rec.summary
        return (
            (self.status is None or rec.status in self.status)
            and (self.ids is None or any(rec.id.startswith(i) for i in self.ids))
            and (self.tags is None or _has_all(s.tags, self.tags))
            and (self.project is None or s.project == self.project)
            and (self.name is None or _name_matches(s.name, self.name))
            and (self.script_pattern is None or _script_matches(s.script_path, self))
            and (self.sweep_id is None or (s.sweep_id or "").startswith(self.sweep_id))
            and self._times_match(s)
        )

    def _times_match(self, s: Summary) -> bool:
        if self.started_after is not None or self.started_before is not None:
            start = to_unix(s.started_at)
            if start is None or not _within(start, self.started_after, self.started_before):
                return False
        if self.ended_after is not None or self.ended_before is not None:
            end = to_unix(s.completed_at)
            if end is None or not _within(end, self.ended_after, self.ended_before):
                return False
        return True


# the filters that say which experiments; ``archived`` and ``limit`` only narrow a selection
SELECTING = frozenset(
    {
        "ids",
        "status",
        "name",
        "tags",
        "project",
        "script_pattern",
        "started_after",
        "started_before",
        "ended_after",
        "ended_before",
        "sweep_id",
    }
)
_FILTER_KEYS = SELECTING | {"archived", "limit"}


def _has_all(tags: list[str] | None, wanted: list[str]) -> bool:
    """Every wanted tag is there; an empty wanted list (``tags=[]``) selects nothing, since
    an empty filter must never turn into "everything" for a bulk action."""
    return bool(wanted) and set(wanted).issubset(tags or ())


def _within(value: float, after: float | None, before: float | None) -> bool:

    return (after is None or value >= after) and (before is None or value <= before)


def _name_matches(name: str | None, pattern: str) -> bool:
    if pattern == "":
        return not name  # "" selects unnamed experiments
    return name is not None and fnmatch.fnmatchcase(name.lower(), pattern.lower())


def _script_matches(script: str | None, flt: Filters) -> bool:
    pattern = (flt.script_pattern or "").lower()
    if not script:
        return False
    base = script.replace("\\", "/").rsplit("/", 1)[-1].lower()
    stem = base[:-3] if base.endswith(".py") else base
    return fnmatch.fnmatchcase(base, pattern) or fnmatch.fnmatchcase(stem, pattern)


def _str_list(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    items = list(value) if isinstance(value, Iterable) else None
    if items is not None and all(isinstance(v, str) for v in items):
        return items
    raise InvalidFilterError(f"{what} must be a string or a list of strings")


def _id_list(value: Any) -> list[str] | None:
    ids = _str_list(value, "ids")
    if ids is None:
        return None
    out = [i.strip().lower() for part in ids for i in part.split(",") if i.strip()]
    for ref in out:
        try:
            layout.check_id_ref(ref)
        except InvalidReferenceError as exc:
            raise InvalidFilterError(f"ids: {exc}") from None
    return out


def _statuses(value: Any) -> list[str] | None:
    statuses = _str_list(value, "status")
    if statuses is None:
        return None
    for status in statuses:
        if status not in STATUSES:
            raise InvalidFilterError(
                f"unknown status {status!r} (choose from {', '.join(STATUSES)})"
            )
    return statuses


def _sweep_id(value: Any) -> str | None:
    if value is None:
        return None
    key = value.strip().lower() if isinstance(value, str) else ""
    if not (1 <= len(key) <= 8 and all(c in "0123456789abcdef" for c in key)):
        raise InvalidFilterError(
            f"sweep_id must be a sweep id (8 hex digits) or its prefix: {value!r}"
        )
    return key


def _limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFilterError(f"limit must be a non-negative integer, not {value!r}")
    return value
