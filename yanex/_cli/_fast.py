"""Answers that need no asyncclick: ``yanex --help``, and commands parsed from their cached
click declarations (``yanex list``, ``yanex get``).

Importing asyncclick, and the ``typing`` it needs, takes about twice as long as starting the
interpreter: more than ``yanex --help`` may take, and a large part of ``yanex get status
ID``. Nothing here is written by hand a second time; what click would do is taken from click
once, kept in a small cache file (``_fast_cache``), and used again only while everything it
came from is unchanged.

- ``yanex --help``, ``-h`` and bare ``yanex``: the text click printed (``_root.help_text``).
- A command whose callback lives in a module without click (``_list.run``, ``_get.run``;
  its click declarations are put on it with ``decorated``): the description of its
  parameters as click made them (``_fast_describe``: names, option strings, types, the
  value each takes when absent). A small parser (``_fast_parse``) follows click's rules for
  exactly those and this module calls the callback with the values click would pass, and
  ends on an error as click and ``_console.run_cli`` would. Anything the parser does not
  know goes to click, which then answers it.

The cache is written after click has answered once (``remember``). This module imports only
``os`` and ``sys`` (what a bare interpreter has loaded) and ``_fast_cache`` until it runs a
command.
"""

from __future__ import annotations

import os
import sys

from . import _fast_cache

TYPE_CHECKING = False  # not ``from typing``: see yanex/__init__.py

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# argv -> (stream, exit code) of the answers kept: the root group's help, which click prints
# on stdout for --help/-h and on stderr with exit code 2 when no command is given.
ANSWERS: dict[tuple[str, ...], tuple[str, int]] = {
    ("--help",): ("stdout", 0),
    ("-h",): ("stdout", 0),
    (): ("stderr", 2),
}


def answer(args: list[str]) -> bool:
    """Answer ``args`` as click would, without click, and return True; False when click must
    answer (nothing has been done then)."""
    kept = ANSWERS.get(tuple(args))
    if kept is not None:
        return _help(*kept)
    name = _command_name(args)
    if name is None or os.environ.get("_YANEX_COMPLETE") or os.name == "nt":
        return False  # shell completion, Windows wildcard expansion: click's
    spec = _fast_cache.spec(name)
    return spec is not None and _run(name, spec, args)


def remember(args: list[str]) -> None:
    """After click has answered ``args``: keep what it would take to answer them without
    click next time, unless the cache holds it already. A cache that cannot be written is
    left alone."""
    if tuple(args) in ANSWERS:
        from ._root import help_text

        text = help_text() if _fast_cache.read(_fast_cache.HELP) is None else None
        if text is not None:
            _fast_cache.write(_fast_cache.HELP, text)
        return
    name = _command_name(args)
    if name is None or _fast_cache.read(name) == "null" or _fast_cache.spec(name) is not None:
        return  # kept already (null: a command _fast does not run, such as show)
    import json

    from ._fast_describe import describe

    _fast_cache.write(name, json.dumps(describe(name)))


def decorated(fn: Callable[..., Any], *decorators: Callable[[Any], Any]) -> Any:
    """``fn`` with ``decorators`` applied as an ``@`` stack written in this order would apply
    them (the last first): how a command's click declarations are put on a callback that
    lives in a module without click, which ``answer`` can then run without click."""
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


# --- yanex --help --------------------------------------------------------------------------


def _help(stream_name: str, code: int) -> bool:
    text = _fast_cache.read(_fast_cache.HELP)
    stream = getattr(sys, stream_name)
    if text is None or stream is None or not _printable(text, stream):
        return False
    try:
        stream.write(text + "\n")  # what click.echo writes for plain text
        stream.flush()
    except BrokenPipeError:  # as _console.run_cli ends a command whose reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        raise SystemExit(1) from None
    if code:
        raise SystemExit(code)
    return True


def _printable(text: str, stream: object) -> bool:
    """True when writing ``text`` to ``stream`` gives what click.echo gives: no ANSI escape to
    strip, and a stream that takes it as it is."""
    if "\x1b" in text:
        return False
    encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "")
    return text.isascii() or encoding == "utf8"


# --- commands: described by click once, then parsed and run without it ----------------------


def _command_name(args: list[str]) -> str | None:
    """The command ``args`` name after the root group's flags, if it is one of ours."""
    from . import COMMANDS

    name = next((a for a in args if not a.startswith("-")), None)
    return name if name in COMMANDS else None


def _run(name: str, spec: dict[str, Any], args: list[str]) -> bool:
    """Run the command ``args`` name from its ``spec``, as click's main and
    ``_console.run_cli`` would; False, having done nothing, when click must parse them."""
    from ._fast_parse import parsed as parse

    parsed = parse(name, spec, args)
    if parsed is None:
        return False
    from . import _console

    _console._verbose.clear()  # each invocation starts quiet, as in run_cli
    try:
        _call(spec["group"], parsed[0])
        _call(spec["command"], parsed[1])
    except BaseException as exc:  # noqa: BLE001 (mapped as click and run_cli map it, or re-raised)
        _ended(exc)
    return True


def _call(spec: dict[str, Any], kwargs: dict[str, Any]) -> None:
    import types

    fn = _resolve(spec["call"])
    for wrapper in reversed(spec["wrappers"]):
        fn = _resolve(wrapper)(fn)
    result = fn(**kwargs)
    if isinstance(result, types.CoroutineType):
        from ._runner import drive

        drive(result)


def _resolve(target: str) -> Any:
    import importlib

    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _ended(exc: BaseException) -> None:
    """How click's main and ``_console.run_cli`` end a loop-free command on ``exc``."""
    import errno

    from yanex.errors import YanexError

    from . import _console

    if isinstance(exc, (KeyboardInterrupt, EOFError)):  # click: a newline, then Abort
        _console.echo(err=True)
        _console.fail("aborted", 130)
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:  # click: quietly, exit 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    if isinstance(exc, YanexError):
        _console.fail_for(exc)
    raise exc
