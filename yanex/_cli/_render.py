"""Rendering query results: tables in every output format, and the small value formatters.

``emit`` prints one table as the chosen format: ``default`` (a rich table on a terminal,
aligned plain text otherwise, both through ``_console.table``), ``json`` (the given items),
``csv`` or ``markdown``. Values are exact in every format but ``default``, whose tables may
round a long float, visibly (``0.123457…``).
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from typing import Any

from yanex._core import metadata, values
from yanex._store.clock import to_unix
from yanex._store.schema import encode_pretty

from . import _console


def text(value: Any) -> str:
    """A value exactly ('' for None, 'a, b' for lists, JSON for dicts, floats unrounded):
    what can be copied, piped or exported (see ``_core.values``)."""
    return values.exact(value)


def cell(value: Any) -> str:
    """A value in a terminal table: a long float rounded, ending in '…' to say so."""
    return values.short(value)


def when(value: str | None) -> str:
    """A stored timestamp as local 'YYYY-MM-DD HH:MM:SS'."""
    seconds = to_unix(value)
    if seconds is None:
        return value or ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def duration(seconds: float | None, *, running: bool = False) -> str:
    """'0.3s', '12.3s', '4m 05s', '2h 03m', '3d 04h'; '+' marks one still running."""
    if seconds is None:
        return "-"
    mark = "+" if running else ""
    if seconds < 60:
        return f"{seconds:.1f}s{mark}"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s{mark}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m{mark}"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h{mark}"


run_seconds = metadata.run_seconds


def raw(content: str) -> None:
    """Text exactly as given (no newline added): sweep output for shell substitution."""
    _console.echo(content, nl=False)


def json_out(items: Any) -> None:
    _console.echo(encode_pretty(items).decode())


def csv_out(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import csv  # here: only -F csv needs it

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[text(c) for c in row] for row in rows])
    _console.echo(buf.getvalue(), nl=False)


def _md_cell(value: Any) -> str:
    return text(value).replace("|", "\\|").replace("\n", " ")


def markdown_out(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |"]
    lines.append("| " + " | ".join("---" for _ in headers) + " |")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    _console.echo("\n".join(lines))


def emit(
    fmt: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    items: Any = None,
    title: str | None = None,
) -> None:
    """Print a table in ``fmt``; ``items`` is what json prints (default: rows as dicts)."""
    if fmt == "json":
        json_out(items if items is not None else [dict(zip(headers, r, strict=True)) for r in rows])
    elif fmt == "csv":
        csv_out(headers, rows)
    elif fmt == "markdown":
        markdown_out(headers, rows)
    else:
        cells = [[c if type(c) is str else cell(c) for c in row] for row in rows]
        _console.table(headers, cells, title=title)
