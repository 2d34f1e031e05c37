"""The async face: the Run API under the same names as ``yanex``, awaitable.

Calls that touch files more than trivially (artifacts, metadata reads) run in a worker
thread so they never stall the event loop; ``log_metrics`` appends one short record and
runs inline (a thread hop would cost more than the write). ``create_experiment`` and
``create_context`` return context managers for ``async with``. Works under asyncio (with or
without uvloop) and trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from yanex import NO_DEFAULT, _api

if TYPE_CHECKING:
    from yanex._core.experiment import ExperimentContext
    from yanex._models import ExperimentResult, ExperimentSpec
    from yanex.results import Experiment, ExperimentGraph


async def get_params() -> dict[str, Any]:
    """The experiment's parameters; {} standalone."""
    return dict(await _in_thread(_api.get_params))


async def get_param(key: str, default: Any = NO_DEFAULT) -> Any:
    """One parameter (dot notation); ``default`` when missing (None and a warning if none given)."""

    return _api.lookup_param(await get_params(), key, default, stacklevel=3)


async def get_cli_args() -> dict[str, Any]:
    """The parsed ``yanex run`` flags; {} outside yanex run."""
    return _api.get_cli_args()


async def is_standalone() -> bool:
    """True when no experiment is tracking this code."""
    return _api.is_standalone()


async def has_context() -> bool:
    """True when an experiment is tracking this code."""
    return _api.has_context()


async def log_metrics(data: dict[str, Any], step: int | None = None) -> None:
    """Log metrics for a step (see ``yanex.log_metrics``)."""
    _api.log_metrics(data, step)
    await anyio.lowlevel.checkpoint()


async def log_results(data: dict[str, Any], step: int | None = None) -> None:
    """Deprecated: use log_metrics."""
    import warnings

    warnings.warn(
        "log_results() is deprecated; use log_metrics()", DeprecationWarning, stacklevel=2
    )
    await log_metrics(data, step)


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` in a worker thread, keeping the caller's current experiment."""
    import contextvars

    ctx = contextvars.copy_context()
    return await anyio.to_thread.run_sync(ctx.run, fn, *args)


async def copy_artifact(src_path: Path | str, filename: str | None = None) -> None:
    """Copy a file into the artifacts directory."""
    await _in_thread(_api.copy_artifact, src_path, filename)


async def save_artifact(
    obj: Any, filename: str, saver: Callable[[Any, Path], None] | None = None
) -> None:
    """Save an object as an artifact; format by extension, or ``saver(obj, path)``."""
    await _in_thread(_api.save_artifact, obj, filename, saver)


async def load_artifact(
    filename: str,
    loader: Callable[[Path], Any] | None = None,
    from_experiment: str | None = None,
) -> Any:
    """Load an artifact; None when missing."""
    return await _in_thread(_api.load_artifact, filename, loader, from_experiment)


async def artifact_exists(filename: str, from_experiment: str | None = None) -> bool:
    """True when the artifact exists."""
    return bool(await _in_thread(_api.artifact_exists, filename, from_experiment))


async def list_artifacts(from_experiment: str | None = None) -> list[str]:
    """Artifact names, sorted."""
    return list(await _in_thread(_api.list_artifacts, from_experiment))


async def get_experiment_id() -> str | None:
    """The current experiment's id; None standalone."""
    return _api.get_experiment_id()


async def get_status() -> str | None:
    """The current experiment's status; None standalone."""
    status = await _in_thread(_api.get_status)
    return str(status) if status is not None else None


async def get_metadata() -> dict[str, Any]:
    """The current experiment's metadata; {} standalone."""
    return dict(await _in_thread(_api.get_metadata))


async def get_experiment_dir() -> Path | None:
    """The current experiment's directory; None standalone."""
    return _api.get_experiment_dir()


async def get_artifacts_dir() -> Path | None:
    """The current experiment's artifacts directory; None standalone."""
    return _api.get_artifacts_dir()


def create_experiment(
    script_path: Path | str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
) -> ExperimentContext:
    """A new experiment for ``async with`` (``await exp.log_metrics(...)`` inside).

    Unlike ``yanex.create_experiment``, it is stored on entering ``async with`` (in a worker
    thread: creating one runs git, which must not block the event loop)."""
    from yanex._core.experiment import ExperimentContext

    opts = _api.creation(script_path, name, config, tags, description)
    return _async_bound(ExperimentContext(create=opts))


def create_context(experiment_id: str) -> ExperimentContext:
    """An existing experiment for ``async with``."""
    return _async_bound(_api.create_context(experiment_id))


def _async_bound(ctx: ExperimentContext) -> ExperimentContext:
    ctx._face = __name__  # its ``exp.<name>`` methods are this module's coroutines
    return ctx


async def completed() -> None:
    """Mark the experiment completed and leave its block."""
    _api.completed()


async def fail(message: str) -> None:
    """Mark the experiment failed and leave its block."""
    _api.fail(message)


async def cancel(message: str) -> None:
    """Mark the experiment cancelled and leave its block."""
    _api.cancel(message)


async def get_dependencies(transitive: bool = False) -> list[Experiment]:
    """Experiments the current one depends on (``deps["slot"]`` works too); [] standalone."""
    found: list[Experiment] = await _in_thread(_api.get_dependencies, transitive)
    return found


async def get_dependency(slot: str) -> Experiment | None:
    """The experiment in dependency slot ``slot``; None standalone or without that slot."""
    found: Experiment | None = await _in_thread(_api.get_dependency, slot)
    return found


async def assert_dependency(script_name: str, slot: str | None = None) -> None:
    """Fail the experiment unless a dependency (in ``slot``, if given) ran ``script_name``."""
    await _in_thread(_api.assert_dependency, script_name, slot)


async def get_graph() -> ExperimentGraph:
    """The current experiment's dependency graph (upstream and downstream); empty standalone."""
    graph: ExperimentGraph = await _in_thread(_api.get_graph)
    return graph


async def execute_bash_script(
    command: str,
    timeout: float | None = None,
    raise_on_error: bool = False,
    stream_output: bool = True,
    working_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Run a shell command inside the experiment; cancelling stops its process group."""
    return await _api.execute_bash_script(
        command,
        timeout=timeout,
        raise_on_error=raise_on_error,
        stream_output=stream_output,
        working_dir=working_dir,
    )


async def run_multiple(
    experiments: Sequence[ExperimentSpec], parallel: int | None = None, verbose: bool = False
) -> list[ExperimentResult]:
    """Run each spec as a tracked child experiment; cancelling stops every child."""
    return await _api.run_multiple(experiments, parallel=parallel, verbose=verbose)


async def as_completed(
    experiments: Sequence[ExperimentSpec], parallel: int | None = None, verbose: bool = False
) -> AsyncIterator[ExperimentResult]:
    """Yield each experiment's result as soon as it finishes (beyond the published yanex).

    To stop early, iterate inside ``contextlib.aclosing(...)``: leaving it stops the
    experiments still running and records them as cancelled.
    """
    import contextlib

    from yanex._core import batch

    results = batch.as_completed(experiments, parallel=parallel, verbose=verbose)
    async with contextlib.aclosing(results):  # closed here, in this task, never by the GC
        async for result in results:
            yield result


# --- queries (yanex.results, awaitable: the store is read in a worker thread) -------------


async def get_experiment(experiment_id: str) -> Experiment:
    """The stored experiment with this id, unique id prefix or name (yanex.results)."""
    from yanex import results

    found: Experiment = await _query(results.get_experiment, experiment_id)
    return found


async def get_experiments(**filters: Any) -> list[Experiment]:
    """Stored experiments matching the filters, newest first (yanex.results)."""
    from yanex import results

    found: list[Experiment] = await _query(results.get_experiments, **filters)
    return found


async def find(**filters: Any) -> list[dict[str, Any]]:
    """Metadata dicts of the stored experiments matching the filters (yanex.results)."""
    from yanex import results

    found: list[dict[str, Any]] = await _query(results.find, **filters)
    return found


async def get_latest(**filters: Any) -> Experiment | None:
    """The newest stored experiment matching the filters, or None (yanex.results)."""
    from yanex import results

    found: Experiment | None = await _query(results.get_latest, **filters)
    return found


async def get_best(metric: str, maximize: bool = True, **filters: Any) -> Experiment | None:
    """The experiment with the best last value of ``metric`` (yanex.results)."""
    from yanex import results

    found: Experiment | None = await _query(results.get_best, metric, maximize, **filters)
    return found


async def compare(
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    only_different: bool = False,
    **filters: Any,
) -> Any:
    """A pandas DataFrame comparing the matching experiments (yanex.results)."""
    from yanex import results

    return await _query(results.compare, params, metrics, only_different, **filters)


async def get_metrics(
    metrics: str | Sequence[str] | None = None,
    include_params: str | Sequence[str] = "auto",
    as_dataframe: bool = True,
    **filters: Any,
) -> Any:
    """Metrics of the matching experiments in long format (yanex.results)."""
    from yanex import results

    return await _query(results.get_metrics, metrics, include_params, as_dataframe, **filters)


async def get_experiment_count(**filters: Any) -> int:
    """How many stored experiments match the filters (yanex.results)."""
    from yanex import results

    return int(await _query(results.get_experiment_count, **filters))


async def experiment_exists(experiment_id: str, include_archived: bool = True) -> bool:
    """True when ``experiment_id`` names exactly one stored experiment (yanex.results)."""
    from yanex import results

    return bool(await _query(results.experiment_exists, experiment_id, include_archived))


async def archive_experiments(**filters: Any) -> int:
    """Archive the active experiments matching the filters; how many (yanex.results)."""
    from yanex import results

    return int(await _query(results.archive_experiments, **filters))


async def export_experiments(
    path: Path | str,
    format: str = "json",
    **filters: Any,
) -> None:
    """Write the matching experiments to ``path`` as json, csv or yaml (yanex.results)."""
    from yanex import results

    await _query(results.export_experiments, path, format, **filters)


async def _query(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    import functools

    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


__all__ = [
    "archive_experiments",
    "artifact_exists",
    "as_completed",
    "assert_dependency",
    "cancel",
    "compare",
    "completed",
    "copy_artifact",
    "create_context",
    "create_experiment",
    "execute_bash_script",
    "experiment_exists",
    "export_experiments",
    "fail",
    "find",
    "get_artifacts_dir",
    "get_best",
    "get_cli_args",
    "get_dependencies",
    "get_dependency",
    "get_experiment",
    "get_experiment_count",
    "get_experiment_dir",
    "get_experiment_id",
    "get_experiments",
    "get_graph",
    "get_latest",
    "get_metadata",
    "get_metrics",
    "get_param",
    "get_params",
    "get_status",
    "has_context",
    "is_standalone",
    "list_artifacts",
    "load_artifact",
    "log_metrics",
    "log_results",
    "run_multiple",
    "save_artifact",
]
