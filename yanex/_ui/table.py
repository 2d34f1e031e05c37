"""The experiments table of the web UI: filters, text search, sorting and one page of rows.

It uses the CLI's own selection (``query.select`` with ``filters.Filters``), so the table
shows what ``yanex list`` shows for the same filters; only the text search, the sort order
and the page are added here. A 10,000-experiment store is read in about 0.1 s (one small
``metadata.json`` decode each, see ``summaries``); sorting and slicing cost little more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yanex._core import metadata, query
from yanex._core.filters import Filters
from yanex._core.summaries import sort_key
from yanex.errors import InvalidFilterError

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50


def seconds(rec: query.Record) -> float | None:
    """Run time: recorded, or from start to end (to now, on the client, while running)."""
    return metadata.run_seconds(rec.summary, rec.status, live=False)


SORTS: dict[str, Callable[[query.Record], Any]] = {
    "created": lambda r: r.created,
    "started": lambda r: sort_key(r.summary.started_at),
    "id": lambda r: r.id,
    "name": lambda r: (r.name or "").lower(),
    "status": lambda r: r.status,
    "project": lambda r: (r.summary.project or "").lower(),
    "tags": lambda r: ",".join(r.tags).lower(),
    "duration": lambda r: (seconds(r) is not None, seconds(r) or 0.0),
}


@dataclass
class TableQuery:
    """One request for the table, parsed from the query string."""

    filters: Filters
    text: str = ""
    sort: str = "created"
    descending: bool = True
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


def _split(values: list[str]) -> list[str] | None:
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def _int(value: str | None, default: int, what: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidFilterError(f"{what} must be a whole number, not {value!r}") from None


def parse(
    params: Mapping[str, str], lists: Callable[[str], list[str]], project: str | None
) -> TableQuery:
    """A TableQuery from query parameters; ``project`` is the default scope (the CLI's).

    ``project=`` (empty) means every project. Raises InvalidFilterError for bad values.
    """
    given_project = params.get("project")
    archived = params.get("archived", "")
    flt = Filters.build(
        status=_split(lists("status")),
        tags=_split(lists("tag")),
        name=params.get("name") or None,
        project=project if given_project is None else (given_project or None),
        started_after=params.get("started_after") or None,
        started_before=params.get("started_before") or None,
        ended_after=params.get("ended_after") or None,
        ended_before=params.get("ended_before") or None,
        archived={"only": True, "1": None, "true": None}.get(archived, False),
        sweep_id=params.get("sweep") or None,
    )
    sort = params.get("sort", "created")
    if sort not in SORTS:
        raise InvalidFilterError(f"unknown sort column {sort!r} (choose from {', '.join(SORTS)})")
    per_page = min(MAX_PER_PAGE, max(1, _int(params.get("per_page"), DEFAULT_PER_PAGE, "per_page")))
    return TableQuery(
        filters=flt,
        text=params.get("q", "").strip().lower(),
        sort=sort,
        descending=params.get("order", "desc") != "asc",
        page=max(1, _int(params.get("page"), 1, "page")),
        per_page=per_page,
    )


def _matches_text(rec: query.Record, text: str) -> bool:
    s = rec.summary
    fields = (rec.id, s.name, s.description, s.script_path, s.project, *(s.tags or ()))
    return any(text in f.lower() for f in fields if f)


def row(rec: query.Record) -> dict[str, Any]:
    s = rec.summary
    return {
        "id": rec.id,
        "name": s.name,
        "status": rec.status,
        "project": s.project,
        "tags": rec.tags,
        "description": s.description,
        "script": s.script_path,
        "created_at": s.created_at,
        "started_at": s.started_at,
        "completed_at": s.completed_at,
        "duration": seconds(rec),
        "archived": rec.archived,
        "error": s.error_message,
    }


def page(tq: TableQuery) -> dict[str, Any]:
    """The rows of one page, the total count and the problems met while reading."""
    found = query.select(tq.filters)
    records = found.records
    if tq.text:
        records = [r for r in records if _matches_text(r, tq.text)]
    key = SORTS[tq.sort]
    if tq.sort != "created" or not tq.descending:  # select() already gives newest first
        records = sorted(records, key=lambda r: (key(r), r.created), reverse=tq.descending)
    start = (tq.page - 1) * tq.per_page
    return {
        "total": len(records),
        "page": tq.page,
        "per_page": tq.per_page,
        "rows": [row(r) for r in records[start : start + tq.per_page]],
        "problems": [{"id": p.id, "message": p.message} for p in found.problems],
    }
