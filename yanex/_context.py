"""Ambient state: which experiment the running code belongs to, and the YANEX_* protocol.

The current experiment is resolved, in order, from:

1. a ``ContextVar`` set by ``create_experiment`` / ``create_context`` (task- and
   thread-local, so concurrent asyncio tasks each see their own experiment);
2. the innermost experiment context entered anywhere in this process, so worker threads
   started inside a ``with yanex.create_experiment(...)`` block log into it too;
3. the environment a supervisor sets for its child (below): that one needs the store, so
   ``_core/experiment.current()`` adds it, and code that logs asks that function.

Code that enters an experiment calls ``push``/``pop``; code that runs one call on behalf of
an experiment (``exp.log_metrics(...)``, the portal's loop thread) uses ``using``.

The environment protocol between a supervisor (``yanex run``, ``run_multiple``,
``execute_bash_script``) and the process it starts:

``YANEX_EXPERIMENT_ID``
    the 8-hex id of the experiment the child belongs to. The child finds its parameters in
    that experiment's ``config.json``.
``YANEX_EXPERIMENTS_DIR``
    the store root, always set explicitly so the child writes where its supervisor reads.
``YANEX_CLI_ACTIVE``
    ``1`` when the child is a ``yanex run`` experiment: ``create_experiment`` and
    ``run_multiple`` then refuse to run (no nested experiments).
``YANEX_CLI_ARGS``
    JSON object of the parsed ``yanex run`` flags, returned by ``get_cli_args()``.
``YANEX_SUPERVISOR_PID``
    the supervisor's pid; the launcher kills the child's process group if it dies.
``YANEX_PARAM_<name>``
    set for bash scripts: one per top-level parameter (JSON for lists and dicts, as yanex
    0.6 did) plus one per nested leaf (``a.b`` -> ``a_b``); see ``_core/scripts.py``.

This module is a leaf: it may be imported from anywhere and imports nothing of yanex.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol


class Tracked(Protocol):
    """What this module needs of an experiment handle (``_core.experiment.ActiveExperiment``)."""

    id: str

    def after_fork(self) -> None: ...


ENV_EXPERIMENT_ID = "YANEX_EXPERIMENT_ID"
ENV_EXPERIMENTS_DIR = "YANEX_EXPERIMENTS_DIR"
ENV_CLI_ACTIVE = "YANEX_CLI_ACTIVE"
ENV_CLI_ARGS = "YANEX_CLI_ARGS"
ENV_SUPERVISOR_PID = "YANEX_SUPERVISOR_PID"
ENV_PARAM_PREFIX = "YANEX_PARAM_"
# Every other YANEX_* name yanex uses, here so there is one list (``_warm`` and the
# ``_boot`` hook, which must stay stdlib-only and import nothing of yanex, repeat theirs):
ENV_PREFIX = "YANEX_"  # a launch's per-experiment variables all start with it
ENV_WARM_FD = "YANEX_WARM_FD"  # a prepared interpreter's release pipe (``_warm``)
ENV_LAUNCH_PATH = "YANEX_LAUNCH_PATH"  # "pool" (default) or "exec" (``_spawner``)
ENV_KILL_GRACE = "YANEX_KILL_GRACE"  # seconds between stop signals (``_supervise``)
ENV_PLATFORM = "YANEX_PLATFORM"  # "portable": no Linux-only calls (``_platform``)
ENV_ASYNC_BACKEND = "YANEX_ASYNC_BACKEND"  # the blocking face's loop (``_portal``)
ENV_RESOURCE_INTERVAL = "YANEX_RESOURCE_INTERVAL"  # seconds between samples (``resources``)

_current: ContextVar[Tracked | None] = ContextVar("yanex_current", default=None)
_process_stack: list[Tracked] = []


def current() -> Tracked | None:
    """The experiment entered by the calling code (1 and 2 above), or None."""
    exp = _current.get()
    if exp is not None:
        return exp
    return _process_stack[-1] if _process_stack else None


@contextmanager
def using(exp: Tracked | None) -> Iterator[None]:
    """Make ``exp`` current for this task or thread for the duration of the block."""
    token = _current.set(exp)
    try:
        yield
    finally:
        try:
            _current.reset(token)
        except ValueError:  # left in another context (an async generator closed elsewhere)
            _current.set(None)


def push(exp: Tracked) -> Any:
    """Make ``exp`` current; returns the token for ``pop``."""
    _process_stack.append(exp)
    return _current.set(exp)


def pop(exp: Tracked, token: Any) -> None:
    try:
        _current.reset(token)
    except ValueError:  # exited in another context (e.g. a different task): clear it there
        _current.set(None)
    for i in range(len(_process_stack) - 1, -1, -1):
        if _process_stack[i] is exp:
            del _process_stack[i]
            break


def in_context_manager(exp: Tracked) -> bool:
    """True when ``exp`` was entered with a ``with``/``async with`` block (not the environment)."""
    return _current.get() is exp or any(e is exp for e in _process_stack)


def under_cli() -> bool:
    """True inside a child started by ``yanex run``."""
    return os.environ.get(ENV_CLI_ACTIVE) == "1"


def cli_args() -> dict[str, Any]:
    raw = os.environ.get(ENV_CLI_ARGS)
    if not raw:
        return {}
    import json

    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _after_fork_in_child() -> None:
    for exp in _process_stack:
        exp.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
