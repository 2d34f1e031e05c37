"""``yanex list``: its options, declared for click.

What it does is ``_list.run``, in a module without asyncclick, so that ``_fast`` can run it
from these same declarations (as click described them, cached) without importing click.
"""

from __future__ import annotations

import asyncclick as click

from . import _list
from ._fast import decorated
from ._filters import filter_options, format_option

command = decorated(
    _list.run,
    click.command("list", short_help="List experiments, newest first."),
    filter_options(),
    click.option(
        "--all", "show_all", is_flag=True, help=f"Every match (default: {_list.DEFAULT_LIMIT})."
    ),
    click.option(
        "--all-attempts",
        is_flag=True,
        help="With --sweep: every attempt, not just each member's latest.",
    ),
    format_option(),
)
