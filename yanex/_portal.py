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
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from yanex import _context

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

T = TypeVar("T")
P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])

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


def _portal() -> BlockingPortal:
    with _lock:
        if _state.get("pid") != os.getpid():
            from anyio.from_thread import start_blocking_portal

            name, options = backend()
            cm = start_blocking_portal(name, options)
            _state.update(pid=os.getpid(), cm=cm, portal=cm.__enter__())
        portal: BlockingPortal = _state["portal"]
        return portal


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
    caller_exp = _context.current()  # the loop thread does not share our ContextVars

    async def runner() -> T:
        try:
            with _context.using(caller_exp):  # task-local: the caller's experiment
                return await fn(*args, **kwargs)
        finally:
            done.set()

    future = _portal().start_task_soon(runner)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        done.wait()  # the task's cleanup (stopping children) has finished
        raise


def run(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` as the main program of this thread (the CLI's entry point)."""
    import anyio

    name, options = backend()
    return anyio.run(functools.partial(fn, *args, **kwargs), backend=name, backend_options=options)


# --- deriving the faces from the one implementation ---------------------------------------


def blocking(fn: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """The blocking face of coroutine function ``fn``: runs it in the portal's loop and waits.

    Same name, signature and docstring (``__wrapped__`` is ``fn``), so ``help()`` and
    ``inspect.signature`` show the implementation's contract.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return call(fn, *args, **kwargs)

    return run


def in_worker_thread(fn: F) -> F:
    """Mark a plain function that reads or writes files more than trivially: ``awaitable``
    runs it in a worker thread, so the async face never stalls the event loop on it."""
    setattr(fn, _IN_THREAD, True)
    return fn


_IN_THREAD = "_yanex_in_worker_thread"


def awaitable(
    fn: Callable[P, T], *, thread: bool | None = None
) -> Callable[P, Coroutine[Any, Any, T]]:
    """The async face of plain function ``fn``: a coroutine function with the same name,
    signature and docstring (``__wrapped__`` is ``fn``).

    It runs ``fn`` in a worker thread, with the caller's context variables (its current
    experiment), when ``thread`` is true or ``fn`` is marked ``in_worker_thread``; else inline,
    then yields to the loop once (a checkpoint), as any await should.
    """
    if thread if thread is not None else getattr(fn, _IN_THREAD, False):

        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            import contextvars

            import anyio.to_thread

            bound = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
            return await anyio.to_thread.run_sync(bound)

    else:

        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            import anyio.lowlevel

            result = fn(*args, **kwargs)
            await anyio.lowlevel.checkpoint()
            return result

    return functools.wraps(fn)(run)
