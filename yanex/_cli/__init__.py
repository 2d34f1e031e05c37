"""The ``yanex`` command line: an asyncclick root group whose commands load on first use.

Each command lives in its own module (``_cli/<name>.py``, exposing ``command``); the root
imports a module only when its command is invoked (``yanex --help`` lists the commands from
``COMMANDS`` without importing any), so a command pays only for its own imports.
``main()`` is the console-script entry point: it runs the command in an event loop or
without one (``_runner``) and turns every yanex error into one line on stderr and a
non-zero exit code (see ``_console.fail``).
"""

from __future__ import annotations

import importlib
from typing import Any

import asyncclick as click

from yanex import __version__

# command name -> (module under yanex._cli, the short help `yanex --help` shows for it)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "run",
        "Run SCRIPT as a tracked experiment; extra arguments go to the script's sys.argv.",
    ),
    "list": ("list_cmd", "List experiments, newest first."),
    "show": ("show", "Show everything about one experiment."),
    "get": ("get", "Print one field of experiments (for scripts)."),
    "compare": ("compare", "Compare experiments' parameters and metrics."),
    "archive": ("archive", "Move experiments into the archive."),
    "unarchive": ("unarchive", "Restore archived experiments."),
    "delete": ("delete", "Delete experiments for good."),
    "update": ("update", "Change names, descriptions, projects, statuses, tags."),
    "open": ("open_cmd", "Open an experiment's folder."),
    "ui": ("ui", "Browse, chart and compare experiments in a web browser."),
    "push": ("push", "Copy experiments to another machine's store."),
    "pull": ("pull", "Copy experiments from another machine's store."),
}


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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yanex")
@click.option(
    "-v", "--verbose", is_flag=True, help="Say which filters and script arguments are used."
)
def cli(verbose: bool) -> None:
    """yanex: Git-aware experiment tracking for Python scripts."""
    if verbose:
        from yanex._cli import _console

        _console.set_verbose()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from yanex._cli import _console

    _console.run_cli(cli, argv)
