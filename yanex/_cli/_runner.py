"""How the CLI runs a command: in an event loop for those that wait on one, else without any.

``run``, ``open``, ``ui`` and ``compare`` (its interactive table) start and watch processes,
serve requests or run an app: they run in the loop ``_portal.run`` starts, asyncio with
uvloop by default (``YANEX_ASYNC_BACKEND`` chooses; see DESIGN.md). Every other command,
and ``--help``/``--version``, only reads and writes files, so its coroutine is driven here
with no loop at all: importing asyncio, anyio and uvloop would take longer than the whole of
``yanex get status ID``, which runs in shell loops and pipelines. A loop-free command that
must wait after all (``yanex get stdout --follow``) awaits through ``in_loop``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncclick as click

T = TypeVar("T")

# The commands that await an event loop's work (see the module docstring).
LOOP_COMMANDS = frozenset({"run", "open", "ui", "compare"})

_loop_free: ContextVar[bool] = ContextVar("yanex_cli_loop_free", default=False)


def command_name(args: list[str]) -> str | None:
    """The command ``args`` invoke: the root group's options are all flags (-v, --help,
    --version), so it is the first argument that is not an option."""
    return next((a for a in args if not a.startswith("-")), None)


def run(cli: click.Group, args: list[str]) -> None:
    """Run the CLI on ``args``: in the portal's loop for LOOP_COMMANDS, else loop-free."""
    main = functools.partial(cli.main, args=args, prog_name="yanex", standalone_mode=False)
    if command_name(args) in LOOP_COMMANDS:
        from yanex import _portal

        _portal.run(main)
    else:
        drive(main())


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits on an event loop, without starting one.

    asyncclick's own coroutines (parsing, invoking) only call each other, so the first step
    runs the command to its end. A coroutine that suspends is waiting for a loop that is
    not there: a bug (it should have used ``in_loop``), reported as such.
    """
    token = _loop_free.set(True)
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        _loop_free.reset(token)
    coro.close()
    raise RuntimeError("a loop-free yanex command awaited an event loop (use _runner.in_loop)")


async def in_loop(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await fn(*args)`` in the running loop or, in a command driven without one, in a loop
    started for it by ``_portal.run`` (the CLI's backend)."""
    if not _loop_free.get():
        return await fn(*args)
    from yanex import _portal

    token = _loop_free.set(False)
    try:
        return _portal.run(fn, *args)
    finally:
        _loop_free.reset(token)
