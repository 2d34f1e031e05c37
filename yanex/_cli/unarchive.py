"""``yanex unarchive``: move archived experiments back among the active ones."""

from __future__ import annotations

import asyncclick as click

from yanex._core import manage

from . import _bulk, _console
from ._filters import FilterArgs, check_format, confirm, filter_options, format_option, targets


@click.command("unarchive", short_help="Restore archived experiments.")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="(Implied: only archived experiments are considered.)")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@format_option()
def command(*, experiments: tuple[str, ...], filters: FilterArgs, force: bool, fmt: str) -> None:
    """Restore archived experiments given by id, prefix or name, or selected by filters."""
    fmt = check_format(fmt)
    records = targets(experiments, filters, archived=True, verb="unarchive")
    if not records:
        _console.echo("No archived experiments to restore.", err=True)
        return
    _bulk.preview(records, "Restoring")
    if not force and not confirm(f"Restore {len(records)} experiment(s)?"):
        _bulk.declined("restored")
    manage.sweep_leftovers()  # staging copies an interrupted move left behind
    _bulk.act(records, manage.unarchive, done="unarchived", fmt=fmt)
