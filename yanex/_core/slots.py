"""GPU slots: which device indices a sweep may use, and the free-slot pool that hands each
running experiment its own ``CUDA_VISIBLE_DEVICES``.

``parse`` reads ``--gpus 0,1,2,3`` (or ``auto``: ``CUDA_VISIBLE_DEVICES`` when set, else the
GPUs ``nvidia-smi -L`` lists) and refuses a duplicate or a non-integer slot with a
ConfigError (a ValueError). Nothing here touches a GPU: what a child sees is the variable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence

from yanex.errors import ConfigError

ENV = "CUDA_VISIBLE_DEVICES"


def parse(value: str | Sequence[int]) -> list[int]:
    """The slots of ``--gpus`` (text) or ``gpus=[...]`` (a list of ints), checked."""
    if isinstance(value, str):
        text = value.strip()
        if text == "auto":
            return _detected()
        slots = [_slot(part.strip(), text=True) for part in text.split(",")]
    elif isinstance(value, Sequence):
        slots = [_slot(item, text=False) for item in value]
    else:
        raise ConfigError(f"gpus must be a list of GPU indices, not {type(value).__name__}")
    if not slots:
        raise ConfigError("gpus: give at least one GPU index (e.g. --gpus 0,1)")
    seen: set[int] = set()
    for slot in slots:
        if slot in seen:
            raise ConfigError(f"gpus: slot {slot} is given twice")
        seen.add(slot)
    return slots


def _slot(item: object, *, text: bool) -> int:
    if isinstance(item, bool):
        raise ConfigError(f"gpus: {item!r} is not a GPU index")
    if isinstance(item, int):
        if item < 0:
            raise ConfigError(f"gpus: {item} is not a GPU index (negative)")
        return item
    if text and isinstance(item, str) and item.isdigit():
        return int(item)
    raise ConfigError(f"gpus: {item!r} is not a GPU index (a non-negative integer)")


def _detected() -> list[int]:
    visible = os.environ.get(ENV)
    if visible is not None and visible.strip():
        return parse(visible)
    smi = shutil.which("nvidia-smi")
    found: list[int] = []
    if smi is not None:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
        found = [int(m.group(1)) for m in re.finditer(r"^GPU (\d+):", listing.stdout, re.M)]
    if not found:
        raise ConfigError(f"--gpus auto: no GPUs found ({ENV} is unset and nvidia-smi lists none)")
    return found


def check_per_run(per_run: object, slots: Sequence[int]) -> int:
    """``--gpus-per-run``: a positive int no larger than the number of slots."""
    if isinstance(per_run, bool) or not isinstance(per_run, int) or per_run < 1:
        raise ConfigError(f"gpus per run must be a positive integer, not {per_run!r}")
    if per_run > len(slots):
        raise ConfigError(f"gpus per run is {per_run} but only {len(slots)} GPU slot(s) were given")
    return per_run


def workers(parallel: int | None, slots: Sequence[int], per_run: int) -> int:
    """How many experiments may run at once with these slots: ``-j`` (default: every slot
    used); a ``-j`` the slots cannot serve raises ConfigError."""
    most = len(slots) // per_run
    if parallel is None or parallel == 0:
        return most
    if parallel > most:
        raise ConfigError(
            f"-j {parallel} is more than the GPU slots allow: {len(slots)} slot(s), "
            f"{per_run} per run, so at most {most} at a time"
        )
    return parallel


class Slots:
    """The free-slot pool of one sweep: ``take`` gives ``per_run`` slots no running
    experiment holds, ``give`` returns them. The pool never runs more experiments than
    the slots serve (``workers``), so ``take`` always finds enough."""

    def __init__(self, slots: Sequence[int], per_run: int = 1) -> None:
        self.all = list(slots)
        self.per_run = per_run
        self._free = list(slots)

    def take(self) -> tuple[int, ...]:
        if len(self._free) < self.per_run:
            raise RuntimeError("more experiments running than GPU slots: a bug in the pool")
        held, self._free = self._free[: self.per_run], self._free[self.per_run :]
        return tuple(held)

    def give(self, held: Sequence[int]) -> None:
        self._free.extend(held)
        self._free.sort(key=self.all.index)


def env_value(held: Sequence[int]) -> str:
    return ",".join(str(slot) for slot in held)
