"""``yanex archive``: move experiments into the store's archive (``<store>/archived/``)."""

from __future__ import annotations

import asyncclick as click

from yanex._core import manage

from . import _bulk, _console
from ._filters import FilterArgs, check_format, confirm, filter_options, format_option, targets


@click.command("archive", short_help="Move experiments into the archive.")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="(Ignored: archived experiments cannot be archived again.)")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@format_option()
def command(*, experiments: tuple[str, ...], filters: FilterArgs, force: bool, fmt: str) -> None:
    """Archive experiments given by id, prefix or name, or selected by filters.

    They keep all their data and can be restored with yanex unarchive.
    """
    fmt = check_format(fmt)
    records = targets(experiments, filters, archived=False, verb="archive")
    if not records:
        _console.echo("No experiments to archive.", err=True)
        return
    _bulk.preview(records, "Archiving")
    if not force and not confirm(f"Archive {len(records)} experiment(s)?"):
        _bulk.declined("archived")
    manage.sweep_leftovers()  # staging copies an interrupted move left behind
    _bulk.act(records, manage.archive, done="archived", fmt=fmt)
