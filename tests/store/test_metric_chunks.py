"""Reading a long metric in chunks (as the web UI's charts do) gives exactly the steps the
whole read gives, whether metrics.json is current or only the log holds the last steps."""

from __future__ import annotations

import math
import os
from pathlib import Path

import yanex
from yanex._store import layout, store


def _experiment(steps: int) -> Path:
    with yanex.create_experiment(Path("s.py"), name="long") as exp:
        for i in range(steps):
            yanex.log_metrics({"loss": 1 / (i + 1), "odd": i if i % 3 else math.nan})
        yanex.log_metrics({"extra": 1.0}, step=5)  # a merge into an earlier step
        exp_dir = Path(exp.experiment_dir)
    return exp_dir


def _same(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    return repr(a) == repr(b)  # NaN != NaN: compare their spelling


def test_chunks_of_a_finished_experiment_equal_the_whole_read(work_dir: Path) -> None:
    """Finished (metrics.json written after the log): chunks of 7 rejoin to the whole."""
    exp_dir = _experiment(50)
    whole = store.read_metrics(exp_dir)
    chunks = list(store.read_metric_chunks(exp_dir, size=7))
    assert len(whole) == 50
    assert [len(c) for c in chunks] == [7] * 7 + [1]
    assert _same([e for c in chunks for e in c], whole)


def test_chunks_when_the_log_is_newer_than_metrics_json(work_dir: Path) -> None:
    """metrics.json older than the log (a writer killed between its two writes): the
    chunks come from the log's replay, with every step."""
    exp_dir = _experiment(20)
    whole = store.read_metrics(exp_dir)
    log = exp_dir / layout.METRICS_LOG
    stat = (exp_dir / layout.METRICS).stat()
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    (exp_dir / layout.METRICS).write_text("[]")  # stale and short
    os.utime(exp_dir / layout.METRICS, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    chunks = list(store.read_metric_chunks(exp_dir, size=6))
    assert _same([e for c in chunks for e in c], whole)
