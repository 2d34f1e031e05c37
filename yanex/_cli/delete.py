"""``yanex delete``: remove experiments for good (asks first; twice for several)."""

from __future__ import annotations

import asyncclick as click

from yanex._core import manage

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
    if not force:
        if not confirm(f"Delete {len(records)} experiment(s) permanently?"):
            _bulk.declined("deleted")
        several = len(records) > 1
        if several and not confirm(f"This cannot be undone. Really delete all {len(records)}?"):
            _bulk.declined("deleted")
    manage.sweep_leftovers()
    _bulk.act(records, manage.delete, done="deleted", fmt=fmt)
