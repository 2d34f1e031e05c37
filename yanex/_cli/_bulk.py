"""What archive, unarchive, delete and update share: preview, confirmation, reporting.

Each acts on experiments named on the command line or selected by filters; shows which
ones, asks before acting (``--force`` skips the question; the question and its answer use
stderr so machine-readable output stays clean), acts on each one (a failure is reported
and does not stop the others) and reports what happened in the chosen format. The exit
code is 1 when anything failed or the question got no answer (end of input); answering no
exits 0, having done nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from yanex._core import query
from yanex.errors import YanexError

from . import _console, _render
from ._filters import FilterArgs, check_format, confirm, targets


def preview(records: Sequence[query.Record], what: str) -> None:
    _console.echo(f"{what} {len(records)} experiment(s):", err=True)
    for rec in records:
        _console.echo(f"  {rec.id}  {rec.name or '(unnamed)'}  {rec.status}", err=True)


def declined(verb: str) -> None:
    """The user said no: nothing was done, as asked, so the exit code is 0."""
    _console.echo(f"Cancelled: nothing was {verb}.", err=True)
    raise SystemExit(0)


def act(
    records: Sequence[query.Record],
    action: Callable[[query.Record], Any],
    *,
    done: str,
    fmt: str,
) -> None:
    """Apply ``action`` to each record and report; exit 1 when any of them failed."""
    results: list[dict[str, Any]] = []
    for rec in records:
        try:
            detail = action(rec)
            results.append({"id": rec.id, "name": rec.name, "result": done, "detail": detail})
        except (YanexError, OSError) as exc:
            results.append({"id": rec.id, "name": rec.name, "result": "error", "detail": str(exc)})
    report(results, done, fmt)
    if any(r["result"] == "error" for r in results):
        raise SystemExit(_console.EXIT_ERROR)


def move(
    experiments: tuple[str, ...],
    filters: FilterArgs,
    *,
    force: bool,
    fmt: str,
    to_archive: bool,
) -> None:
    """archive (``to_archive``) or unarchive: select, preview, confirm, move, report."""
    from yanex._core import manage

    fmt = check_format(fmt)
    verb = "archive" if to_archive else "unarchive"
    records = targets(experiments, filters, archived=not to_archive, verb=verb)
    if not records:
        none = "No experiments to archive." if to_archive else "No archived experiments to restore."
        _console.echo(none, err=True)
        return
    preview(records, "Archiving" if to_archive else "Restoring")
    question = "Archive" if to_archive else "Restore"
    if not force and not confirm(f"{question} {len(records)} experiment(s)?"):
        declined("archived" if to_archive else "restored")
    manage.sweep_leftovers()  # staging copies an interrupted move left behind
    action = manage.archive if to_archive else manage.unarchive
    act(records, action, done=f"{verb}d", fmt=fmt)


def report(results: list[dict[str, Any]], done: str, fmt: str) -> None:
    if fmt == "default":
        for r in results:
            name = f" ({r['name']})" if r["name"] else ""
            if r["result"] == "error":
                _console.error(f"{r['id']}{name}: {r['detail']}")
            else:
                _console.echo(f"{done.capitalize()} {r['id']}{name}{_detail(r['detail'])}")
        return
    headers = ["id", "name", "result", "detail"]
    rows = [[r[h] for h in headers] for r in results]
    _render.emit(fmt, headers, rows, items=results)


def _detail(detail: Any) -> str:
    if isinstance(detail, dict):
        changes = [
            f"{k}: {_render.text(old)} -> {_render.text(new)}" for k, (old, new) in detail.items()
        ]
        return ": " + "; ".join(changes) if changes else " (no change)"
    return f" -> {detail}" if detail else ""
