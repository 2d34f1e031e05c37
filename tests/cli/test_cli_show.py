"""``yanex show``: selection by id, prefix, name and --latest; sections; formats; errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yanex
from tests.support.cli import run_cli
from tests.support.query import (
    assert_error,
    copy_061_store,
    make,
    store_root,
    write_output,
)


def _rich_experiment() -> str:
    with yanex.create_experiment(
        Path("train.py"), name="full", config={"lr": 0.1, "model": {"layers": 3}}, tags=["t1"]
    ):
        for step in range(12):
            yanex.log_metrics({"loss": 1 / (step + 1), "acc": step / 20})
        yanex.save_artifact({"ok": True}, "result.json")
        exp_id = yanex.get_experiment_id()
    assert exp_id is not None
    write_output(exp_id, "stdout", "".join(f"line {i}\n" for i in range(30)))
    return exp_id


def test_show_sections() -> None:
    """show prints metadata, parameters, the last metrics, artifacts, environment, output."""
    exp = _rich_experiment()
    res = run_cli("show", exp)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.startswith(f"Experiment {exp}")
    for text in ("Name:", "full", "Status:", "completed", "Tags:", "t1", "Parameters"):
        assert text in out
    assert "model.layers: 3" in out.replace("  ", " ") or "model.layers:" in out
    assert "Metrics (last 10 of 12 steps)" in out
    assert "result.json" in out and "Environment" in out and "Python:" in out
    assert "Last lines of stdout" in out and "line 29" in out and "line 19" not in out


def test_show_by_prefix_name_and_latest() -> None:
    """show finds an experiment by unique prefix, exact name, or --latest with filters."""
    a = make("alpha", tags=["x"])
    b = make("beta")
    assert run_cli("show", a[:5]).stdout.startswith(f"Experiment {a}")
    assert run_cli("show", "beta").stdout.startswith(f"Experiment {b}")
    assert run_cli("show", "--latest").stdout.startswith(f"Experiment {b}")
    assert run_cli("show", "--latest", "-t", "x").stdout.startswith(f"Experiment {a}")


def test_show_unknown_and_ambiguous() -> None:
    """Unknown: one Error line, exit 1. Ambiguous name: Error line, candidates, exit 1."""
    a = make("same")
    b = make("same")
    assert_error(run_cli("show", "zzz-none"), 1, "zzz-none")
    res = run_cli("show", "same")
    assert_error(res, 1, "matches 2 experiments")
    assert a in res.stderr and b in res.stderr
    assert_error(run_cli("show"), 2)
    assert_error(run_cli("show", a, "-F", "html"), 2, "unknown format")


def test_show_ambiguous_prefix_lists_candidates() -> None:
    """An id prefix shared by two experiments lists both and exits non-zero."""
    made = {make(f"n{i}") for i in range(40)}
    by_first: dict[str, list[str]] = {}
    for exp in made:
        by_first.setdefault(exp[0], []).append(exp)
    prefix, group = next((k, v) for k, v in by_first.items() if len(v) > 1)
    res = run_cli("show", prefix)
    assert_error(res, 1, f"id prefix '{prefix}'")
    assert all(exp in res.stderr for exp in group)


def test_show_metric_filter_and_machine_formats() -> None:
    """--show-metric picks columns; json has everything; csv/markdown are field/value rows."""
    exp = _rich_experiment()
    table = run_cli("show", exp, "--show-metric", "acc").stdout
    header = next(line for line in table.splitlines() if line.startswith("step"))
    assert header.split() == ["step", "acc"]
    data = json.loads(run_cli("show", exp, "-F", "json").stdout)
    assert data["id"] == exp and data["params"]["model"]["layers"] == 3
    assert len(data["metrics"]) == 12 and data["last_metrics"]["acc"] == 0.55
    assert any(a.endswith("result.json") for a in data["artifacts"])
    rows = dict(csv.reader(io.StringIO(run_cli("show", exp, "-F", "csv").stdout)))
    assert rows["params.lr"] == "0.1" and rows["metrics.acc"] == "0.55"
    md = run_cli("show", exp, "-F", "markdown").stdout
    assert "| params.model.layers | 3 |" in md


def test_show_failed_experiment_and_published_store() -> None:
    """A failed 0.6.1 experiment shows its error and git facts."""
    copy_061_store()
    out = run_cli("show", "failing").stdout
    assert "170aea7b" in out and "Script exited with code 3" in out
    assert "master" in out and "e95fdf98" in out
    out = run_cli("show", "27a2").stdout
    assert "lr:" in out and "hello from train" in out


def test_show_corrupt_experiment_is_an_error() -> None:
    """Showing an experiment whose metadata is corrupt gives one Error line."""
    exp = make("x")
    (store_root() / exp / "metadata.json").write_text("[1, 2")
    assert_error(run_cli("show", exp), 1, "corrupt")
