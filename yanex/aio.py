"""The async face: the Run API under the same names as ``yanex``, awaitable.

Nothing here is transcribed: each coroutine is derived from its one implementation in
``yanex._api`` by ``_portal.awaitable``, which keeps its name, signature and docstring
(``__wrapped__`` is the implementation), or is that implementation when it is a coroutine
already (``execute_bash_script``, ``run_multiple``). Functions that touch files more than
trivially (artifacts, metadata reads) run in a worker thread so they never stall the event
loop; the others (``log_metrics`` appends one short record) run inline, then yield once.
``create_experiment`` and ``create_context`` return ``AsyncExperimentContext`` for
``async with``. The ``yanex.results`` queries are here too, awaitable, built on first use.
Works under asyncio (with or without uvloop) and trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yanex import _api, _portal
from yanex._contexts import AsyncExperimentContext
from yanex._core.block import ExperimentBlock
from yanex._models import ExperimentResult, ExperimentSpec

_aw = _portal.awaitable

get_params = _aw(_api.get_params)
get_param = _aw(_api.get_param)
get_cli_args = _aw(_api.get_cli_args)
is_standalone = _aw(_api.is_standalone)
has_context = _aw(_api.has_context)
log_metrics = _aw(_api.log_metrics)
log_results = _aw(_api.log_results)
copy_artifact = _aw(_api.copy_artifact)
save_artifact = _aw(_api.save_artifact)
load_artifact = _aw(_api.load_artifact)
artifact_exists = _aw(_api.artifact_exists)
list_artifacts = _aw(_api.list_artifacts)
get_experiment_id = _aw(_api.get_experiment_id)
get_status = _aw(_api.get_status)
get_metadata = _aw(_api.get_metadata)
get_experiment_dir = _aw(_api.get_experiment_dir)
get_artifacts_dir = _aw(_api.get_artifacts_dir)
completed = _aw(_api.completed)
fail = _aw(_api.fail)
cancel = _aw(_api.cancel)
get_dependencies = _aw(_api.get_dependencies)
get_dependency = _aw(_api.get_dependency)
assert_dependency = _aw(_api.assert_dependency)
get_graph = _aw(_api.get_graph)
execute_bash_script = _api.execute_bash_script
run_multiple = _api.run_multiple


def create_experiment(
    script_path: Path | str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
) -> AsyncExperimentContext:
    """A new experiment for ``async with``: completed on normal exit, failed on an exception
    (message and traceback kept), cancelled on KeyboardInterrupt or cancellation. Inside,
    ``await exp.log_metrics(...)`` and the other ``yanex.aio`` coroutines are its methods.
    ``script_path``, ``name``, ``config``, ``tags`` and ``description``: as for
    ``yanex.create_experiment``.

    Unlike ``yanex.create_experiment``, it is stored on entering ``async with`` (in a worker
    thread: creating one runs git, which must not block the event loop), with status
    ``running``. Raises ExperimentContextError inside a ``yanex run`` experiment, TypeError
    when ``config`` is not a dict.
    """
    opts = _api.creation(script_path, name, config, tags, description)
    return AsyncExperimentContext(ExperimentBlock(create=opts))


def create_context(experiment_id: str) -> AsyncExperimentContext:
    """An existing experiment (id, unique id prefix or name; never a path) for ``async with``,
    to resume or join it, as ``yanex.create_context`` does.

    Raises ExperimentNotFoundError, AmbiguousExperimentError or InvalidReferenceError when
    ``experiment_id`` names no single experiment.
    """
    return AsyncExperimentContext(ExperimentBlock(exp_id=_api.experiment_id_of(experiment_id)))


async def as_completed(
    experiments: Sequence[ExperimentSpec],
    parallel: int | None = None,
    verbose: bool = False,
    launcher: str | None = None,
    launcher_options: Mapping[str, Any] | None = None,
    *,
    retries: int = 0,
    fail_fast: bool = False,
    gpus: Sequence[int] | None = None,
    gpus_per_run: int | None = None,
) -> AsyncIterator[ExperimentResult]:
    """Yield each experiment's result as soon as it finishes (beyond the published yanex).

    To stop early, iterate inside ``contextlib.aclosing(...)``: leaving it stops the
    experiments still running and records them as cancelled. ``launcher``,
    ``launcher_options``, ``retries``, ``fail_fast``, ``gpus`` and ``gpus_per_run`` as for
    ``run_multiple``; with retries every attempt's result is yielded (each is an experiment
    of its own), and with fail-fast the ones it stopped come last, cancelled.
    """
    import contextlib

    from yanex._core import batch

    where = (launcher, launcher_options)
    options = batch.Options(retries, fail_fast, gpus, gpus_per_run)
    results = batch.as_completed(
        experiments, parallel=parallel, verbose=verbose, launcher=where, options=options
    )
    async with contextlib.aclosing(results):  # closed here, in this task, never by the GC
        async for result in results:
            yield result


# --- queries: the yanex.results functions, awaitable (the store is read in a worker thread) ---

if TYPE_CHECKING:  # built on first use below: importing yanex.results costs ~20 ms
    from yanex import results

    archive_experiments = _aw(results.archive_experiments, thread=True)
    compare = _aw(results.compare, thread=True)
    experiment_exists = _aw(results.experiment_exists, thread=True)
    export_experiments = _aw(results.export_experiments, thread=True)
    find = _aw(results.find, thread=True)
    get_best = _aw(results.get_best, thread=True)
    get_experiment = _aw(results.get_experiment, thread=True)
    get_experiment_count = _aw(results.get_experiment_count, thread=True)
    get_experiments = _aw(results.get_experiments, thread=True)
    get_latest = _aw(results.get_latest, thread=True)
    get_metrics = _aw(results.get_metrics, thread=True)


def __getattr__(name: str) -> object:
    if name not in _QUERIES:  # the names of __all__ this module does not define
        raise AttributeError(f"module 'yanex.aio' has no attribute {name!r}")
    from yanex import results

    value = _aw(getattr(results, name), thread=True)
    globals()[name] = value
    return value


__all__ = [
    "AsyncExperimentContext",
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

# the queries: what __all__ names and this module does not define (built by __getattr__)
_QUERIES = frozenset(__all__) - frozenset(globals())
