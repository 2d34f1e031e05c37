"""The one implementation of every public Run API function, with its user-facing docstring.

The faces are derived from these functions, never transcribed (see ``_portal``): ``yanex``
exposes the plain functions themselves and runs the coroutines (``execute_bash_script``,
``run_multiple``: they wait on processes) through the portal; ``yanex.aio`` exposes the
coroutines themselves and wraps each plain function in a coroutine, run in a worker thread
when it is marked ``in_worker_thread`` (it touches files more than trivially), else inline.
The context managers of ``create_experiment`` / ``create_context`` are in ``_contexts``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from yanex import _context, _portal
from yanex._core import metadata
from yanex._core.experiment import (
    ActiveExperiment,
    ExperimentExit,
    current,
    ensure_not_cli,
    request_outcome,
)
from yanex._models import NO_DEFAULT, ExperimentResult, ExperimentSpec, Status
from yanex._store import layout
from yanex.errors import ExperimentContextError

if TYPE_CHECKING:
    from yanex._records import Record
    from yanex.results import Experiment
    from yanex.results.graph import ExperimentGraph


_PACKAGE = str(Path(__file__).parent) + os.sep  # as code objects name their files


def _user_stacklevel(below: int = 0) -> int:
    """The ``stacklevel`` for a ``warnings.warn`` made ``below`` calls beneath the caller of
    this function that names the user's line: the first frame outside the yanex package,
    whichever face, coroutine wrapper or ExperimentContext method the call came through."""
    level, frame = 2 + below, sys._getframe(2)
    while frame.f_code.co_filename.startswith(_PACKAGE) and frame.f_back is not None:
        level, frame = level + 1, frame.f_back
    return level


def _require() -> ActiveExperiment:
    exp = current()
    if exp is None:
        raise ExperimentContextError("no active experiment: use yanex run or create_experiment")
    return exp


# --- parameters ---------------------------------------------------------------------------


@_portal.in_worker_thread
def get_params() -> dict[str, Any]:
    """The experiment's parameters as a dict (nested dicts as given); {} standalone.

    Precedence: ``yanex run --param`` overrides, then ``YANEX_PARAM_*`` environment values,
    then the config file; ``create_experiment(config=...)`` gives them directly.
    """
    exp = current()
    return dict(exp.params()) if exp is not None else {}


def get_param(key: str, default: Any = NO_DEFAULT) -> Any:
    """One parameter: ``key`` may use dot notation for nesting (``"model.layers"``).

    Returns ``default`` when the key is not among the parameters. When no default was
    given at all, returns None with a warning; an explicit ``default=None`` is a chosen
    value (the k-fold pattern's ``get_param('_fold_idx', default=None)``) and stays quiet.
    """
    return lookup_param(get_params(), key, default, stacklevel=_user_stacklevel(below=1))


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
        stacklevel=_user_stacklevel(),
    )
    log_metrics(data, step)


# --- artifacts ----------------------------------------------------------------------------


def _artifacts_dir(from_experiment: str | None = None) -> Path:
    if from_experiment is not None:
        from yanex._core import query

        return query.experiment_dir_of(from_experiment) / layout.ARTIFACTS
    exp = current()
    return exp.artifacts_dir if exp is not None else Path.cwd() / "artifacts"


@_portal.in_worker_thread
def copy_artifact(src_path: Path | str, filename: str | None = None) -> None:
    """Copy the file ``src_path`` into the artifacts directory (``./artifacts/`` standalone),
    as ``filename`` (default: the source's own name).

    Raises FileNotFoundError when the source does not exist, IsADirectoryError for a
    directory, ValueError when ``filename`` would leave the artifacts directory.
    """
    from yanex._core import artifacts as _artifacts

    _artifacts.copy(src_path, _artifacts_dir(), filename)


@_portal.in_worker_thread
def save_artifact(
    obj: Any, filename: str, saver: Callable[[Any, Path], None] | None = None
) -> None:
    """Save ``obj`` as the artifact ``filename`` (``./artifacts/`` standalone).

    The extension picks the format: ``.txt`` (str), ``.csv`` (DataFrame or list of dicts),
    ``.json``, ``.jsonl`` (list of dicts), ``.npy`` / ``.npz`` (numpy), ``.pt`` / ``.pth``
    (torch), ``.pkl`` (pickle), ``.png`` (matplotlib figure or PIL image); any other, or
    any object, with ``saver(obj, path)``. Raises ValueError for an unknown format without
    ``saver``, TypeError when ``obj`` does not suit the format, ImportError when the library
    the format needs is not installed.
    """
    from yanex._core import artifacts as _artifacts

    _artifacts.save(obj, _artifacts_dir(), filename, saver)


@_portal.in_worker_thread
def load_artifact(
    filename: str,
    loader: Callable[[Path], Any] | None = None,
    from_experiment: str | None = None,
) -> Any:
    """Load the artifact ``filename``, in the format its extension names, or with the
    ``loader`` given (called as ``loader(path)``); None when it does not exist.

    Searched in ``from_experiment`` if given; else in the current experiment, then in its
    dependencies, then in theirs (breadth first: the nearest one that has it wins). Raises
    AmbiguousArtifactError when several dependencies at that nearest level have it.
    """
    from yanex._core import artifacts as _artifacts

    directory = _artifacts_dir(from_experiment)
    exp = current() if from_experiment is None else None
    if exp is not None:
        from yanex._core import dependencies

        directory = dependencies.find_artifact(exp.dir, filename) or directory
    return _artifacts.load(directory, filename, loader)


@_portal.in_worker_thread
def artifact_exists(filename: str, from_experiment: str | None = None) -> bool:
    """True when the artifact ``filename`` exists: in ``from_experiment`` (id, unique id
    prefix or name) if given, else in the current experiment (``./artifacts/`` standalone)."""
    from yanex._core import artifacts as _artifacts

    return _artifacts.exists(_artifacts_dir(from_experiment), filename)


@_portal.in_worker_thread
def list_artifacts(from_experiment: str | None = None) -> list[str]:
    """The names of the artifacts, sorted: those of ``from_experiment`` (id, unique id prefix
    or name) if given, else of the current experiment (``./artifacts/`` standalone)."""
    from yanex._core import artifacts as _artifacts

    return _artifacts.list_names(_artifacts_dir(from_experiment))


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
    exp = _require()
    if not _context.in_context_manager(exp):
        request_outcome(exp, status, message)  # a yanex run child: the supervisor records it
    raise ExperimentExit(status, message)


def completed() -> None:
    """Mark the experiment completed and leave its block."""
    _end(Status.COMPLETED, None)


def fail(message: str) -> None:
    """Mark the experiment failed with ``message`` and leave its block."""
    _end(Status.FAILED, message)


def cancel(message: str) -> None:
    """Mark the experiment cancelled with ``message`` and leave its block."""
    _end(Status.CANCELLED, message)


# --- dependencies -------------------------------------------------------------------------


@_portal.in_worker_thread
def get_dependencies(transitive: bool = False) -> list[Experiment]:
    """Experiments the current one depends on (``yanex run -D``), every dependency before
    the experiments that depend on it; [] standalone.

    The direct dependencies come as a list that also answers by slot: ``deps["data"]``,
    ``"data" in deps``, ``deps.items()``. With ``transitive`` true it is a plain list of
    every experiment upstream (transitive dependencies have no slot of this experiment).
    """
    from yanex._core import dependencies
    from yanex.results import _dependencies

    exp = current()
    if exp is None:
        return _dependencies.DependencyList()
    if transitive:
        entries = [f"{k}={v}" for k, v in dependencies.slots_of(exp.dir).items()]
        return _dependencies.ordered(entries, transitive=True)
    return _dependencies.direct(exp.dir)


@_portal.in_worker_thread
def get_dependency(slot: str) -> Experiment | None:
    """The experiment in dependency slot ``slot`` (``-D slot=ID``; ``dep1``... without a
    name); None standalone or when there is no such slot."""
    from yanex.results import _dependencies

    exp = current()
    return _dependencies.direct(exp.dir).get(slot) if exp is not None else None


@_portal.in_worker_thread
def assert_dependency(script_name: str, slot: str | None = None) -> None:
    """Fail the experiment unless a dependency (the one in ``slot``, if given) ran
    ``script_name``. No-op standalone."""
    from yanex._core import dependencies

    exp = current()
    if exp is None:
        return
    by_slot, in_order = dependencies.direct(exp.dir)
    if slot is not None and slot not in by_slot:
        held = [f"{_script_name(d)} (slot {k})" for k, d in by_slot.items()]
        _dependency_failure(f"No dependency in slot '{slot}'", ", ".join(held) or "none")
    candidates = [by_slot[slot]] if slot is not None else in_order
    scripts = [_script_name(d) for d in candidates]
    if script_name in scripts:
        return
    where = f" in slot '{slot}'" if slot is not None else ""
    found = ", ".join(s for s in scripts if s) or "none"
    _dependency_failure(f"No dependency from '{script_name}' found{where}", found)


def _script_name(rec: Record) -> str:
    return Path(rec.summary.script_path or "").name


def _dependency_failure(headline: str, found: str) -> NoReturn:
    # the documented user-facing message, then the experiment fails with it
    print(f"Error: {headline}\nCurrent dependencies are from: {found}", file=sys.stderr)
    fail(f"{headline} (dependencies are from: {found})")
    raise AssertionError("fail() leaves by raising")  # pragma: no cover


@_portal.in_worker_thread
def get_graph() -> ExperimentGraph:
    """The dependency graph of the current experiment: what it depends on and what depends
    on it (``yanex.results.ExperimentGraph``); an empty graph standalone."""
    from yanex.results.graph import ExperimentGraph, get_graph

    exp = current()
    return get_graph(exp.id) if exp is not None else ExperimentGraph([], [])


# --- processes (coroutines; the blocking face runs them through _portal) -------------------


async def execute_bash_script(
    command: str,
    timeout: float | None = None,
    raise_on_error: bool = False,
    stream_output: bool = True,
    working_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Run the shell ``command`` (with bash) inside the current experiment; wait for it.

    The command gets ``YANEX_EXPERIMENT_ID`` and the parameters as ``YANEX_PARAM_*`` in its
    environment, so a Python script it starts logs into this experiment. It runs in
    ``working_dir`` (default: the experiment directory). Its stdout and stderr are
    appended to the ``script_stdout.txt`` / ``script_stderr.txt`` artifacts, echoed live
    when ``stream_output`` is true, and each call is logged in ``script_runs.json``.

    Returns a dict: exit_code, stdout, stderr, execution_time, command, working_directory.
    Raises ExperimentContextError outside an experiment; ``subprocess.TimeoutExpired``
    after stopping the command's whole process group when it outlives ``timeout``
    seconds; ``subprocess.CalledProcessError`` for a non-zero exit if ``raise_on_error``.
    """
    from yanex._core import scripts

    return await scripts.execute(
        _require(),
        command,
        timeout=timeout,
        raise_on_error=raise_on_error,
        stream_output=stream_output,
        working_dir=Path(working_dir) if working_dir is not None else None,
    )


async def run_multiple(
    experiments: Sequence[ExperimentSpec], parallel: int | None = None, verbose: bool = False
) -> list[ExperimentResult]:
    """Run the script of each ExperimentSpec in ``experiments`` as a tracked experiment of
    its own, and wait for all of them.

    ``parallel``: None runs them one after another, 0 one per CPU, N at most N at a time.
    A failing experiment does not stop the others. ``verbose`` (or a terminal on stderr)
    shows a line per finished experiment and a summary; ``verbose`` also shows the
    children's output, each line tagged with its experiment id.

    Returns one ExperimentResult per spec, in the order of the specs. Raises ValueError
    for an empty list or an invalid spec (before anything runs), and
    ExperimentContextError inside a ``yanex run`` experiment. Interrupting it (Ctrl-C, or
    cancelling the awaiting task) stops the running children and records them cancelled.
    """
    from yanex._core import batch

    return await batch.run_multiple(experiments, parallel=parallel, verbose=verbose)
