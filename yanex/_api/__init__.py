"""The one implementation of every public Run API function, with its user-facing docstring.

The faces are derived from these functions, never transcribed (see ``_portal``): ``yanex``
exposes the plain functions themselves and runs the coroutines (``execute_bash_script``,
``run_multiple``: they wait on processes) through the portal; ``yanex.aio`` exposes the
coroutines themselves and wraps each plain function in a coroutine, run in a worker thread
when it is marked ``in_worker_thread`` (it touches files more than trivially), else inline.
The context managers of ``create_experiment`` / ``create_context`` are in ``_contexts``.

``experiment`` has the current experiment's parameters, metrics, facts and end;
``artifacts`` its files; ``lineage`` its dependencies; ``processes`` the calls that wait on
child processes. This package re-exports them all: ``_api.<name>`` is the implementation.
"""

from __future__ import annotations

from .artifacts import (
    artifact_exists,
    copy_artifact,
    list_artifacts,
    load_artifact,
    save_artifact,
)
from .experiment import (
    cancel,
    completed,
    creation,
    experiment_id_of,
    fail,
    get_artifacts_dir,
    get_cli_args,
    get_experiment_dir,
    get_experiment_id,
    get_metadata,
    get_param,
    get_params,
    get_status,
    has_context,
    is_standalone,
    log_metrics,
    log_results,
    lookup_param,
)
from .lineage import (
    assert_dependency,
    get_dependencies,
    get_dependency,
    get_graph,
)
from .processes import (
    execute_bash_script,
    run_multiple,
)

__all__ = [
    "artifact_exists",
    "assert_dependency",
    "cancel",
    "completed",
    "copy_artifact",
    "creation",
    "execute_bash_script",
    "experiment_id_of",
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
    "lookup_param",
    "run_multiple",
    "save_artifact",
]
