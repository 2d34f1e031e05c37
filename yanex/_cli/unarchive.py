"""``yanex unarchive``: move archived experiments back among the active ones."""

from __future__ import annotations

import asyncclick as click

from . import _bulk
from ._filters import FilterArgs, filter_options, format_option


@click.command("unarchive", short_help="Restore archived experiments.")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="(Implied: only archived experiments are considered.)")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@format_option()
def command(*, experiments: tuple[str, ...], filters: FilterArgs, force: bool, fmt: str) -> None:
    """Restore archived experiments given by id, prefix or name, or selected by filters."""
    _bulk.move(experiments, filters, force=force, fmt=fmt, to_archive=False)
