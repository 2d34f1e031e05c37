"""The ``yanex`` command line: an asyncclick root group (``_root.cli``) whose commands load on
first use.

Each command lives in its own module (``_cli/<name>.py``, exposing ``command``); the root
imports a module only when its command is invoked (``yanex --help`` lists the commands from
``COMMANDS`` without importing any), so a command pays only for its own imports.
``main()`` is the console-script entry point: it answers ``yanex --help``, ``list`` and
``get`` without importing asyncclick when it can (``_fast``, from what click described and
printed before), else runs the command through click, in an event loop or without one
(``_runner``), and turns every yanex error into one line on stderr and a non-zero exit
code (see ``_console.fail``).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not ``from typing``: see yanex/__init__.py

if TYPE_CHECKING:
    from ._root import LazyGroup as LazyGroup
    from ._root import cli as cli

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


def root(verbose: bool) -> None:
    """yanex: Git-aware experiment tracking for Python scripts."""
    if verbose:
        from . import _console

        _console.set_verbose()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from . import _fast

    args = sys.argv[1:] if argv is None else list(argv)
    if _fast.answer(args):
        return
    from . import _console, _root

    try:
        _console.run_cli(_root.cli, args)
    except SystemExit:  # the usual end of an error, or of bare `yanex`
        _fast.remember(args)
        raise
    _fast.remember(args)  # what click described or printed, for the next time


def __getattr__(name: str) -> object:
    """``cli`` and ``LazyGroup`` (in ``_root``), imported with asyncclick on first use."""
    if name in ("cli", "LazyGroup"):
        from . import _root

        return getattr(_root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
