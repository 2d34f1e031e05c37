"""yanex: Git-aware experiment tracking for Python scripts. This module is the blocking face.

Each function here forwards to its one implementation in ``yanex._api``, imported on first
use so that ``import yanex`` stays fast (it imports no msgspec, anyio, CLI, rich, pandas or
numpy and starts no thread). Process-running functions go through the portal's event loop.
The async face with the same names is ``yanex.aio``; the query face is ``yanex.results``.
"""

from __future__ import annotations

# Not ``from typing import ...``: on a bare interpreter typing (and the re it pulls in) is
# most of what importing this module would cost. Annotations here are never evaluated, and
# type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any

    from yanex._core.experiment import ExperimentContext
    from yanex._models import ExperimentResult, ExperimentSpec, Status
    from yanex.errors import ExperimentContextError, YanexError
    from yanex.results import Experiment, ExperimentGraph

__version__ = "0.7.0.dev0"

_impl: Any = None


def _load() -> Any:
    global _impl
    if _impl is None:
        from yanex import _api as impl

        _impl = impl
    return _impl


def get_params() -> dict[str, Any]:
    """The experiment's parameters; {} standalone."""
    return _load().get_params()  # type: ignore[no-any-return]


class _NoDefault:
    """The default of ``get_param`` when the caller gives none (``default=None`` is a value)."""

    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()


def get_param(key: str, default: Any = NO_DEFAULT) -> Any:
    """One parameter (dot notation for nesting); ``default`` when missing (None if not given,
    with a warning: an explicit ``default=None`` does not warn)."""
    impl = _load()

    return impl.lookup_param(impl.get_params(), key, default, stacklevel=3)


def get_cli_args() -> dict[str, Any]:
    """The parsed ``yanex run`` flags; {} outside yanex run."""
    return _load().get_cli_args()  # type: ignore[no-any-return]


def is_standalone() -> bool:
    """True when no experiment is tracking this code."""
    return _load().is_standalone()  # type: ignore[no-any-return]


def has_context() -> bool:
    """True when an experiment is tracking this code."""
    return _load().has_context()  # type: ignore[no-any-return]


def log_metrics(data: dict[str, Any], step: int | None = None) -> None:
    """Log metrics for a step (auto-incremented when None; merged into an existing step)."""
    (_impl or _load()).log_metrics(data, step)


def log_results(data: dict[str, Any], step: int | None = None) -> None:
    """Deprecated: use log_metrics."""
    import warnings

    warnings.warn(
        "log_results() is deprecated; use log_metrics()", DeprecationWarning, stacklevel=2
    )
    _load().log_metrics(data, step)


def copy_artifact(src_path: Path | str, filename: str | None = None) -> None:
    """Copy a file into the artifacts directory (``./artifacts/`` standalone)."""
    _load().copy_artifact(src_path, filename)


def save_artifact(
    obj: Any, filename: str, saver: Callable[[Any, Path], None] | None = None
) -> None:
    """Save an object as an artifact; format by extension, or ``saver(obj, path)``."""
    _load().save_artifact(obj, filename, saver)


def load_artifact(
    filename: str,
    loader: Callable[[Path], Any] | None = None,
    from_experiment: str | None = None,
) -> Any:
    """Load an artifact (of ``from_experiment`` if given); None when missing."""
    return _load().load_artifact(filename, loader, from_experiment)


def artifact_exists(filename: str, from_experiment: str | None = None) -> bool:
    """True when the artifact exists."""
    return _load().artifact_exists(filename, from_experiment)  # type: ignore[no-any-return]


def list_artifacts(from_experiment: str | None = None) -> list[str]:
    """Artifact names, sorted."""
    return _load().list_artifacts(from_experiment)  # type: ignore[no-any-return]


def get_experiment_id() -> str | None:
    """The current experiment's id; None standalone."""
    return _load().get_experiment_id()  # type: ignore[no-any-return]


def get_status() -> str | None:
    """The current experiment's status; None standalone."""
    return _load().get_status()  # type: ignore[no-any-return]


def get_metadata() -> dict[str, Any]:
    """The current experiment's metadata; {} standalone."""
    return _load().get_metadata()  # type: ignore[no-any-return]


def get_experiment_dir() -> Path | None:
    """The current experiment's directory; None standalone."""
    return _load().get_experiment_dir()  # type: ignore[no-any-return]


def get_artifacts_dir() -> Path | None:
    """The current experiment's artifacts directory; None standalone."""
    return _load().get_artifacts_dir()  # type: ignore[no-any-return]


def create_experiment(
    script_path: Path | str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
) -> ExperimentContext:
    """A new experiment as a context manager (``with yanex.create_experiment(...) as exp``)."""
    return _load().create_experiment(  # type: ignore[no-any-return]
        script_path, name, config, tags, description
    )


def create_context(experiment_id: str) -> ExperimentContext:
    """A context manager on an existing experiment, to resume or join it."""
    return _load().create_context(experiment_id)  # type: ignore[no-any-return]


def completed() -> None:
    """Mark the experiment completed and leave its block."""
    _load().completed()


def fail(message: str) -> None:
    """Mark the experiment failed and leave its block."""
    _load().fail(message)


def cancel(message: str) -> None:
    """Mark the experiment cancelled and leave its block."""
    _load().cancel(message)


def get_dependencies(transitive: bool = False) -> list[Experiment]:
    """Experiments the current one depends on, dependencies first (``deps["slot"]`` works
    too); [] standalone."""
    return _load().get_dependencies(transitive)  # type: ignore[no-any-return]


def get_dependency(slot: str) -> Experiment | None:
    """The experiment in dependency slot ``slot``; None standalone or without that slot."""
    return _load().get_dependency(slot)  # type: ignore[no-any-return]


def assert_dependency(script_name: str, slot: str | None = None) -> None:
    """Fail the experiment unless a dependency (in ``slot``, if given) ran ``script_name``."""
    _load().assert_dependency(script_name, slot)


def get_graph() -> ExperimentGraph:
    """The current experiment's dependency graph (upstream and downstream); empty standalone."""
    return _load().get_graph()  # type: ignore[no-any-return]


def execute_bash_script(
    command: str,
    timeout: float | None = None,
    raise_on_error: bool = False,
    stream_output: bool = True,
    working_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Run a shell command inside the experiment (output saved, logged in script_runs.json)."""
    from yanex import _portal

    return _portal.call(
        _load().execute_bash_script,
        command,
        timeout=timeout,
        raise_on_error=raise_on_error,
        stream_output=stream_output,
        working_dir=working_dir,
    )


def run_multiple(
    experiments: Sequence[ExperimentSpec], parallel: int | None = None, verbose: bool = False
) -> list[ExperimentResult]:
    """Run each spec as a tracked child experiment and wait for all of them."""
    from yanex import _portal

    return _portal.call(_load().run_multiple, experiments, parallel=parallel, verbose=verbose)


_LAZY = {
    "ExperimentSpec": "yanex._models",
    "ExperimentResult": "yanex._models",
    "Status": "yanex._models",
    "ExperimentContext": "yanex._core.experiment",
    "YanexError": "yanex.errors",
    "ExperimentContextError": "yanex.errors",
    "ExperimentNotFoundError": "yanex.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'yanex' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ExperimentContext",
    "ExperimentContextError",
    "ExperimentNotFoundError",
    "ExperimentResult",
    "ExperimentSpec",
    "Status",
    "YanexError",
    "artifact_exists",
    "assert_dependency",
    "cancel",
    "completed",
    "copy_artifact",
    "create_context",
    "create_experiment",
    "execute_bash_script",
    "fail",
    "get_artifacts_dir",
    "get_cli_args",
    "get_dependencies",
    "get_dependency",
    "get_experiment_dir",
    "get_experiment_id",
    "get_graph",
    "get_metadata",
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
