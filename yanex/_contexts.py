"""The Run API's context managers: ``ExperimentContext`` (``with``) and ``AsyncExperimentContext``
(``async with``), and ``create_experiment`` / ``create_context`` of the blocking face.

Like httpx's ``Client`` and ``AsyncClient``, they are an explicit, typed pair with the same
experiment methods (``exp.log_metrics(...)``), plain on one and coroutines on the other. Each
method is derived from its function in ``_api``, keeping its signature and docstring, and runs
it with this experiment current; the async ones are the coroutines ``yanex.aio`` offers. The
lifecycle itself (storing, resuming, the final status) is ``_core.block.ExperimentBlock``.
``yanex.aio`` builds ``AsyncExperimentContext`` in its own ``create_experiment`` (stored on
``async with``, in a worker thread, since creating one runs git).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from yanex import _api, _context, _portal
from yanex._core.block import ExperimentBlock

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=Callable[..., Any])


def _like(method: M, fn: Callable[..., Any]) -> M:
    """Give ``method`` the name, docstring and signature (``self`` first) of ``fn``."""
    functools.update_wrapper(method, fn)
    signature = inspect.signature(fn)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    with_self = signature.replace(parameters=[self_param, *signature.parameters.values()])
    setattr(method, "__signature__", with_self)  # noqa: B010 (mypy: Callable has no such attribute)
    return method


def _method(fn: Callable[P, T]) -> Callable[Concatenate[ExperimentContext, P], T]:
    """``fn`` as a method of ExperimentContext: the same call, with this experiment current."""

    def method(self: ExperimentContext, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with _context.using(self._block.active):
            return fn(*args, **kwargs)

    return _like(method, fn)


def _amethod(
    fn: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[Concatenate[AsyncExperimentContext, P], Coroutine[Any, Any, T]]:
    """``fn`` as a coroutine method of AsyncExperimentContext, with this experiment current."""

    async def method(self: AsyncExperimentContext, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with _context.using(self._block.active):
            return await fn(*args, **kwargs)

    return _like(method, fn)


_aw = _portal.awaitable


class _Context:
    """What both context managers share: the block, and the experiment's id and paths (readable
    before, during and after the block)."""

    def __init__(self, block: ExperimentBlock) -> None:
        self._block = block

    @property
    def experiment_id(self) -> str:
        """The experiment's 8-hex id."""
        return self._block.known.id

    @property
    def id(self) -> str:
        """The experiment's 8-hex id (as ``experiment_id``)."""
        return self._block.known.id

    @property
    def experiment_dir(self) -> Path:
        """The experiment's directory in the store."""
        return self._block.known.dir

    @property
    def artifacts_dir(self) -> Path:
        """The experiment's artifacts directory."""
        return self._block.known.artifacts_dir


class ExperimentContext(_Context):
    """One experiment as a ``with`` block: completed on normal exit, failed on an exception,
    cancelled on KeyboardInterrupt; ``exp.<function>(...)`` is the Run API function of that
    name, applied to this experiment (``exp.execute_bash_script`` blocks until it ends)."""

    def __enter__(self) -> ExperimentContext:
        self._block.activate(self._block.open())
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb_: TracebackType | None
    ) -> bool:
        return self._block.finish(self._block.deactivate(), exc)

    get_params = _method(_api.get_params)
    get_param = _method(_api.get_param)
    log_metrics = _method(_api.log_metrics)
    log_results = _method(_api.log_results)
    copy_artifact = _method(_api.copy_artifact)
    save_artifact = _method(_api.save_artifact)
    load_artifact = _method(_api.load_artifact)
    artifact_exists = _method(_api.artifact_exists)
    list_artifacts = _method(_api.list_artifacts)
    get_dependencies = _method(_api.get_dependencies)
    get_dependency = _method(_api.get_dependency)
    assert_dependency = _method(_api.assert_dependency)
    get_graph = _method(_api.get_graph)
    get_status = _method(_api.get_status)
    get_metadata = _method(_api.get_metadata)
    get_experiment_id = _method(_api.get_experiment_id)
    get_experiment_dir = _method(_api.get_experiment_dir)
    get_artifacts_dir = _method(_api.get_artifacts_dir)
    execute_bash_script = _method(_portal.blocking(_api.execute_bash_script))
    completed = _method(_api.completed)
    fail = _method(_api.fail)
    cancel = _method(_api.cancel)


class AsyncExperimentContext(_Context):
    """One experiment as an ``async with`` block (``yanex.aio.create_experiment`` /
    ``create_context``); ``await exp.<function>(...)`` is the ``yanex.aio`` coroutine of that
    name, applied to this experiment. Opening and closing run in a worker thread."""

    async def __aenter__(self) -> AsyncExperimentContext:
        import anyio.to_thread

        self._block.activate(await anyio.to_thread.run_sync(self._block.open))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb_: TracebackType | None
    ) -> bool:
        import anyio
        import anyio.to_thread

        exp = self._block.deactivate()
        with anyio.CancelScope(shield=True):  # the final status is written even when cancelled
            swallow = await anyio.to_thread.run_sync(self._block.finish, exp, exc)
        return swallow

    get_params = _amethod(_aw(_api.get_params))
    get_param = _amethod(_aw(_api.get_param))
    log_metrics = _amethod(_aw(_api.log_metrics))
    log_results = _amethod(_aw(_api.log_results))
    copy_artifact = _amethod(_aw(_api.copy_artifact))
    save_artifact = _amethod(_aw(_api.save_artifact))
    load_artifact = _amethod(_aw(_api.load_artifact))
    artifact_exists = _amethod(_aw(_api.artifact_exists))
    list_artifacts = _amethod(_aw(_api.list_artifacts))
    get_dependencies = _amethod(_aw(_api.get_dependencies))
    get_dependency = _amethod(_aw(_api.get_dependency))
    assert_dependency = _amethod(_aw(_api.assert_dependency))
    get_graph = _amethod(_aw(_api.get_graph))
    get_status = _amethod(_aw(_api.get_status))
    get_metadata = _amethod(_aw(_api.get_metadata))
    get_experiment_id = _amethod(_aw(_api.get_experiment_id))
    get_experiment_dir = _amethod(_aw(_api.get_experiment_dir))
    get_artifacts_dir = _amethod(_aw(_api.get_artifacts_dir))
    execute_bash_script = _amethod(_api.execute_bash_script)
    completed = _amethod(_aw(_api.completed))
    fail = _amethod(_aw(_api.fail))
    cancel = _amethod(_aw(_api.cancel))


def create_experiment(
    script_path: Path | str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
) -> ExperimentContext:
    """A new experiment as a context manager: completed on normal exit, failed on an
    exception (message and traceback kept), cancelled on KeyboardInterrupt.

    ``script_path`` is recorded as its script; ``name``, ``tags`` and ``description`` label
    it; ``config`` (a dict) is its parameters (``get_params()`` inside).

    The experiment is stored when this is called, with status ``created``: its
    ``experiment_id`` is readable at once, and another process may join it with
    ``create_context(id)``. Entering the ``with`` block moves it to ``running``. Inside,
    ``exp.log_metrics(...)`` and the other Run API functions are methods of the context.

    Raises ExperimentContextError inside a ``yanex run`` experiment, TypeError when
    ``config`` is not a dict.
    """
    opts = _api.creation(script_path, name, config, tags, description)
    return ExperimentContext(ExperimentBlock.create_now(opts))


def create_context(experiment_id: str) -> ExperimentContext:
    """A context manager on an existing experiment (id, unique id prefix or name; never a
    path), to resume or join it: a finished experiment runs again until the block ends; a
    running one is joined, and its status is left to its owner.

    Raises ExperimentNotFoundError, AmbiguousExperimentError or InvalidReferenceError when
    ``experiment_id`` names no single experiment.
    """
    return ExperimentContext(ExperimentBlock(exp_id=_api.experiment_id_of(experiment_id)))
