"""The Run API of dependencies: what the current experiment depends on, and its graph."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from yanex import _portal
from yanex._core.experiment import current

from .experiment import fail

if TYPE_CHECKING:
    from yanex._records import Record
    from yanex.results import Experiment
    from yanex.results.graph import ExperimentGraph

# --- dependencies -------------------------------------------------------------------------


@_portal.in_worker_thread
def get_dependencies(transitive: bool = False) -> list[Experiment]:
    """Experiments the current one depends on (``yanex run -D``), every dependency before
    the experiments that depend on it; [] standalone.

    The direct dependencies come as a list that also answers by slot: ``deps["data"]``,
    ``"data" in deps``, ``deps.items()``. With ``transitive`` true it is a plain list of
    every experiment upstream (transitive dependencies have no slot of this experiment).
    """
    from yanex._core import dependencies
    from yanex.results import _dependencies

    exp = current()
    if exp is None:
        return _dependencies.DependencyList()
    if transitive:
        entries = [f"{k}={v}" for k, v in dependencies.slots_of(exp.dir).items()]
        return _dependencies.ordered(entries, transitive=True)
    return _dependencies.direct(exp.dir)


@_portal.in_worker_thread
def get_dependency(slot: str) -> Experiment | None:
    """The experiment in dependency slot ``slot`` (``-D slot=ID``; ``dep1``... without a
    name); None standalone or when there is no such slot."""
    from yanex.results import _dependencies

    exp = current()
    return _dependencies.direct(exp.dir).get(slot) if exp is not None else None


@_portal.in_worker_thread
def assert_dependency(script_name: str, slot: str | None = None) -> None:
    """Fail the experiment unless a dependency (the one in ``slot``, if given) ran
    ``script_name``. No-op standalone."""
    from yanex._core import dependencies

    exp = current()
    if exp is None:
        return
    by_slot, in_order = dependencies.direct(exp.dir)
    if slot is not None and slot not in by_slot:
        held = [f"{_script_name(d)} (slot {k})" for k, d in by_slot.items()]
        _dependency_failure(f"No dependency in slot '{slot}'", ", ".join(held) or "none")
    candidates = [by_slot[slot]] if slot is not None else in_order
    scripts = [_script_name(d) for d in candidates]
    if script_name in scripts:
        return
    where = f" in slot '{slot}'" if slot is not None else ""
    found = ", ".join(s for s in scripts if s) or "none"
    _dependency_failure(f"No dependency from '{script_name}' found{where}", found)


def _script_name(rec: Record) -> str:
    return Path(rec.summary.script_path or "").name


def _dependency_failure(headline: str, found: str) -> NoReturn:
    # the documented user-facing message, then the experiment fails with it
    print(f"Error: {headline}\nCurrent dependencies are from: {found}", file=sys.stderr)
    fail(f"{headline} (dependencies are from: {found})")
    raise AssertionError("fail() leaves by raising")  # pragma: no cover


@_portal.in_worker_thread
def get_graph() -> ExperimentGraph:
    """The dependency graph of the current experiment: what it depends on and what depends
    on it (``yanex.results.ExperimentGraph``); an empty graph standalone."""
    from yanex.results.graph import ExperimentGraph, get_graph

    exp = current()
    return get_graph(exp.id) if exp is not None else ExperimentGraph([], [])
