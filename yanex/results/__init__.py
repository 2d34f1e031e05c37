"""yanex.results: find, read and compare stored experiments from Python.

Filters (keyword arguments of most functions): ``ids`` (ids or id prefixes, any of them),
``status`` (a status or a list, any of them), ``name`` (glob; ``""`` = unnamed), ``tags`` (all
of them), ``project``, ``script_pattern``, ``started_after``/``started_before``/
``ended_after``/``ended_before`` (datetime, ISO string or phrase such as "1 week ago"),
``sweep_id`` (the sweep a ``yanex run`` or ``run_multiple`` call recorded, or its prefix),
``archived`` (False = active only, True = archived only, None = both; the default) and
``limit``. Results are ordered newest first. Unlike the CLI, these functions do not limit
themselves to the current project unless ``project=`` is given.

pandas is needed only by the functions that return a DataFrame (``compare``, and
``get_metrics`` with ``as_dataframe=True``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from yanex._core import compare as _compare
from yanex._core import query as _query
from yanex._core.filters import Filters
from yanex._core.warn import skipped
from yanex.errors import AmbiguousExperimentError, ExperimentNotFoundError, InvalidReferenceError

from ._bulk import archive_experiments, export_experiments
from .experiment import Experiment
from .graph import ExperimentGraph, get_graph

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


def _filters(given: dict[str, Any]) -> Filters:
    given.setdefault("archived", None)
    return Filters.build(**given)


def _records(given: dict[str, Any]) -> list[_query.Record]:
    found = _query.select(_filters(given))
    for problem in found.problems:  # for whoever listens to the log, too
        log.warning("skipped experiment %s: %s", problem.id, problem.message)
    skipped(found.problems)  # left out, as by yanex list: one warning each, the rest goes on
    return found.records


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (or unique id prefix, or name).

    Raises ExperimentNotFoundError, or AmbiguousExperimentError when several match.
    """
    return Experiment._from_record(_query.resolve(experiment_id, archived=None))


def get_experiments(**filters: Any) -> list[Experiment]:
    """Experiments matching the filters, newest first."""
    return [Experiment._from_record(r) for r in _records(filters)]


def find(**filters: Any) -> list[dict[str, Any]]:
    """Metadata dicts (with ``id``) of the experiments matching the filters, newest first.

    The lightweight form of ``get_experiments`` shown in the Python API overview:
    ``yr.get_experiment(d["id"])`` gives the full object.
    """
    return [{**exp.metadata, "id": exp.id} for exp in get_experiments(**filters)]


def get_latest(**filters: Any) -> Experiment | None:
    """The most recently created experiment matching the filters, or None."""
    rec = _query.latest(_filters(filters))
    return Experiment._from_record(rec) if rec is not None else None


def get_best(metric: str, maximize: bool = True, **filters: Any) -> Experiment | None:
    """The experiment whose last value of ``metric`` is highest (or lowest); None if none has it."""
    best: tuple[float, Experiment] | None = None
    for exp in get_experiments(**filters):
        value = exp.get_metric(metric)
        value = value[-1] if isinstance(value, list) else value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        score = float(value) if maximize else -float(value)
        if best is None or score > best[0]:
            best = (score, exp)
    return best[1] if best is not None else None


def compare(
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    only_different: bool = False,
    **filters: Any,
) -> Any:
    """A pandas DataFrame comparing the matching experiments, one row each.

    Columns are a MultiIndex: ``("param", name)``, ``("metric", name)`` (last logged value)
    and ``("meta", name|status|started_at|duration)``, and, when any experiment has them,
    ``("resources", peak_rss_mb|cpu_seconds|gpu_mem_peak_mb)``; the index is the experiment id.
    ``params``/``metrics`` default to every one found; ``only_different`` drops the
    parameter and metric columns whose value is the same everywhere.
    """
    from ._frames import comparison_frame, pandas

    pandas()  # fail early, before reading anything, when pandas is missing
    cmp = _compare.build(
        _records(filters),
        params=_names(params),
        metrics=_names(metrics),
        only_different=only_different,
    )
    skipped(cmp.problems)
    return comparison_frame(cmp)


def _names(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def get_metrics(
    metrics: str | Sequence[str] | None = None,
    include_params: str | Sequence[str] = "auto",
    as_dataframe: bool = True,
    **filters: Any,
) -> Any:
    """Metrics of the matching experiments in long format, for plotting and grouping.

    DataFrame columns: experiment_id, step, metric_name, value, then parameter columns
    chosen by ``include_params``: "auto" (those that differ between the experiments),
    "all", "none", or a list of names. ``as_dataframe=False`` returns
    ``{experiment_id: [metric dicts]}`` instead (no pandas needed).
    """
    from ._long import collect

    if as_dataframe:
        from ._frames import pandas

        pandas()
    return collect(_records(filters), _names(metrics), include_params, as_dataframe=as_dataframe)


def get_experiment_count(**filters: Any) -> int:
    """How many experiments match the filters."""
    return len(_records(filters))


def experiment_exists(experiment_id: str, include_archived: bool = True) -> bool:
    """True when ``experiment_id`` names exactly one experiment."""
    try:
        _query.resolve(experiment_id, archived=None if include_archived else False)
    except (ExperimentNotFoundError, AmbiguousExperimentError, InvalidReferenceError):
        return False
    return True


__all__ = [
    "Experiment",
    "ExperimentGraph",
    "archive_experiments",
    "compare",
    "experiment_exists",
    "export_experiments",
    "find",
    "get_best",
    "get_experiment",
    "get_experiment_count",
    "get_experiments",
    "get_graph",
    "get_latest",
    "get_metrics",
]
