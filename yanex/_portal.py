"""The only bridge between blocking code and the async core.

One long-lived event loop runs in a daemon thread per process, started on first use (never a
new loop per call), closed at interpreter exit so in-flight work finishes, and forgotten in a
forked child (the thread does not survive ``fork``). Because the loop lives in its own
thread, the blocking face works the same whether or not the caller already runs an event
loop (Jupyter, an async web app).

The backend is read from ``YANEX_ASYNC_BACKEND`` (``asyncio``, ``uvloop`` or ``trio``) in one
place, ``backend()``; the default is asyncio, with uvloop when it is installed.

Ctrl-C while a blocking call waits: the task in the loop is cancelled, and the call waits
for the task's cleanup (children stopped and reaped, statuses written) before the
KeyboardInterrupt propagates.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from yanex import _context

T = TypeVar("T")

_lock = threading.Lock()
_state: dict[str, Any] = {}


def backend() -> tuple[str, dict[str, Any]]:
    """(anyio backend name, backend options) chosen by ``YANEX_ASYNC_BACKEND``."""
    choice = os.environ.get(_context.ENV_ASYNC_BACKEND, "").strip().lower() or "default"
    if choice == "trio":
        return "trio", {}
    if choice == "asyncio":
        return "asyncio", {}
    if choice not in ("uvloop", "default"):
        from yanex.errors import ConfigError

        name = _context.ENV_ASYNC_BACKEND
        raise ConfigError(f"{name} must be asyncio, uvloop or trio, not {choice!r}")
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return "asyncio", {}
    return "asyncio", {"loop_factory": uvloop.new_event_loop}


def _portal() -> Any:
    with _lock:
        if _state.get("pid") != os.getpid():
            from anyio.from_thread import start_blocking_portal

            name, options = backend()
            cm = start_blocking_portal(name, options)
            _state.update(pid=os.getpid(), cm=cm, portal=cm.__enter__())
        return _state["portal"]


def _close() -> None:
    with _lock:
        cm = _state.pop("cm", None) if _state.get("pid") == os.getpid() else None
        _state.clear()
    if cm is not None:
        cm.__exit__(None, None, None)


_abandoned: list[dict[str, Any]] = []


def _forget_after_fork() -> None:
    global _lock  # noqa: PLW0603  re-created in a forked child
    _lock = threading.Lock()
    # The loop thread did not come along (nor any thread that held the lock); start a new
    # one on first use. The parent's portal
    # is kept referenced, never finalized here: closing it would join a thread that is not
    # ours (uvloop runs these hooks in every child it spawns, just before exec).
    _abandoned.append(dict(_state))
    _state.clear()


atexit.register(_close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def call(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``await fn(*args, **kwargs)`` in the portal's loop and block for the result."""
    done = threading.Event()
    from yanex import _context

    caller_exp = _context._current.get()  # the loop thread does not share our ContextVars

    async def runner() -> T:
        try:
            _context._current.set(caller_exp)  # task-local: the caller's experiment
            return await fn(*args, **kwargs)
        finally:
            done.set()

    future = _portal().start_task_soon(runner)
    try:
        return future.result()  # type: ignore[no-any-return]
    except KeyboardInterrupt:
        future.cancel()
        done.wait()  # the task's cleanup (stopping children) has finished
        raise


def run(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` as the main program of this thread (the CLI's entry point)."""
    import anyio

    name, options = backend()
    return anyio.run(functools.partial(fn, *args, **kwargs), backend=name, backend_options=options)
