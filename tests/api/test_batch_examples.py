"""The run_multiple examples run as documented: k-fold sentinel pattern and grid search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.batch import experiment_ids, metadata
from tests.support.cli import REPO, run_cli

EXAMPLES = REPO / "examples" / "api"


def _python(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=dict(os.environ),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_kfold_example_runs_one_tracked_experiment_per_fold(
    store_dir: Path, work_dir: Path
) -> None:
    """Run directly, the k-fold script spawns five fold experiments that each log their
    fold and accuracy, and reports 5/5 completed."""
    proc = _python(EXAMPLES / "kfold_training.py", work_dir)
    assert proc.returncode == 0, proc.stderr
    assert "Completed 5/5 folds" in proc.stdout
    metas = [metadata(store_dir, i) for i in experiment_ids(store_dir)]
    assert sorted(m["name"] for m in metas) == [f"fold-{i}" for i in range(5)]
    for meta in metas:
        assert meta["status"] == "completed" and meta["tags"] == ["kfold"]
        metrics = json.loads((store_dir / meta["id"] / "metrics.json").read_text())
        assert metrics[0]["fold"] == int(meta["name"].split("-")[1])
        assert 0.5 < metrics[0]["accuracy"] <= 1.0


def test_batch_example_runs_grid_then_ensemble(store_dir: Path, work_dir: Path) -> None:
    """Run directly, the orchestrator runs a 2x2 grid, then a 3-seed ensemble of the best."""
    proc = _python(EXAMPLES / "batch_execution.py", work_dir)
    assert proc.returncode == 0, proc.stderr
    assert "Grid search: 4/4 completed" in proc.stdout
    assert "Ensemble: 3/3 completed" in proc.stdout
    metas = [metadata(store_dir, i) for i in experiment_ids(store_dir)]
    assert sorted(m["tags"][0] for m in metas) == ["ensemble"] * 3 + ["grid-search"] * 4
    assert {m["status"] for m in metas} == {"completed"}


def test_orchestrator_under_yanex_run_refuses_nested_experiments(
    store_dir: Path, work_dir: Path
) -> None:
    """Under `yanex run --parallel 2` the orchestrator's run_multiple raises
    ExperimentContextError: its run fails and no nested experiment is created."""
    proc = run_cli("run", str(EXAMPLES / "batch_execution.py"), "--parallel", "2", cwd=work_dir)
    assert proc.returncode != 0
    assert "ExperimentContextError" in proc.stderr
    (only,) = experiment_ids(store_dir)
    meta = metadata(store_dir, only)
    assert meta["status"] == "failed" and meta["cli_args"]["parallel"] == 2
