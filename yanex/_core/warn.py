"""Warnings yanex gives to code that uses it: pointed at the caller's line, not at yanex."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from yanex.errors import CorruptExperimentWarning

if TYPE_CHECKING:
    from .query import Problem

_PACKAGE = str(Path(__file__).resolve().parent.parent)


def user_stacklevel() -> int:
    """The ``stacklevel`` of the first calling frame outside the yanex package."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning]) -> None:
    warnings.warn(message, category, stacklevel=user_stacklevel())


def skipped(problems: Iterable[Problem]) -> None:
    """One warning per experiment that a store-wide read had to leave out."""
    for problem in problems:
        warn(f"skipped experiment {problem.id}: {problem.message}", CorruptExperimentWarning)
