"""Smoke tests of the foundation: a tracked experiment round-trips through the store."""

from __future__ import annotations

import json
from pathlib import Path

import yanex


def test_create_experiment_logs_metrics_and_completes(store_dir: Path) -> None:
    """A with-block experiment records params, merged metrics and a completed status."""
    with yanex.create_experiment(Path("train.py"), name="n", config={"lr": 0.1}) as exp:
        exp.log_metrics({"acc": 0.5})
        yanex.log_metrics({"loss": 1.0}, step=0)
        exp_id = yanex.get_experiment_id()
    assert exp_id is not None
    exp_dir = store_dir / exp_id
    meta = json.loads((exp_dir / "metadata.json").read_text())
    assert meta["status"] == "completed"
    assert json.loads((exp_dir / "config.json").read_text()) == {"lr": 0.1}
    metrics = json.loads((exp_dir / "metrics.json").read_text())
    assert metrics[0]["acc"] == 0.5 and metrics[0]["loss"] == 1.0
    assert "last_updated" in metrics[0]
