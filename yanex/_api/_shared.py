"""What the Run API modules share: the active experiment, and where a warning points."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from yanex._core.experiment import ActiveExperiment, current
from yanex.errors import ExperimentContextError

_PACKAGE = str(Path(__file__).parent.parent) + os.sep  # as code objects name their files


def user_stacklevel(below: int = 0) -> int:
    """The ``stacklevel`` for a ``warnings.warn`` made ``below`` calls beneath the caller of
    this function that names the user's line: the first frame outside the yanex package,
    whichever face, coroutine wrapper or ExperimentContext method the call came through."""
    level, frame = 2 + below, sys._getframe(2)
    while frame.f_code.co_filename.startswith(_PACKAGE) and frame.f_back is not None:
        level, frame = level + 1, frame.f_back
    return level


def require() -> ActiveExperiment:
    exp = current()
    if exp is None:
        raise ExperimentContextError("no active experiment: use yanex run or create_experiment")
    return exp
