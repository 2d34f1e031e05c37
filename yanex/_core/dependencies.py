"""Dependencies between experiments: which experiment feeds which, in which slot, in what order.

An experiment's dependencies are read from ``dependencies.json`` (``{"dependencies": {slot:
id}}``, written by the published yanex 0.6) when it exists, else from ``depends_on`` in its
metadata, whose entries are ``"slot=id"`` or a bare ``"id"`` (slots ``dep1``, ``dep2``, ...).
Ids may be unique prefixes (``yanex run -D`` records full ids; see ``depspec``). A
dependency that no longer exists is left out of the lists, with a log record, as the
published yanex does; lineage graphs show it as missing.

``find_artifact`` is the search behind ``yanex.load_artifact(name)``: the experiment itself,
then its dependencies, then theirs, breadth first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yanex._store import fs, layout, store
from yanex._store.clock import now_iso
from yanex._store.schema import encode_pretty, json_decoder
from yanex.errors import AmbiguousArtifactError, YanexError

from . import query

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

DEPENDENCIES_FILE = "dependencies.json"


def parse_entries(entries: Iterable[str] | None) -> dict[str, str]:
    """slot -> id for ``depends_on`` entries (``"slot=id"`` or ``"id"``)."""
    out: dict[str, str] = {}
    for n, entry in enumerate(entries or (), start=1):
        slot, sep, ref = str(entry).partition("=")
        if not sep:
            slot, ref = f"dep{n}", slot
        slot, ref = slot.strip(), ref.strip()
        for one in ref.split(","):
            if one.strip():
                out[slot if slot not in out else f"{slot}{n}"] = one.strip()
    return out


def write_file(exp_dir: Path, entries: Iterable[str]) -> None:
    """``dependencies.json`` as the published yanex writes it (it reads only this file)."""
    slots = parse_entries(entries)
    if slots:
        data = {"dependencies": slots, "created_at": now_iso(), "metadata": {}}
        fs.atomic_write(exp_dir / DEPENDENCIES_FILE, encode_pretty(data), fsync=False)


def slots_of(exp_dir: Path, depends_on: Iterable[str] | None = None) -> dict[str, str]:
    """slot -> id of the experiment in ``exp_dir``."""
    raw = fs.read_bytes(exp_dir / DEPENDENCIES_FILE)
    if raw is not None:
        try:
            data = json_decoder.decode(raw)
        except ValueError:
            data = None
        deps = data.get("dependencies") if isinstance(data, dict) else None
        if isinstance(deps, dict):
            return {str(k): str(v) for k, v in deps.items()}
    if depends_on is None:
        try:
            depends_on = store.read_metadata(exp_dir).depends_on
        except YanexError:
            return {}
    return parse_entries(depends_on)


def _lookup(ref: str) -> query.Record | None:
    try:
        return query.resolve(ref, archived=None)
    except YanexError as exc:
        log.warning("dependency %s is not available: %s", ref, exc)
        return None


def _deps_of(
    exp_dir: Path, depends_on: Iterable[str] | None = None
) -> list[tuple[str, query.Record]]:
    """(slot, record) of each dependency of the experiment in ``exp_dir`` that still exists."""
    out = []
    for slot, ref in slots_of(exp_dir, depends_on).items():
        dep = _lookup(ref)
        if dep is not None:
            out.append((slot, dep))
    return out


def ordered(refs: Iterable[str], *, transitive: bool) -> list[query.Record]:
    """The records ``refs`` name (and with ``transitive`` their dependencies, recursively),
    each once, every dependency before the experiments that depend on it."""
    direct = [r for r in (_lookup(ref) for ref in parse_entries(refs).values()) if r]
    wanted = {r.id for r in direct}
    done: dict[str, query.Record] = {}
    visiting: set[str] = set()

    def visit(rec: query.Record) -> None:
        if rec.id in done or rec.id in visiting:
            return  # already placed, or a cycle (which a valid store never has)
        visiting.add(rec.id)
        for _slot, dep in _deps_of(rec.dir, rec.summary.depends_on):
            visit(dep)
        visiting.discard(rec.id)
        done[rec.id] = rec

    for rec in direct:
        visit(rec)
    return [r for r in done.values() if transitive or r.id in wanted]


def direct(
    exp_dir: Path, depends_on: Iterable[str] | None = None
) -> tuple[dict[str, query.Record], list[query.Record]]:
    """The direct dependencies of the experiment in ``exp_dir`` that are still stored: slot ->
    record, and the same records in topological order (``yanex.results`` wraps them)."""
    by_slot = {
        slot: rec for slot, ref in slots_of(exp_dir, depends_on).items() if (rec := _lookup(ref))
    }
    entries = [f"{slot}={rec.id}" for slot, rec in by_slot.items()]
    return by_slot, ordered(entries, transitive=False)


# --- the artifact search of load_artifact ---------------------------------------------------


def _levels(exp_dir: Path) -> Iterator[list[query.Record]]:
    """The experiment's dependencies, then theirs, ...: one list per level, each once."""
    seen: set[str] = {exp_dir.name}
    level = [dep for _slot, dep in _deps_of(exp_dir)]
    while level:
        fresh = [r for r in {r.id: r for r in level}.values() if r.id not in seen]
        if not fresh:
            return
        seen.update(r.id for r in fresh)
        yield fresh
        level = [dep for rec in fresh for _slot, dep in _deps_of(rec.dir, rec.summary.depends_on)]


def find_artifact(exp_dir: Path, filename: str) -> Path | None:
    """The artifacts directory holding ``filename``: the experiment's own, else the nearest
    dependency level's. None when no experiment of the chain has it.

    Raises AmbiguousArtifactError when several experiments of the nearest level have it.
    """
    from . import artifacts

    own = exp_dir / layout.ARTIFACTS
    if artifacts.exists(own, filename):
        return own
    for level in _levels(exp_dir):
        holders = [r for r in level if artifacts.exists(r.dir / layout.ARTIFACTS, filename)]
        if len(holders) > 1:
            ids = [r.id for r in holders]
            raise AmbiguousArtifactError(
                f"artifact '{filename}' is in several dependencies ({', '.join(ids)}); load it "
                "with from_experiment=ID or yanex.get_dependency(slot).load_artifact(...)",
                ids,
            )
        if holders:
            return holders[0].dir / layout.ARTIFACTS
    return None


def dependents(ids: Iterable[str]) -> dict[str, list[tuple[str, query.Record]]]:
    """For each of ``ids``: (slot, record) of every other experiment that depends on it."""
    wanted = set(ids)
    out: dict[str, list[tuple[str, query.Record]]] = {}
    for dep_id, users in _all_dependents().items():
        others = [(slot, rec) for slot, rec in users if rec.id not in wanted]
        if dep_id in wanted and others:
            out[dep_id] = others
    return out


def _all_dependents() -> dict[str, list[tuple[str, query.Record]]]:
    """Dependency id -> (slot, record) of each stored experiment that depends on it (one pass
    over the store; each reference matched as ``query.resolve`` would)."""
    everyone = [r for r in query.scan(archived=None) if isinstance(r, query.Record)]
    by_id = {r.id: r for r in everyone}
    out: dict[str, list[tuple[str, query.Record]]] = {}
    for rec in everyone:
        for slot, ref in slots_of(rec.dir, rec.summary.depends_on).items():
            dep = query.find_in(ref, by_id)
            if dep is not None:
                out.setdefault(dep.id, []).append((slot, rec))
    return out


# --- the dependency graph, for lineage ----------------------------------------------------


@dataclass
class Graph:
    """Experiments and ``(dependency, dependent, slot)`` edges among them. A dependency that
    is no longer in the store is a node of ``missing`` (its recorded id), not of ``nodes``."""

    nodes: dict[str, query.Record] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)

    def add_missing(self, ref: str, dependent: query.Record, slot: str) -> None:
        self.missing.add(ref)
        self.nodes.setdefault(dependent.id, dependent)
        self._link((ref, dependent.id, slot))

    def add_edge(self, dep: query.Record, dependent: query.Record, slot: str) -> None:
        self.nodes.setdefault(dep.id, dep)
        self.nodes.setdefault(dependent.id, dependent)
        self._link((dep.id, dependent.id, slot))

    def merge(self, other: Graph) -> None:
        """Add ``other``'s nodes, missing dependencies and edges (each edge once)."""
        self.nodes.update(other.nodes)
        self.missing.update(other.missing)
        for edge in other.edges:
            self._link(edge)

    def _link(self, edge: tuple[str, str, str]) -> None:
        if edge not in self.edges:
            self.edges.append(edge)

    def topological_ids(self) -> list[str]:
        """Node ids, every dependency before its dependents (ties: oldest first)."""
        parents: dict[str, set[str]] = {n: set() for n in [*self.nodes, *self.missing]}
        for dep, dependent, _slot in self.edges:
            parents[dependent].add(dep)
        out: list[str] = []
        ready = sorted((n for n, p in parents.items() if not p), key=self._age)
        while ready:
            node = ready.pop(0)
            out.append(node)
            for dep, dependent, _slot in self.edges:
                if dep == node and dependent not in out:
                    parents[dependent].discard(node)
                    if not parents[dependent] and dependent not in ready:
                        ready.append(dependent)
            ready.sort(key=self._age)
        return out + [n for n in parents if n not in out]  # leftovers only if cyclic

    def _age(self, node: str) -> tuple[str, str]:
        rec = self.nodes.get(node)
        return (rec.created if rec is not None else "", node)


def _walk(
    targets: list[query.Record],
    depth: int,
    step: Callable[[Graph, query.Record], Iterator[query.Record]],
) -> Graph:
    """The graph around ``targets`` up to ``depth`` levels away, breadth first: ``step``
    adds one record's edges to the graph and yields the records they reach."""
    graph = Graph(nodes={t.id: t for t in targets})
    frontier, seen = list(targets), {t.id for t in targets}
    for _level in range(depth):
        nxt = []
        for rec in frontier:
            for other in step(graph, rec):
                if other.id not in seen:
                    seen.add(other.id)
                    nxt.append(other)
        frontier = nxt
    return graph


def upstream(targets: list[query.Record], depth: int) -> Graph:
    def its_dependencies(graph: Graph, rec: query.Record) -> Iterator[query.Record]:
        for slot, ref in slots_of(rec.dir, rec.summary.depends_on).items():
            dep = _lookup(ref)
            if dep is None:
                graph.add_missing(ref, rec, slot)
                continue
            graph.add_edge(dep, rec, slot)
            yield dep

    return _walk(targets, depth, its_dependencies)


def downstream(targets: list[query.Record], depth: int) -> Graph:
    everyone = _all_dependents()

    def its_dependents(graph: Graph, rec: query.Record) -> Iterator[query.Record]:
        for slot, child in everyone.get(rec.id, []):
            graph.add_edge(rec, child, slot)
            yield child

    return _walk(targets, depth, its_dependents)


def slots_text(slots: dict[str, str]) -> str:
    """``data=abc12345 model=def67890 (missing)``: a dependency no longer stored says so."""
    parts = []
    for slot, ref in slots.items():
        try:
            query.resolve(ref, archived=None)
            parts.append(f"{slot}={ref}")
        except YanexError:
            parts.append(f"{slot}={ref} (missing)")
    return " ".join(parts)


def lineage(targets: list[query.Record], depth: int) -> Graph:
    graph = upstream(targets, depth)
    graph.merge(downstream(targets, depth))
    return graph
