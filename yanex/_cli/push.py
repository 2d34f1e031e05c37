"""``yanex push TARGET``: copy experiments to a store on another machine (rsync over SSH)."""

from __future__ import annotations

import asyncclick as click

from yanex._core import transfer

from . import _console
from ._filters import FilterArgs, filter_options, targets

RSH_HELP = "The remote shell rsync uses (default: $RSYNC_RSH or ssh), e.g. 'ssh -p 2222'."


@click.command("push", short_help="Copy experiments to another machine's store.")
@click.argument("target", metavar="[USER@]HOST:STORE")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="(Ignored: only active experiments are pushed.)")
@click.option("--rsh", "-e", default=None, metavar="COMMAND", help=RSH_HELP)
def command(
    *, target: str, experiments: tuple[str, ...], filters: FilterArgs, rsh: str | None
) -> None:
    """Copy experiments (by id, prefix or name, or selected by filters) to the store at
    HOST:STORE over SSH. Each one arrives whole or not at all; one already there and
    unchanged is not sent again."""
    remote = transfer.Remote.parse(target, rsh)
    records = targets(experiments, filters, archived=False, verb="push")
    report = transfer.push([r.id for r in records], remote)
    _summary("Pushed", "to", remote.host, report)


def _summary(verb: str, word: str, host: str, report: transfer.Report) -> None:
    sent = len(report.sent)
    _console.echo(
        f"{verb} {sent} experiment{'s' if sent != 1 else ''} {word} {host}"
        f" ({len(report.unchanged)} already up to date)"
    )
    for exp_id in report.sent:
        _console.echo(f"  {exp_id}")
