"""Pipelines as graphs: the store's dependency edges, the part of them around one experiment,
and the strict graph-wide lookups of parameters and metrics (plain Python, no networkx).

Edges run in the direction data flows: from a dependency to the experiment that uses it.
The causal selection around an experiment is everything upstream of it (what it depends
on, recursively), everything downstream (what depends on it, recursively) and itself; the
weakly connected one adds siblings (anything reachable ignoring the direction of edges).
Dependencies no longer stored are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from yanex.errors import AmbiguousKeyError, KeyNotFoundError

from . import query
from .compare import flatten
from .dependencies import slots_of

GROUPS = ("param", "metric")


@dataclass
class StoreEdges:
    """Every experiment of the store and the dependency edges among them."""

    records: dict[str, query.Record] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (dependency, user, slot)
    upward: dict[str, set[str]] = field(default_factory=dict)  # id -> its dependencies
    downward: dict[str, set[str]] = field(default_factory=dict)  # id -> its dependents


def _full_id(ref: str, records: dict[str, query.Record]) -> str | None:
    if ref in records:
        return ref
    hits = [i for i in records if i.startswith(ref.lower())] if ref else []
    return hits[0] if len(hits) == 1 else None


def load() -> StoreEdges:
    """The whole store's dependency edges (active and archived experiments)."""
    out = StoreEdges()
    out.records = {r.id: r for r in query.scan(archived=None) if isinstance(r, query.Record)}
    for rec in out.records.values():
        for slot, ref in slots_of(rec.dir, rec.summary.depends_on).items():
            dep = _full_id(ref, out.records)
            if dep is None or dep == rec.id:
                continue
            out.edges.append((dep, rec.id, slot))
            out.upward.setdefault(rec.id, set()).add(dep)
            out.downward.setdefault(dep, set()).add(rec.id)
    return out


def _reach(start: str, links: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in links.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def select(edges: StoreEdges, start: str, *, weakly_connected: bool = False) -> set[str]:
    """Ids of the experiments in the graph around ``start``."""
    if not weakly_connected:
        return _reach(start, edges.upward) | _reach(start, edges.downward)
    both: dict[str, set[str]] = {}
    for dep, user, _slot in edges.edges:
        both.setdefault(dep, set()).add(user)
        both.setdefault(user, set()).add(dep)
    return _reach(start, both)


# --- strict lookups across a graph --------------------------------------------------------


def _split_group(key: str) -> tuple[str | None, str]:
    for group in GROUPS:
        if key.startswith(f"{group}:"):
            return group, key[len(group) + 1 :]
    return None, key


def resolve_path(key: str, paths: Iterable[str], group: str) -> str:
    """The one path ``key`` names: itself, or the only path ending in ``.key``.

    ``key`` may carry its group (``param:model.lr``). Raises KeyNotFoundError or
    AmbiguousKeyError.
    """
    given, path = _split_group(key)
    if given is not None and given != group:
        raise KeyNotFoundError(f"{key!r} is not a {group} key")
    known = set(paths)
    if path in known:
        return path
    matches = sorted(p for p in known if p.endswith(f".{path}"))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousKeyError(
            f"{group} key '{key}' matches {len(matches)} paths: {', '.join(matches)}; "
            "give more of the path",
            matches,
        )
    raise KeyNotFoundError(f"{group} '{key}' not found in any experiment of the graph")


def one_value(key: str, group: str, values: dict[str, dict[str, Any]]) -> Any:
    """The value of ``key`` across experiments (id -> flat values): the same everywhere it
    is set, or ValueError naming the experiments that disagree."""
    path = resolve_path(key, (p for flat in values.values() for p in flat), group)
    found = {exp_id: flat[path] for exp_id, flat in values.items() if path in flat}
    distinct = {_key(v) for v in found.values()}
    if len(distinct) > 1:
        listing = ", ".join(f"{exp_id}={v!r}" for exp_id, v in found.items())
        label = {"param": "Parameter", "metric": "Metric"}[group]
        raise ValueError(f"{label} '{path}' has conflicting values: {listing}")
    return next(iter(found.values()))


def merge_params(params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One nested dict of every experiment's parameters (id -> nested params).

    Raises ValueError when a key has different values in different experiments (or is a
    group of keys in one and a value in another).
    """
    flat: dict[str, tuple[str, Any]] = {}
    for exp_id, nested in params.items():
        for path, value in flatten(nested).items():
            if path in flat and _key(flat[path][1]) != _key(value):
                other, was = flat[path]
                raise ValueError(
                    f"Parameter '{path}' has conflicting values: {other}={was!r}, "
                    f"{exp_id}={value!r}"
                )
            flat.setdefault(path, (exp_id, value))
    _check_prefixes(flat)
    out: dict[str, Any] = {}
    for path, (_exp_id, value) in sorted(flat.items()):
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _check_prefixes(flat: dict[str, tuple[str, Any]]) -> None:
    for path, (exp_id, value) in flat.items():
        parts = path.split(".")
        for i in range(1, len(parts)):
            head = ".".join(parts[:i])
            if head in flat:
                other, was = flat[head]
                raise ValueError(
                    f"Parameter '{head}' has conflicting values: {other}={was!r}, "
                    f"{exp_id}={{'{'.'.join(parts[i:])}': {value!r}, ...}}"
                )


def _key(value: Any) -> str:
    return repr(value)
