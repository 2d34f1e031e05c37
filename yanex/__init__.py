"""yanex: Git-aware experiment tracking for Python scripts. This module is the blocking face.

Nothing here is transcribed: each public name is looked up, on first use (PEP 562
``__getattr__``), in the module that implements it, so ``help(yanex.run_multiple)`` shows the
whole contract written there. Plain functions are exposed as they are; coroutine functions
(those that wait on processes) get a blocking wrapper that runs them through ``yanex._portal``
and keeps their signature and docstring. ``import yanex`` itself stays fast: it imports no
msgspec, anyio, CLI, rich, pandas or numpy and starts no thread. The async face with the same
names is ``yanex.aio``; the query face is ``yanex.results``.
"""

from __future__ import annotations

# Not ``from typing import ...``: on a bare interpreter typing (and the re it pulls in) is
# most of what importing this module would cost. Type checkers treat any name TYPE_CHECKING
# as true, and read the real signatures from these imports (``__all__`` re-exports them).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from yanex import _api, _portal
    from yanex._api import (
        artifact_exists,
        assert_dependency,
        cancel,
        completed,
        copy_artifact,
        fail,
        get_artifacts_dir,
        get_cli_args,
        get_dependencies,
        get_dependency,
        get_experiment_dir,
        get_experiment_id,
        get_graph,
        get_metadata,
        get_param,
        get_params,
        get_status,
        has_context,
        is_standalone,
        list_artifacts,
        load_artifact,
        log_metrics,
        log_results,
        save_artifact,
    )
    from yanex._contexts import ExperimentContext, create_context, create_experiment
    from yanex._models import ExperimentResult, ExperimentSpec, Status
    from yanex.errors import ExperimentContextError, ExperimentNotFoundError, YanexError

    execute_bash_script = _portal.blocking(_api.execute_bash_script)
    run_multiple = _portal.blocking(_api.run_multiple)

__version__ = "0.7.0.dev0"

# Each public name -> the module that implements it (the one signature and docstring):
# the Run API's functions are in yanex._api; the others are named here. __all__ below stays
# a literal list, which is what type checkers and IDEs read.
_ELSEWHERE = {
    **dict.fromkeys(
        ("ExperimentContext", "create_context", "create_experiment"), "yanex._contexts"
    ),
    **dict.fromkeys(
        ("ExperimentResult", "ExperimentSpec", "Status", "NO_DEFAULT"), "yanex._models"
    ),
    **dict.fromkeys(
        ("ExperimentContextError", "ExperimentNotFoundError", "YanexError"), "yanex.errors"
    ),
}


_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE


def __getattr__(name: str) -> object:
    module = _IMPLEMENTED_IN.get(name)
    if module is None:
        raise AttributeError(f"module 'yanex' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    # inspect.iscoroutinefunction, without importing inspect (16 ms: ast, dis, tokenize),
    # which every tracked script would pay on its first yanex call
    if getattr(getattr(value, "__code__", None), "co_flags", 0) & _CO_COROUTINE:
        from yanex import _portal

        value = _portal.blocking(value)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_IMPLEMENTED_IN})


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


_IMPLEMENTED_IN = {
    **{name: _ELSEWHERE.get(name, "yanex._api") for name in __all__},
    **_ELSEWHERE,
}
