"""The one implementation of every public Run API function, with its user-facing docstring.

Functions that cannot block for long (parameters, metrics, small store reads) are plain
functions shared by both faces; ``yanex.aio`` runs the file-heavy ones in a worker thread.
Functions that wait on processes (``execute_bash_script``, ``run_multiple``) are coroutines
here; ``yanex`` runs them through ``_portal``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from yanex import NO_DEFAULT, _context
from yanex._core import metadata
from yanex._core.experiment import (
    ActiveExperiment,
    ExperimentContext,
    ExperimentExit,
    ensure_not_cli,
    request_outcome,
)
from yanex._models import ExperimentResult, ExperimentSpec, Status
from yanex._store import layout
from yanex.errors import ExperimentContextError

if TYPE_CHECKING:
    from yanex.results import Experiment
    from yanex.results.graph import ExperimentGraph


# Run API calls that ``exp.<name>(...)`` offers on an ExperimentContext.
BOUND_TO_EXPERIMENT = frozenset(
    {
        "get_params",
        "get_param",
        "log_metrics",
        "log_results",
        "copy_artifact",
        "save_artifact",
        "load_artifact",
        "artifact_exists",
        "get_dependencies",
        "get_dependency",
        "assert_dependency",
        "get_graph",
        "list_artifacts",
        "get_status",
        "get_metadata",
        "get_experiment_dir",
        "get_artifacts_dir",
        "get_experiment_id",
        "execute_bash_script",
        "completed",
        "fail",
        "cancel",
    }
)


def _require() -> ActiveExperiment:
    exp = _context.current()
    if exp is None:
        raise ExperimentContextError("no active experiment: use yanex run or create_experiment")
    return exp


# --- parameters ---------------------------------------------------------------------------


def get_params() -> dict[str, Any]:
    """The experiment's parameters (CLI overrides > environment > config files); {} standalone."""
    exp = _context.current()
    return dict(exp.params()) if exp is not None else {}


def get_param(key: str, default: Any = NO_DEFAULT) -> Any:
    """One parameter by key, with dot notation for nesting (``"model.layers"``).

    Returns ``default`` when the key is not among the parameters. When no default was
    given at all, returns None with a warning; an explicit ``default=None`` is a chosen
    value (the k-fold pattern's ``get_param('_fold_idx', default=None)``) and stays quiet.
    """
    return lookup_param(get_params(), key, default, stacklevel=3)


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
    """The parsed ``yanex run`` flags of this experiment ({} when not started by yanex run)."""
    return _context.cli_args()


# --- context detection --------------------------------------------------------------------


def is_standalone() -> bool:
    """True when no experiment is tracking this code."""
    return _context.current() is None


def has_context() -> bool:
    """True when an experiment is tracking this code."""
    return _context.current() is not None


# --- metrics ------------------------------------------------------------------------------


def log_metrics(data: dict[str, Any], step: int | None = None) -> None:
    """Log metrics for a step; no-op standalone.

    ``step=None`` takes the next step after the highest so far. Logging to an existing step
    merges into it (new values win, the first timestamp stays, ``last_updated`` is set).
    """
    if not isinstance(data, dict):
        raise TypeError(f"log_metrics takes a dict of metrics, not {type(data).__name__}")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        raise TypeError(f"step must be an int or None, not {type(step).__name__}")
    if step is not None and step < 0:
        raise ValueError(f"step must not be negative: {step}")
    exp = _context.current()
    if exp is not None:
        exp.log_metrics(data, step)


def log_results(data: dict[str, Any], step: int | None = None) -> None:
    """Deprecated alias of ``log_metrics``."""
    warnings.warn(
        "log_results() is deprecated; use log_metrics()", DeprecationWarning, stacklevel=2
    )
    log_metrics(data, step)


# --- artifacts ----------------------------------------------------------------------------


def _artifacts_dir(from_experiment: str | None = None) -> Path:
    if from_experiment is not None:
        from yanex._core import query

        return query.experiment_dir_of(from_experiment) / layout.ARTIFACTS
    exp = _context.current()
    return exp.artifacts_dir if exp is not None else Path.cwd() / "artifacts"


def copy_artifact(src_path: Path | str, filename: str | None = None) -> None:
    """Copy a file into the artifacts directory (``./artifacts/`` standalone)."""
    from yanex._core import artifacts as _artifacts

    _artifacts.copy(src_path, _artifacts_dir(), filename)


def save_artifact(
    obj: Any, filename: str, saver: Callable[[Any, Path], None] | None = None
) -> None:
    """Save an object as an artifact, its format chosen by the extension or by ``saver``."""
    from yanex._core import artifacts as _artifacts

    _artifacts.save(obj, _artifacts_dir(), filename, saver)


def load_artifact(
    filename: str,
    loader: Callable[[Path], Any] | None = None,
    from_experiment: str | None = None,
) -> Any:
    """Load an artifact; None when it does not exist.

    Searched in ``from_experiment`` if given; else in the current experiment, then in its
    dependencies, then in theirs (breadth first: the nearest one that has it wins). Raises
    AmbiguousArtifactError when several dependencies at that nearest level have it.
    """
    from yanex._core import artifacts as _artifacts

    directory = _artifacts_dir(from_experiment)
    exp = _context.current() if from_experiment is None else None
    if exp is not None:
        from yanex._core import dependencies

        directory = dependencies.find_artifact(exp.dir, filename) or directory
    return _artifacts.load(directory, filename, loader)


def artifact_exists(filename: str, from_experiment: str | None = None) -> bool:
    """True when the artifact exists."""
    from yanex._core import artifacts as _artifacts

    return _artifacts.exists(_artifacts_dir(from_experiment), filename)


def list_artifacts(from_experiment: str | None = None) -> list[str]:
    """Artifact names, sorted."""
    from yanex._core import artifacts as _artifacts

    return _artifacts.list_names(_artifacts_dir(from_experiment))


# --- experiment information ---------------------------------------------------------------


def get_experiment_id() -> str | None:
    """The current experiment's id; None standalone."""
    exp = _context.current()
    return exp.id if exp is not None else None


def get_status() -> str | None:
    """The current experiment's status; None standalone."""
    exp = _context.current()
    return str(exp.metadata().status) if exp is not None else None


def get_metadata() -> dict[str, Any]:
    """The current experiment's metadata as a dict; {} standalone."""
    exp = _context.current()
    if exp is None:
        return {}
    return metadata.as_dict(exp.dir)


def get_experiment_dir() -> Path | None:
    """Absolute path of the current experiment's directory; None standalone."""
    exp = _context.current()
    return exp.dir if exp is not None else None


def get_artifacts_dir() -> Path | None:
    """Absolute path of the current experiment's artifacts directory; None standalone."""
    exp = _context.current()
    return exp.artifacts_dir if exp is not None else None


# --- explicit experiments -----------------------------------------------------------------


def create_experiment(
    script_path: Path | str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
) -> ExperimentContext:
    """A new experiment as a context manager: completed on normal exit, failed on an
    exception (message and traceback kept), cancelled on KeyboardInterrupt.

    The experiment is stored when this is called, with status ``created``: its
    ``experiment_id`` is readable at once, and another process may join it with
    ``create_context(id)``. Entering the ``with`` block moves it to ``running``.

    Raises ExperimentContextError inside a ``yanex run`` experiment.
    """
    return ExperimentContext.create_now(creation(script_path, name, config, tags, description))


def creation(
    script_path: Path | str,
    name: str | None,
    config: dict[str, Any] | None,
    tags: list[str] | None,
    description: str | None,
) -> dict[str, Any]:
    """The checked arguments of create_experiment (both faces)."""
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


def create_context(experiment_id: str) -> ExperimentContext:
    """A context manager on an existing experiment (id, unique id prefix or name; never a
    path), to resume or join it."""
    from yanex._core import query

    return ExperimentContext(exp_id=query.experiment_dir_of(experiment_id).name)


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


def get_dependencies(transitive: bool = False) -> list[Experiment]:
    """Experiments the current one depends on (``-D``), dependencies first; [] standalone.

    The direct dependencies come as a list that also answers by slot: ``deps["data"]``,
    ``"data" in deps``, ``deps.items()``. ``transitive=True`` gives a plain list of every
    experiment upstream (transitive dependencies have no slot of this experiment).
    """
    from yanex._core import dependencies

    exp = _context.current()
    if exp is None:
        return dependencies.DependencyList()
    if transitive:
        entries = [f"{k}={v}" for k, v in dependencies.slots_of(exp.dir).items()]
        return dependencies.resolve(entries, transitive=True)
    return dependencies.direct(exp.dir)


def get_dependency(slot: str) -> Experiment | None:
    """The experiment in dependency slot ``slot`` (``-D slot=ID``; ``dep1``... without a
    name); None standalone or when there is no such slot."""
    from yanex._core import dependencies

    exp = _context.current()
    return dependencies.direct(exp.dir).get(slot) if exp is not None else None


def assert_dependency(script_name: str, slot: str | None = None) -> None:
    """Fail the experiment unless a dependency (the one in ``slot``, if given) ran
    ``script_name``. No-op standalone."""
    from yanex._core import dependencies

    exp = _context.current()
    if exp is None:
        return
    deps = dependencies.direct(exp.dir)
    if slot is not None and slot not in deps:
        by_slot = [f"{Path(d.script_path or '').name} (slot {k})" for k, d in deps.items()]
        _dependency_failure(f"No dependency in slot '{slot}'", ", ".join(by_slot) or "none")
    candidates = [deps[slot]] if slot is not None else list(deps)
    scripts = [Path(d.script_path or "").name for d in candidates]
    if script_name in scripts:
        return
    where = f" in slot '{slot}'" if slot is not None else ""
    found = ", ".join(s for s in scripts if s) or "none"
    _dependency_failure(f"No dependency from '{script_name}' found{where}", found)


def _dependency_failure(headline: str, found: str) -> NoReturn:
    import sys

    # the documented user-facing message, then the experiment fails with it
    print(f"Error: {headline}\nCurrent dependencies are from: {found}", file=sys.stderr)
    fail(f"{headline} (dependencies are from: {found})")
    raise AssertionError("fail() leaves by raising")  # pragma: no cover


def get_graph() -> ExperimentGraph:
    """The dependency graph of the current experiment: what it depends on and what depends
    on it (``yanex.results.ExperimentGraph``); an empty graph standalone."""
    from yanex.results.graph import ExperimentGraph, get_graph

    exp = _context.current()
    return get_graph(exp.id) if exp is not None else ExperimentGraph([], [])


# --- processes (coroutines; the blocking face runs them through _portal) -------------------


async def execute_bash_script(
    command: str,
    timeout: float | None = None,
    raise_on_error: bool = False,
    stream_output: bool = True,
    working_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Run a shell command (with bash) inside the current experiment and wait for it.

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
    """Run each spec's script as a tracked experiment of its own and wait for all of them.

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
