"""``yanex run -D``: the dependency options, resolved against the store before anything runs.

Each ``-D`` value is ``REFS`` or ``SLOT=REFS``, REFS being comma-separated experiment
references (a full id, a unique id prefix or an exact name; never a path).

- ``-D a`` and ``-D a,b``: one dependency per reference, in automatic slots ``dep1``,
  ``dep2``, ... (the spec's ``-D model1,model2,model3`` is one experiment with three).
- ``-D data=a``: one dependency in slot ``data``.
- ``-D data=a,b``: a sweep over slot ``data``, one experiment per reference; several such
  sweeps (and parameter sweeps) combine as a cartesian product.

Every reference is resolved now and recorded as the full id, so renaming the upstream
experiment later keeps the link. A reference that matches nothing or several experiments,
or an experiment that failed or was cancelled, is refused (``ConfigError``: nothing is
created). A staged dependency is accepted only when staging (``--stage``): it has not run
yet. A running (or just created) dependency is accepted with a warning in ``notes``: its
artifacts may not all be written yet.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from yanex._models import Status
from yanex._store import layout
from yanex.errors import ConfigError, InvalidReferenceError

from . import query

SLOT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
AUTO_SLOT = "dep"


@dataclass
class Slot:
    """One dependency slot and the experiment(s) it takes (several: a sweep)."""

    name: str
    ids: list[str]


@dataclass
class DependencyPlan:
    """The resolved ``-D`` options of one ``yanex run``."""

    slots: list[Slot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings for the user

    @property
    def count(self) -> int:
        """How many experiments the dependency sweeps make (1 without any)."""
        return math.prod(len(s.ids) for s in self.slots)

    @property
    def swept(self) -> bool:
        return any(len(s.ids) > 1 for s in self.slots)

    def points(self) -> Iterator[tuple[list[str], list[tuple[str, str]]]]:
        """Per planned experiment: its ``depends_on`` entries (``slot=id``) and the swept
        (slot, id) pairs, for its name."""
        for combo in itertools.product(*(s.ids for s in self.slots)):
            pairs = list(zip(self.slots, combo, strict=True))
            entries = [f"{s.name}={exp_id}" for s, exp_id in pairs]
            yield entries, [(s.name, exp_id) for s, exp_id in pairs if len(s.ids) > 1]


def point_label(swept: list[tuple[str, str]]) -> str:
    """The name part of one dependency-sweep point: ``data-<id>-model-<id>``."""
    return "-".join(f"{slot}-{exp_id}" for slot, exp_id in swept)


def check_reference(ref: str, option: str = "-D") -> None:
    """Refuse anything but an id, an id prefix or a name (paths above all): the store's rule
    (``layout.check_id_ref``), as a usage error naming the option."""
    try:
        layout.check_id_ref(ref)
    except InvalidReferenceError as exc:
        raise ConfigError(f"{option} {exc}") from None


def parse(values: Sequence[str]) -> list[tuple[str | None, list[str]]]:
    """(slot or None, references) of each ``-D`` value, syntax checked."""
    out: list[tuple[str | None, list[str]]] = []
    for value in values:
        slot: str | None = None
        head, sep, tail = value.partition("=")
        refs_text = value
        if sep:
            slot, refs_text = head.strip(), tail
            if not SLOT_RE.match(slot):
                raise ConfigError(
                    f"-D {value!r}: slot name {slot!r} must start with a letter or _ and hold "
                    "only letters, digits, _ . -"
                )
        refs = [r.strip() for r in refs_text.split(",") if r.strip()]
        if not refs:
            raise ConfigError(f"-D {value!r}: no experiment given")
        for ref in refs:
            check_reference(ref)
        out.append((slot, refs))
    return out


def _slots(parsed: list[tuple[str | None, list[str]]]) -> list[tuple[str, list[str]]]:
    """Slot names for every reference: named slots as given, the rest dep1, dep2, ..."""
    named = [slot for slot, _refs in parsed if slot is not None]
    for name in named:
        if named.count(name) > 1:
            raise ConfigError(f"-D: slot '{name}' is given twice (one -D per slot)")
    taken, out, n = set(named), [], 0
    for slot, refs in parsed:
        if slot is not None:
            out.append((slot, refs))
            continue
        for ref in refs:
            n += 1
            while f"{AUTO_SLOT}{n}" in taken:
                n += 1
            out.append((f"{AUTO_SLOT}{n}", [ref]))
    return out


def _check_status(ref: str, rec: query.Record, staging: bool, notes: list[str]) -> None:
    who = f"{rec.id} ({rec.name})" if rec.name else rec.id
    status = rec.status
    if status in (Status.FAILED, Status.CANCELLED):
        raise ConfigError(f"-D {ref}: experiment {who} {status}; a dependency must have completed")
    if status == Status.STAGED and not staging:
        raise ConfigError(
            f"-D {ref}: experiment {who} is staged and has not run yet; run it first, or "
            "stage this experiment too (--stage)"
        )
    if status in (Status.RUNNING, Status.CREATED):
        notes.append(
            f"dependency {who} is still {status}: its artifacts may not all be written yet"
        )
    elif status not in (Status.COMPLETED, Status.STAGED):
        raise ConfigError(f"-D {ref}: experiment {who} is {status}; it cannot be a dependency")


def plan(values: Sequence[str], *, staging: bool = False) -> DependencyPlan:
    """Parse and resolve the ``-D`` values; raises ConfigError on any bad one."""
    out = DependencyPlan()
    for slot, refs in _slots(parse(values)):
        ids: list[str] = []
        for ref in refs:
            rec = query.resolve_option("-D", ref)
            _check_status(ref, rec, staging, out.notes)
            ids.append(rec.id)
        out.slots.append(Slot(slot, list(dict.fromkeys(ids))))
    return out
