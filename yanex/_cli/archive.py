"""``yanex archive``: move experiments into the store's archive (``<store>/archived/``)."""

from __future__ import annotations

import asyncclick as click

from . import _bulk
from ._filters import FilterArgs, filter_options, format_option


@click.command("archive", short_help="Move experiments into the archive.")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="(Ignored: archived experiments cannot be archived again.)")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@format_option()
def command(*, experiments: tuple[str, ...], filters: FilterArgs, force: bool, fmt: str) -> None:
    """Archive experiments given by id, prefix or name, or selected by filters.

    They keep all their data and can be restored with yanex unarchive.
    """
    _bulk.move(experiments, filters, force=force, fmt=fmt, to_archive=True)
