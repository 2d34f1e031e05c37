"""``yanex compare``: experiments side by side, their parameters and last metric values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncclick as click

from yanex._core import compare as _compare

from . import _console, _filters, _render
from ._filters import (
    FilterArgs,
    check_format,
    filter_options,
    format_option,
    pick,
    select,
    split_ids,
)
from ._filters import usage_error as _usage

FIXED = ["ID", "Name", "Started", "Duration", "Status", "Tags"]


def _names(values: tuple[str, ...]) -> list[str] | None:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def _fixed(row: _compare.Row) -> list[Any]:
    rec = row.record
    seconds = _render.run_seconds(rec.summary, rec.status)
    return [
        rec.id,
        rec.name or "-",
        _render.when(rec.summary.started_at) or "-",
        _render.duration(seconds, running=rec.status == "running"),
        rec.status,
        ", ".join(rec.tags) or "-",
    ]


def _cell(values: dict[str, Any], name: str) -> Any:
    return values.get(name, "-")


def _item(row: _compare.Row, cmp: _compare.Comparison) -> dict[str, Any]:
    rec = row.record
    return {
        "id": rec.id,
        "name": rec.name,
        "status": rec.status,
        "started_at": rec.summary.started_at,
        "duration": _render.run_seconds(rec.summary, rec.status),
        "tags": rec.tags,
        "params": {p: row.params.get(p) for p in cmp.params},
        "metrics": {m: row.metrics.get(m) for m in cmp.metrics},
    }


def _csv(cmp: _compare.Comparison) -> tuple[list[str], list[list[Any]]]:
    headers = ["id", "name", "started_at", "duration", "status", "tags"]
    headers += [f"param:{p}" for p in cmp.params] + [f"metric:{m}" for m in cmp.metrics]
    rows = []
    for row in cmp.rows:
        item = _item(row, cmp)
        fixed = [item[h] for h in ("id", "name", "started_at", "duration", "status", "tags")]
        rows.append([*fixed, *item["params"].values(), *item["metrics"].values()])
    return headers, rows


@click.command("compare", short_help="Compare experiments' parameters and metrics.")
@click.argument("experiments", nargs=-1)
@filter_options()
@click.option("--param", "--params", "params", multiple=True, help="Parameter columns: a,b.")
@click.option("--metric", "--metrics", "metrics", multiple=True, help="Metric columns: a,b.")
@click.option("--only-different", is_flag=True, help="Hide columns equal in every row.")
@click.option("--max-rows", type=int, default=None, help="At most this many experiments.")
@click.option("--export", "export", default=None, help="Write the table as CSV to a file instead.")
@click.option("--no-interactive", is_flag=True, help="A static table, even on a terminal.")
@format_option()
async def command(
    *,
    experiments: tuple[str, ...],
    filters: FilterArgs,
    params: tuple[str, ...],
    metrics: tuple[str, ...],
    only_different: bool,
    max_rows: int | None,
    export: str | None,
    no_interactive: bool,
    fmt: str,
) -> None:
    """Compare experiments (given by id, prefix or name, or selected by the filters):
    one row each, with parameter (param:) and last metric value (metric:) columns.

    On a terminal it opens an interactive table (keys: ? for help, q to quit) unless
    --no-interactive, --export or another --format is given."""
    fmt = check_format(fmt)
    experiments = tuple(split_ids(experiments))
    if experiments and filters.narrowing():
        _usage("give experiment ids or filters to compare, not both")
    if experiments:
        records = list({r.id: r for r in (pick(e, archived=None) for e in experiments)}.values())
    else:
        records = select(filters, archived=None if filters.archived else False)
    records = records[:max_rows] if max_rows is not None else records
    cmp = _compare.build(
        records, params=_names(params), metrics=_names(metrics), only_different=only_different
    )
    _filters.report_problems(cmp.problems)  # left out, one warning line each
    if export:
        _export(cmp, Path(export))
    elif fmt == "default" and not no_interactive and _terminal() and cmp.rows:
        await _interactive(cmp)
    else:
        _show(cmp, fmt)


def _terminal() -> bool:
    """Keys can be read and the table drawn: stdin and stdout are both a terminal."""
    import sys

    return _console.is_tty() and sys.stdin.isatty()


async def _interactive(cmp: _compare.Comparison) -> None:
    """The Textual table; the static one when Textual or asyncio is not there."""
    import sniffio

    try:
        from . import _compare_tui
    except ImportError:
        _console.echo("Note: pip install 'yanex[ui]' for the interactive table.", err=True)
        _show(cmp, "default")
        return
    if sniffio.current_async_library() != "asyncio":
        _show(cmp, "default")
        return
    await _compare_tui.run(*tui_table(cmp), Path.cwd())


def tui_table(cmp: _compare.Comparison) -> tuple[list[str], list[list[Any]]]:
    """Headers (params marked 📊, metrics 📈, as documented) and raw rows of the TUI."""
    headers = FIXED + [f"📊 {p}" for p in cmp.params] + [f"📈 {m}" for m in cmp.metrics]
    rows = [
        [*_fixed(row), *(row.params.get(p) for p in cmp.params)]
        + [row.metrics.get(m) for m in cmp.metrics]
        for row in cmp.rows
    ]
    return headers, rows


def _export(cmp: _compare.Comparison, path: Path) -> None:
    import csv

    headers, rows = _csv(cmp)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows([[_render.text(c) for c in row] for row in rows])
    _console.echo(f"Wrote {len(rows)} rows to {path}", err=True)


def _show(cmp: _compare.Comparison, fmt: str) -> None:
    if fmt == "json":
        _render.json_out([_item(row, cmp) for row in cmp.rows])
        return
    if fmt == "csv":
        headers, rows = _csv(cmp)
        _render.csv_out(headers, rows)
        return
    if not cmp.rows and fmt == "default":
        _console.echo("No experiments to compare.")
        return
    headers = FIXED + [f"param:{p}" for p in cmp.params] + [f"metric:{m}" for m in cmp.metrics]
    rows = [
        [*_fixed(row), *(_cell(row.params, p) for p in cmp.params)]
        + [_cell(row.metrics, m) for m in cmp.metrics]
        for row in cmp.rows
    ]
    _render.emit(fmt, headers, rows)
