"""``yanex get FIELD [ID]``: its arguments and options, declared for click.

What it does is ``_get.run``, in a module without asyncclick, so that ``_fast`` can run it
from these same declarations (as click described them, cached) without importing click.
"""

from __future__ import annotations

import asyncclick as click

from . import _get
from ._fast import decorated
from ._filters import filter_options, format_option

command = decorated(
    _get.run,
    click.command(
        "get", short_help="Print one field of experiments (for scripts).", epilog=_get.FIELDS_HELP
    ),
    click.argument("field"),
    click.argument("experiment", required=False),
    filter_options(),
    click.option("--latest", "use_latest", is_flag=True, help="The newest matching experiment."),
    format_option(sweep=True),
    click.option("--default", "default", default="[not_found]", help="Shown for missing fields."),
    click.option("--head", type=int, default=None, help="First N lines of stdout/stderr."),
    click.option("--tail", type=int, default=None, help="Last N lines of stdout/stderr."),
    click.option("--follow", "-f", is_flag=True, help="Stream stdout/stderr while it runs."),
    click.option("--depth", type=int, default=10, help="Lineage depth (default 10)."),
)
