"""What ``yanex list`` does: the experiments that match the filters, newest first.

A broken experiment (its metadata.json unreadable or gone) is listed too, after the others,
with status ``broken`` and its id, unless a filter it cannot be judged on is given (status,
name, tags, script, times): its metrics and artifacts are still in its folder.

Its options are declared in ``list_cmd.py``; this module imports no asyncclick, so that
``_fast`` can run it without click.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from yanex._core import query
from yanex._core.filters import Filters
from yanex._store import layout

from . import _console, _render
from ._filters import FilterArgs, check_format, report_problems

DEFAULT_LIMIT = 10
CSV_FIELDS = [
    "id",
    "name",
    "project",
    "status",
    "tags",
    "created_at",
    "started_at",
    "completed_at",
    "duration",
    "script_path",
    "archived",
]


def item(rec: query.Record) -> dict[str, Any]:
    """One experiment as the machine-readable formats show it."""
    s = rec.summary
    return {
        "id": rec.id,
        "name": s.name,
        "project": s.project,
        "status": rec.status,
        "script_path": s.script_path,
        "tags": rec.tags,
        "description": s.description,
        "created_at": s.created_at,
        "started_at": s.started_at,
        "completed_at": s.completed_at,
        "duration": _render.run_seconds(s, rec.status),
        "error_message": s.error_message,
        "sweep_id": s.sweep_id,
        "retry_of": s.retry_of,
        "archived": rec.archived,
        "experiment_dir": f"{rec.base}/{rec.id}",
        "resources": s.resources,
    }


def broken_item(problem: query.Problem) -> dict[str, Any]:
    """A broken experiment in the machine-readable formats: what is known of it."""
    out: dict[str, Any] = dict.fromkeys(item_keys())
    out.update(
        id=problem.id,
        status="broken",
        tags=[],
        error_message=problem.message,
        archived=bool(problem.dir and f"/{layout.ARCHIVED}/" in problem.dir),
        experiment_dir=problem.dir,
    )
    return out


def item_keys() -> list[str]:
    return [
        "id", "name", "project", "status", "script_path", "tags", "description", "created_at",
        "started_at", "completed_at", "duration", "error_message", "sweep_id", "retry_of",
        "archived", "experiment_dir", "resources",
    ]  # fmt: skip


def _broken(found: query.Selection, filters: FilterArgs, ids: list[str] | None) -> list[Any]:
    """The broken experiments to list (see the module docstring)."""
    if dataclasses.replace(filters, ids=()).narrowing():
        return []
    return [
        p
        for p in found.problems
        if p.broken and (ids is None or any(p.id.startswith(i) for i in ids))
    ]


def _broken_row(problem: query.Problem, *, with_project: bool) -> list[str]:
    row = [problem.id, "-", "broken", "-", "-", "-"]
    return [*row, "?"] if with_project else row


def _row(rec: query.Record, *, with_project: bool) -> list[str]:
    s = rec.summary
    seconds = _render.run_seconds(s, rec.status)
    row = [
        rec.id,
        s.name or "-",
        rec.status + (" (archived)" if rec.archived else ""),
        _render.duration(seconds, running=rec.status == "running"),
        ", ".join(s.tags or ()) or "-",
        _render.when(s.started_at) or "-",
    ]
    return [*row, s.project or "-"] if with_project else row


def _latest_attempts(records: list[query.Record], flt: Filters) -> list[query.Record]:
    """``records`` without the attempts that a later one of the sweep replaces (found among
    every experiment of the sweep, whatever the other filters keep)."""
    from yanex._core import sweep  # only with --sweep: it imports the run machinery

    whole = query.select(Filters(sweep_id=flt.sweep_id, archived=None)).records
    replaced = {r.id for r in whole} - {r.id for r in sweep.latest(whole)}
    return [r for r in records if r.id not in replaced]


def run(*, filters: FilterArgs, show_all: bool, all_attempts: bool, fmt: str) -> None:
    """List experiments, newest first (the last 10 unless --all or --limit).

    By default only the current git repository's project is shown; --global shows all.
    --sweep ID shows the latest attempt of each member of that sweep (--all-attempts: all).
    """
    fmt = check_format(fmt)
    if all_attempts and filters.sweep is None:
        _console.fail("--all-attempts goes with --sweep ID", _console.EXIT_USAGE)
    limit = filters.limit if filters.limit is not None or show_all else DEFAULT_LIMIT
    flt = filters.build()
    flt.limit = None  # count every match, for the "showing N of M" line
    found = query.select(flt)
    if flt.sweep_id is not None and not all_attempts:
        found.records = _latest_attempts(found.records, flt)
    report_problems(found.problems)
    broken = _broken(found, filters, flt.ids)
    total = len(found.records)
    records = found.records[:limit] if limit is not None else found.records
    with_project = flt.project is None or bool(broken)
    headers = ["ID", "Name", "Status", "Duration", "Tags", "Started"]
    headers += ["Project"] if with_project else []
    if fmt == "default" and not records and not broken:
        scope = f" in project '{flt.project}' (--global shows all)" if flt.project else ""
        _console.echo(f"No experiments found{scope}.")
        return
    items = [item(r) for r in records] + [broken_item(p) for p in broken]
    if fmt == "json":
        _render.json_out(items)
    elif fmt == "csv":
        _render.csv_out(CSV_FIELDS, [[i[k] for k in CSV_FIELDS] for i in items])
    else:
        rows = [_row(r, with_project=with_project) for r in records]
        rows += [_broken_row(p, with_project=with_project) for p in broken]
        _render.emit(fmt, headers, rows)
    if fmt == "default" and total > len(records):
        _console.echo(f"Showing {len(records)} of {total} experiments (--all shows every one).")
