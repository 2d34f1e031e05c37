"""``yanex delete``: remove experiments for good (asks first; twice for several)."""

from __future__ import annotations

import asyncclick as click

from yanex._core import dependencies, manage, query

from . import _bulk, _console
from ._filters import FilterArgs, check_format, confirm, filter_options, format_option, targets


@click.command("delete", short_help="Delete experiments for good.")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="Delete archived experiments (default: active ones).")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@format_option()
def command(*, experiments: tuple[str, ...], filters: FilterArgs, force: bool, fmt: str) -> None:
    """Permanently delete experiments given by id, prefix or name, or selected by filters.

    This cannot be undone; yanex archive keeps them out of the way instead.
    """
    fmt = check_format(fmt)
    records = targets(experiments, filters, archived=filters.archived, verb="delete")
    if not records:
        where = "archived" if filters.archived else "active"
        _console.echo(f"No {where} experiments to delete.", err=True)
        return
    _bulk.preview(records, "Deleting for good")
    users = _warn_dependents(records)
    if not force:
        if users and not confirm(
            f"{users} other experiment(s) depend on these and will show them as missing. "
            "Delete anyway?"
        ):
            _bulk.declined("deleted")
        if not confirm(f"Delete {len(records)} experiment(s) permanently?"):
            _bulk.declined("deleted")
        several = len(records) > 1
        if several and not confirm(f"This cannot be undone. Really delete all {len(records)}?"):
            _bulk.declined("deleted")
    manage.sweep_leftovers()
    _bulk.act(records, manage.delete, done="deleted", fmt=fmt)


def _warn_dependents(records: list[query.Record]) -> int:
    """Say which other experiments use the ones about to go; how many there are."""
    found = dependencies.dependents(r.id for r in records)
    users: set[str] = set()
    for dep_id, uses in found.items():
        for slot, rec in uses:
            users.add(rec.id)
            name = f" ({rec.name})" if rec.name else ""
            _console.echo(f"Warning: {rec.id}{name} depends on {dep_id} (slot {slot})", err=True)
    return len(users)
