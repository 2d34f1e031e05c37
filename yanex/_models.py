"""Public value types: Status, ExperimentSpec, ExperimentResult (and get_param's NO_DEFAULT)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yanex.errors import SpecError


class Status(enum.StrEnum):
    """The statuses an experiment moves through (see ``_core/lifecycle.py``)."""

    CREATED = "created"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STAGED = "staged"
    PENDING = "pending"  # queued on a cluster (Slurm), not started yet


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


class _NoDefault:
    """The default of ``get_param`` when the caller gives none (``default=None`` is a value)."""

    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()


@dataclass
class ExperimentSpec:
    """One experiment for ``run_multiple``: a script, its parameters and its labels."""

    script_path: Path | str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    script_args: list[str] = field(default_factory=list)
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    function: Callable[..., Any] | None = None

    def validate(self) -> None:
        """Raise SpecError (a ValueError) unless this spec names an existing ``.py`` script."""
        if self.function is not None:
            raise SpecError("ExperimentSpec.function is not supported yet: give a script_path")
        if self.script_path is None:
            raise SpecError("ExperimentSpec needs a script_path")
        path = Path(self.script_path)
        if path.suffix != ".py":
            raise SpecError(f"script_path must be a Python file (.py): {path}")
        if not path.is_file():
            raise SpecError(f"script not found: {path}")
        if not isinstance(self.config, dict):
            raise SpecError("ExperimentSpec.config must be a dict")


@dataclass
class ExperimentResult:
    """What became of one experiment of ``run_multiple``."""

    experiment_id: str
    status: str
    error_message: str | None = None
    duration: float | None = None
    name: str | None = None
    sweep_id: str | None = None  # the sweep (``run_multiple`` call) that ran it
