"""The Run API of the current experiment: parameters, metrics, facts, and ending its block."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from yanex import _context, _portal
from yanex._core import metadata
from yanex._core.experiment import ExperimentExit, current, ensure_not_cli, request_outcome
from yanex._models import NO_DEFAULT, Status

from ._shared import require, user_stacklevel

# --- parameters ---------------------------------------------------------------------------


@_portal.in_worker_thread
def get_params() -> dict[str, Any]:
    """The experiment's parameters as a dict (nested dicts as given); {} standalone.

    Precedence: ``yanex run --param`` overrides, then ``YANEX_PARAM_*`` environment values,
    then the config file; ``create_experiment(config=...)`` gives them directly.
    """
    exp = current()
    return dict(exp.params()) if exp is not None else {}


# Not in_worker_thread: its warning must name the caller's line, and the parameters are read
# once per experiment (then cached), so the async face may call it inline.
def get_param(key: str, default: Any = NO_DEFAULT) -> Any:
    """One parameter: ``key`` may use dot notation for nesting (``"model.layers"``).

    Returns ``default`` when the key is not among the parameters. When no default was
    given at all, returns None with a warning; an explicit ``default=None`` is a chosen
    value (the k-fold pattern's ``get_param('_fold_idx', default=None)``) and stays quiet.
    """
    return lookup_param(get_params(), key, default, stacklevel=user_stacklevel(below=1))


def lookup_param(params: dict[str, Any], key: str, default: Any, *, stacklevel: int) -> Any:
    value, found = metadata.dotted(params, key)
    if found or default is not NO_DEFAULT:
        return value if found else default
    warnings.warn(
        f"parameter '{key}' not found and no default given; using None",
        UserWarning,
        stacklevel=stacklevel,
    )
    return None


def get_cli_args() -> dict[str, Any]:
    """The parsed ``yanex run`` flags of this experiment, as a dict (``{"script":
    "train.py", "parallel": 3, "param": ["lr=0.01"], "tag": [], ...}``); {} standalone or
    when the experiment was not started by ``yanex run``."""
    return _context.cli_args()


# --- context detection --------------------------------------------------------------------


def is_standalone() -> bool:
    """True when no experiment is tracking this code (run with plain ``python``, outside any
    ``create_experiment`` block): the logging functions are then no-ops."""
    return current() is None


def has_context() -> bool:
    """True when an experiment is tracking this code (``yanex run``, ``run_multiple``, or a
    ``create_experiment`` / ``create_context`` block); the opposite of ``is_standalone``."""
    return current() is not None


# --- metrics ------------------------------------------------------------------------------


def log_metrics(data: dict[str, Any], step: int | None = None) -> None:
    """Log ``data`` (a dict of metric name -> value) for step ``step``; a no-op standalone.

    A ``step`` of None takes the next step after the highest so far. Logging to an existing
    step merges into it (new values win, the first timestamp stays, ``last_updated`` is
    set). Raises TypeError when ``data`` is not a dict or ``step`` not an int, ValueError
    for a negative ``step``.
    """
    if not isinstance(data, dict):
        raise TypeError(f"log_metrics takes a dict of metrics, not {type(data).__name__}")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        raise TypeError(f"step must be an int or None, not {type(step).__name__}")
    if step is not None and step < 0:
        raise ValueError(f"step must not be negative: {step}")
    exp = current()
    if exp is not None:
        exp.log_metrics(data, step)


def log_results(data: dict[str, Any], step: int | None = None) -> None:
    """Deprecated alias of ``log_metrics(data, step)``: logs ``data`` for ``step`` the same
    way, with a DeprecationWarning."""
    warnings.warn(
        "log_results() is deprecated; use log_metrics()",
        DeprecationWarning,
        stacklevel=user_stacklevel(),
    )
    log_metrics(data, step)


# --- experiment information ---------------------------------------------------------------


def get_experiment_id() -> str | None:
    """The current experiment's id; None standalone."""
    exp = current()
    return exp.id if exp is not None else None


@_portal.in_worker_thread
def get_status() -> str | None:
    """The current experiment's status (``"running"`` while it runs, or ``created``,
    ``completed``, ``failed``, ``cancelled``, ``staged``); None standalone."""
    exp = current()
    return str(exp.metadata().status) if exp is not None else None


@_portal.in_worker_thread
def get_metadata() -> dict[str, Any]:
    """The current experiment's whole metadata as a dict (id, name, status, times, script,
    tags, git and environment facts, as in ``metadata.json``); {} standalone."""
    exp = current()
    if exp is None:
        return {}
    return metadata.as_dict(exp.dir)


def get_experiment_dir() -> Path | None:
    """Absolute path of the current experiment's directory; None standalone."""
    exp = current()
    return exp.dir if exp is not None else None


def get_artifacts_dir() -> Path | None:
    """Absolute path of the current experiment's artifacts directory; None standalone."""
    exp = current()
    return exp.artifacts_dir if exp is not None else None


# --- explicit experiments -----------------------------------------------------------------


def creation(
    script_path: Path | str,
    name: str | None,
    config: dict[str, Any] | None,
    tags: list[str] | None,
    description: str | None,
) -> dict[str, Any]:
    """The checked arguments of create_experiment (both faces; see ``_contexts``)."""
    ensure_not_cli("create_experiment()")
    if config is not None and not isinstance(config, dict):
        raise TypeError("config must be a dict")
    return {
        "script_path": script_path,
        "name": name,
        "config": config,
        "tags": list(tags or []),
        "description": description,
    }


def experiment_id_of(ref: str) -> str:
    """The id of the one stored experiment ``ref`` names (id, unique id prefix or name)."""
    from yanex._core import query

    return query.experiment_dir_of(ref).name


def _end(status: Status, message: str | None) -> None:
    exp = require()
    if not _context.in_context_manager(exp):
        request_outcome(exp, status, message)  # a yanex run child: the supervisor records it
    raise ExperimentExit(status, message)


def completed() -> None:
    """Mark the experiment completed and leave its block (a ``yanex run`` script ends,
    exit status 0). Raises ExperimentContextError outside an experiment."""
    _end(Status.COMPLETED, None)


def fail(message: str) -> None:
    """Mark the experiment failed with ``message`` and leave its block (a ``yanex run``
    script ends, exit status 1). Raises ExperimentContextError outside an experiment."""
    _end(Status.FAILED, message)


def cancel(message: str) -> None:
    """Mark the experiment cancelled with ``message`` and leave its block (a ``yanex run``
    script ends, exit status 130). Raises ExperimentContextError outside an experiment."""
    _end(Status.CANCELLED, message)
