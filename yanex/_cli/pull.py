"""``yanex pull SOURCE``: copy experiments from a store on another machine (rsync over SSH)."""

from __future__ import annotations

import asyncclick as click

from yanex._core import transfer

from ._filters import FilterArgs, filter_options, split_ids, usage_error
from .push import RSH_HELP, _summary


@click.command("pull", short_help="Copy experiments from another machine's store.")
@click.argument("source", metavar="[USER@]HOST:STORE")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="(Ignored: only active experiments are pulled.)")
@click.option("--rsh", "-e", default=None, metavar="COMMAND", help=RSH_HELP)
def command(
    *, source: str, experiments: tuple[str, ...], filters: FilterArgs, rsh: str | None
) -> None:
    """Copy experiments of the store at HOST:STORE (full ids, or selected by filters on
    the remote store) into this one. Each one arrives whole or not at all; one already
    here and unchanged is not fetched again."""
    remote = transfer.Remote.parse(source, rsh)
    ids = split_ids(experiments)
    if ids and filters.narrowing():
        usage_error("give experiment ids or filters to pull, not both")
    if not ids and not filters.narrowing() and not filters.global_scope:
        usage_error("say which experiments to pull: give ids or filters (-g: all of them)")
    every = FilterArgs(ids=tuple(ids), global_scope=True)
    flt = (every if ids else filters).build(archived=False)
    records = transfer.remote_records(remote, flt)
    if ids and len(records) != len(set(ids)):
        found = {r.id for r in records}
        missing = [i for i in ids if i not in found]
        usage_error(f"no such experiment on {remote.host}: {', '.join(missing)}")
    report = transfer.pull([r.id for r in records], remote)
    _summary("Pulled", "from", remote.host, report)
