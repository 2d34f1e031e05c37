"""Dependencies as ``Experiment`` objects: the core's dependency records, wrapped for users."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, SupportsIndex, overload

from yanex._core import dependencies as _deps

from .experiment import Experiment


class DependencyList(list[Experiment]):
    """The direct dependencies: a list in topological order that also answers by slot.

    ``deps[0]``, ``len(deps)`` and iteration are those of the list (of Experiment objects);
    ``deps["data"]``, ``"data" in deps``, ``deps.get("data")``, ``keys()``, ``values()``
    and ``items()`` are those of the dict slot -> Experiment that the dependencies guide
    shows. Iterating gives experiments, not slot names (unlike a dict).
    """

    def __init__(
        self, items: Iterable[Experiment] = (), slots: dict[str, Experiment] | None = None
    ):
        super().__init__(items)
        self._slots: dict[str, Experiment] = dict(slots or {})

    @overload
    def __getitem__(self, key: SupportsIndex) -> Experiment: ...
    @overload
    def __getitem__(self, key: slice) -> list[Experiment]: ...
    @overload
    def __getitem__(self, key: str) -> Experiment: ...
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self._slots[key]
            except KeyError:
                raise KeyError(f"no dependency in slot {key!r} (slots: {self._names()})") from None
        return super().__getitem__(key)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._slots
        return super().__contains__(item)

    def _names(self) -> str:
        return ", ".join(self._slots) or "none"

    def get(self, slot: str, default: Experiment | None = None) -> Experiment | None:
        return self._slots.get(slot, default)

    def keys(self) -> list[str]:
        return list(self._slots)

    def values(self) -> list[Experiment]:
        return list(self._slots.values())

    def items(self) -> list[tuple[str, Experiment]]:
        return list(self._slots.items())

    def __repr__(self) -> str:
        return f"DependencyList({self._slots!r})"


def direct(exp_dir: Path, depends_on: Iterable[str] | None = None) -> DependencyList:
    """The direct dependencies of the experiment in ``exp_dir`` (those still stored)."""
    records, order = _deps.direct(exp_dir, depends_on)
    by_slot = {slot: Experiment._from_record(rec) for slot, rec in records.items()}
    same = {exp.id: exp for exp in by_slot.values()}
    return DependencyList([same[rec.id] for rec in order], by_slot)


def ordered(entries: Iterable[str], *, transitive: bool) -> list[Experiment]:
    """The experiments the dependency ``entries`` name (with ``transitive``, and theirs),
    every dependency before the experiments that depend on it."""
    return [Experiment._from_record(rec) for rec in _deps.ordered(entries, transitive=transitive)]
