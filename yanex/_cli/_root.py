"""The root ``yanex`` group: an asyncclick group whose commands load on first use. Its
callback is ``yanex._cli.root`` (no click there: ``_fast`` calls it without click).

Each command lives in its own module (``_cli/<name>.py``, exposing ``command``); the group
imports a module only when its command is invoked, and ``yanex --help`` lists the commands
from ``COMMANDS`` without importing any, so a command pays only for its own imports.
"""

from __future__ import annotations

import importlib
from typing import Any

import asyncclick as click

from yanex import __version__

from . import COMMANDS, root
from ._fast import decorated


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from COMMANDS: no command module is imported."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])

    async def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            from ._suggest import unknown_command

            ctx.fail(unknown_command(name, COMMANDS))
        return await super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self._module(cmd_name)
        return getattr(module, "command", None) if module is not None else None

    @staticmethod
    def _module(name: str) -> Any:
        if name not in COMMANDS:
            return None
        target = COMMANDS[name][0]
        try:
            return importlib.import_module(f"yanex._cli.{target}")
        except ModuleNotFoundError as exc:
            if exc.name == f"yanex._cli.{target}":
                return None  # not built yet
            raise


cli: LazyGroup = decorated(
    root,
    click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}),
    click.version_option(__version__, prog_name="yanex"),
    click.option(
        "-v", "--verbose", is_flag=True, help="Say which filters and script arguments are used."
    ),
)


def help_text() -> str | None:
    """What ``yanex --help`` prints (without its final newline), as click formats it; None
    when its width depends on more than ``_fast`` keys its cache on (a width setting)."""
    ctx = cli.context_class(cli, info_name="yanex", **cli.context_settings)
    if ctx.terminal_width is not None or ctx.max_content_width is not None:
        return None
    return ctx.get_help()
