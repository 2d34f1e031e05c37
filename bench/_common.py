"""Helpers shared by the benchmarks: the published yanex in its own virtualenv, timing,
peak RSS of child processes, and writing results."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
PUBLISHED_VENV = Path(os.environ.get("YANEX_PUBLISHED_VENV", BENCH / ".venv-yanex061"))
PUBLISHED_VERSION = "0.6.1"


def published_bin() -> Path:
    """bin/ of a virtualenv holding the published yanex 0.6.1 (created on first use)."""
    py = PUBLISHED_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PUBLISHED_VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", f"yanex=={PUBLISHED_VERSION}"], check=True
        )
    return PUBLISHED_VENV / "bin"


def ours_bin() -> Path:
    return Path(sys.executable).parent


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_timed(
    cmd: list[str], **kwargs: object
) -> tuple[float, int, subprocess.CompletedProcess[bytes]]:
    """(wall seconds, peak RSS of the children in KiB, result) of running ``cmd``.

    The RSS figure is ru_maxrss of RUSAGE_CHILDREN, the largest of any waited-for
    descendant so far: run memory measurements in a fresh process (see each bench).
    """
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, rss, res


def save(topic: str, data: dict[str, object]) -> None:
    RESULTS.mkdir(exist_ok=True)
    data = {"machine": machine(), **data}
    (RESULTS / f"{topic}.json").write_text(json.dumps(data, indent=2))
    print(json.dumps(data, indent=2))
