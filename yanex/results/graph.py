"""``ExperimentGraph``: a pipeline of stored experiments, navigated, filtered and read as one.

``get_graph(id)`` selects the experiments upstream and downstream of one experiment (with
``weakly_connected=True`` also its siblings: everything connected to it). Graph-wide reads
are strict: an artifact, parameter or metric found in several experiments with different
contents raises instead of guessing; the fan-out pattern is ``filter()`` then per-experiment
reads. networkx is needed only for ``digraph``, pandas only for ``compare``/``get_metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from yanex._core import artifacts as _artifacts
from yanex._core import compare as _compare
from yanex._core import dependencies as _deps
from yanex._core import graph as _graph
from yanex._core import query as _query
from yanex._core.filters import Filters
from yanex._core.warn import skipped
from yanex.errors import AmbiguousArtifactError

from .experiment import Experiment

Edge = tuple[str, str, str]  # (dependency id, dependent id, slot)
META_COLUMNS = ("name", "status", "started_at", "duration")


def get_graph(experiment_id: str, *, weakly_connected: bool = False) -> ExperimentGraph:
    """The dependency graph around an experiment (id, unique id prefix or name).

    By default its causal lineage: the experiment, everything it depends on and everything
    that depends on it, recursively. ``weakly_connected=True``: every experiment connected
    to it by dependencies in either direction (sibling branches too).
    Raises ExperimentNotFoundError (or AmbiguousExperimentError).
    """
    rec = _query.resolve(experiment_id, archived=None)
    store = _graph.load()
    store.records.setdefault(rec.id, rec)
    ids = _graph.select(store, rec.id, weakly_connected=weakly_connected)
    return ExperimentGraph([Experiment._from_record(store.records[i]) for i in ids], store.edges)


class ExperimentGraph:
    """Experiments joined by dependency edges (data-flow direction: dependency -> user).

    Iterating, ``experiments`` and ``filter()`` give experiments in topological order
    (every dependency before the experiments that use it; ties oldest first).
    """

    def __init__(self, experiments: Iterable[Experiment], edges: Iterable[Edge]) -> None:
        given = {e.id: e for e in experiments}
        self._edges = [(d, u, s) for d, u, s in edges if d in given and u in given]
        order = _deps.Graph(
            nodes={i: e._rec for i, e in given.items()}, edges=self._edges
        ).topological_ids()
        self._by_id = {i: given[i] for i in order}

    # --- navigation -----------------------------------------------------------------------

    @property
    def experiments(self) -> list[Experiment]:
        return list(self._by_id.values())

    @property
    def edges(self) -> list[Edge]:
        """``(dependency id, dependent id, slot)`` of every dependency inside the graph."""
        return list(self._edges)

    @property
    def roots(self) -> list[Experiment]:
        """Experiments that depend on nothing in the graph."""
        users = {u for _d, u, _s in self._edges}
        return [e for i, e in self._by_id.items() if i not in users]

    @property
    def leaves(self) -> list[Experiment]:
        """Experiments nothing in the graph depends on."""
        used = {d for d, _u, _s in self._edges}
        return [e for i, e in self._by_id.items() if i not in used]

    @property
    def digraph(self) -> Any:
        """A networkx ``DiGraph``: nodes are ids (attribute ``experiment``), edges carry
        ``slot``. Needs networkx."""
        try:
            import networkx as nx  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ImportError(
                "ExperimentGraph.digraph needs networkx: pip install networkx"
            ) from exc
        out = nx.DiGraph()
        for exp_id, exp in self._by_id.items():
            out.add_node(exp_id, experiment=exp, name=exp.name, status=exp.status)
        for dep, user, slot in self._edges:
            out.add_edge(dep, user, slot=slot)
        return out

    def __getitem__(self, experiment_id: str) -> Experiment:
        """The experiment with this id (or unique id prefix) in the graph; KeyError if none."""
        if experiment_id in self._by_id:
            return self._by_id[experiment_id]
        hits = [i for i in self._by_id if experiment_id and i.startswith(experiment_id.lower())]
        if len(hits) == 1:
            return self._by_id[hits[0]]
        raise KeyError(experiment_id)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Experiment):
            return item.id in self._by_id
        return isinstance(item, str) and item in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Experiment]:
        return iter(list(self._by_id.values()))

    def __repr__(self) -> str:
        return (
            f"ExperimentGraph({len(self)} experiments, roots={[e.id for e in self.roots]}, "
            f"leaves={[e.id for e in self.leaves]})"
        )

    # --- filtering ------------------------------------------------------------------------

    def filter(self, **filters: Any) -> list[Experiment]:
        """The graph's experiments matching the filters of ``yanex.results.get_experiments``
        (status, tags, name, script_pattern, time ranges, ids, archived, limit)."""
        given = dict(filters)
        archived = given.pop("archived", None)
        flt = Filters.build(**given)
        out = [
            e
            for e in self._by_id.values()
            if flt.matches(e._rec) and (archived is None or e.archived == bool(archived))
        ]
        return out[: flt.limit] if flt.limit is not None else out

    # --- graph-wide reads -----------------------------------------------------------------

    def load_artifact(
        self,
        filename: str,
        loader: Callable[[Path], Any] | None = None,
        format: str | None = None,
    ) -> Any:
        """Load the artifact from the one experiment of the graph that has it; None when
        none has it. ``format`` ("json", "pkl", ...) picks the loader by name.

        Raises AmbiguousArtifactError when several experiments have it.
        """
        if loader is None and format is not None:
            loader = _loader_for(format)
        holders = [e for e in self._by_id.values() if e.artifact_exists(filename)]
        if len(holders) > 1:
            ids = [e.id for e in holders]
            raise AmbiguousArtifactError(
                f"artifact '{filename}' is in {len(ids)} experiments of the graph "
                f"({', '.join(ids)}); use graph.filter(...) or graph[id].load_artifact(...)",
                ids,
            )
        return holders[0].load_artifact(filename, loader) if holders else None

    def get_params(self) -> dict[str, Any]:
        """Every experiment's parameters merged into one nested dict.

        Raises ValueError when a parameter has different values in different experiments.
        """
        return _graph.merge_params({e.id: e.get_params() for e in self._by_id.values()})

    def get_param(self, key: str) -> Any:
        """A parameter's value, wherever it is set in the graph: ``"model.lr"``, or a
        unique suffix such as ``"lr"``, or ``"param:lr"``.

        Raises KeyNotFoundError (nowhere), AmbiguousKeyError (the key matches several
        paths) or ValueError (set to different values in different experiments).
        """
        flat = {e.id: _compare.flatten(e.get_params()) for e in self._by_id.values()}
        return _graph.one_value(key, "param", flat)

    def get_metric(self, name: str) -> Any:
        """A metric's last logged value, with the same strict rules as ``get_param``."""
        last = {e.id: _compare.flatten(_last(e)) for e in self._by_id.values()}
        return _graph.one_value(name, "metric", last)

    # --- DataFrames -----------------------------------------------------------------------

    def compare(
        self,
        params: str | Sequence[str] | None = None,
        metrics: str | Sequence[str] | None = None,
        only_different: bool = False,
        include_dep_params: bool = False,
        meta: str | Sequence[str] | None = None,
        **filters: Any,
    ) -> Any:
        """``yanex.results.compare`` of the graph's experiments matching ``filters``.

        ``params``/``metrics``: None or "all" (every one found), "auto" (those that differ),
        "none", or names. ``include_dep_params``: each row also gets the parameters of the
        experiments upstream of it (its own win, then the nearest). ``meta``: None (name,
        status, started_at, duration), "none", or some of those names.
        """
        from ._frames import comparison_frame, pandas

        pandas()
        chosen = self.filter(**filters)
        cmp = _compare.build([e._rec for e in chosen], params=[], metrics=None)
        skipped(cmp.problems)  # an experiment with an unreadable file is left out, warned
        by_id = {e.id: e for e in chosen}
        for row in cmp.rows:
            row.params = _compare.flatten(_params_of(by_id[row.record.id], include_dep_params))
        cmp.params = _choose(params, [r.params for r in cmp.rows], only_different)
        cmp.metrics = _choose(metrics, [r.metrics for r in cmp.rows], only_different)
        frame = comparison_frame(cmp)
        keep = _meta_columns(meta)
        drop = [c for c in frame.columns if c[0] == "meta" and c[1] not in keep]
        return frame.drop(columns=drop) if drop else frame

    def get_metrics(
        self,
        metrics: str | Sequence[str] | None = None,
        params: str | Sequence[str] = "auto",
        meta: Sequence[str] | None = None,
        include_dep_params: bool = False,
        **filters: Any,
    ) -> Any:
        """``yanex.results.get_metrics`` of the graph's experiments matching ``filters``, as
        a long DataFrame: experiment_id, step, metric_name, value, parameter columns
        (``params``: "auto", "all", "none" or names), then the ``meta`` columns asked for
        (name, status, script, project, ...)."""
        from ._frames import long_metrics_frame, pandas
        from ._long import _param_columns, metric_rows

        pandas()
        chosen = self.filter(**filters)
        wanted = {metrics} if isinstance(metrics, str) else set(metrics or ()) or None
        flat = {e.id: _compare.flatten(_params_of(e, include_dep_params)) for e in chosen}
        columns = _param_columns(flat, params)
        meta_names = list(meta or ())
        rows: list[dict[str, Any]] = []
        for exp in chosen:
            extra = {c: flat[exp.id].get(c) for c in columns}
            extra.update({m: _meta_value(exp, m) for m in meta_names})
            rows.extend(metric_rows(exp.id, exp.get_metrics(), wanted, extra))
        return long_metrics_frame(rows, [*columns, *meta_names])


# --- helpers ------------------------------------------------------------------------------


def _loader_for(format: str) -> Callable[[Path], Any]:
    fmt = _artifacts.FORMATS.get("." + format.lower().lstrip("."))
    if fmt is None:
        known = ", ".join(sorted(f.lstrip(".") for f in _artifacts.FORMATS))
        raise ValueError(f"unknown artifact format {format!r} (known: {known})")
    return fmt[1]


def _last(exp: Experiment) -> dict[str, Any]:
    return _compare.last_values(exp.get_metrics())


def _params_of(exp: Experiment, with_upstream: bool) -> dict[str, Any]:
    """The experiment's parameters; with ``with_upstream`` those of its dependencies too
    (its own win, then the nearest dependency's)."""
    own = exp.get_params()
    if not with_upstream:
        return own
    merged = _compare.flatten(own)
    for dep in reversed(exp.get_dependencies(transitive=True)):  # nearest first
        for path, value in _compare.flatten(dep.get_params()).items():
            merged.setdefault(path, value)
    return merged


def _choose(
    choice: str | Sequence[str] | None, rows: list[dict[str, Any]], only_different: bool
) -> list[str]:
    if choice is not None and not isinstance(choice, str):
        return list(choice)
    if choice == "none":
        return []
    names = list(dict.fromkeys(k for row in rows for k in row))
    if choice not in (None, "all", "auto"):
        return [str(choice)]
    if (choice == "auto" or only_different) and len(rows) > 1:
        return _compare.differing(names, rows)
    return names


def _meta_columns(meta: str | Sequence[str] | None) -> set[str]:
    if meta is None or meta in ("auto", "all"):
        return set(META_COLUMNS)
    if meta == "none":
        return set()
    names = {meta} if isinstance(meta, str) else set(meta)
    unknown = sorted(names - set(META_COLUMNS))
    if unknown:
        raise ValueError(f"unknown meta column {unknown[0]!r} (known: {', '.join(META_COLUMNS)})")
    return names


def _meta_value(exp: Experiment, name: str) -> Any:
    if name == "script":
        return exp.script_path.name if exp.script_path else None
    if name in ("id", "name", "status", "project", "description", "archived"):
        return getattr(exp, name)
    if name == "tags":
        return ",".join(exp.tags)
    return exp.metadata.get(name)


__all__ = ["ExperimentGraph", "get_graph"]
