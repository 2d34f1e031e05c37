"""``yanex compare``: the side-by-side table, column choice, formats and export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.query import assert_error, copy_061_store, make

pytestmark = pytest.mark.usefixtures("cli_backend")  # yanex run/compare: every backend


def _two() -> tuple[str, str]:
    a = make("a", config={"lr": 0.1, "bs": 32}, metrics=[{"acc": 0.5}, {"acc": 0.9, "loss": 1}])
    b = make("b", config={"lr": 0.2, "bs": 32}, metrics=[{"acc": 0.6, "loss": 1}])
    return a, b


def test_table_has_fixed_param_and_metric_columns() -> None:
    """The default table: fixed columns, then param: and metric: (last value) columns."""
    a, _b = _two()
    res = run_cli("compare")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == [
        "ID", "Name", "Started", "Duration", "Status", "Tags",
        "param:lr", "param:bs", "metric:acc", "metric:loss",
    ]  # fmt: skip
    row_a = next(line for line in lines if line.startswith(a)).split()
    assert row_a[-4:] == ["0.1", "32", "0.9", "1"]


def test_ids_columns_and_only_different() -> None:
    """Positional ids pick rows; --param/--metric pick columns; --only-different hides equal."""
    a, b = _two()
    make("c", config={"lr": 9})
    data = json.loads(run_cli("compare", a, b[:5], "-F", "json").stdout)
    assert {d["id"] for d in data} == {a, b}
    picked_out = run_cli("compare", a, b, "--param", "lr", "--metric", "acc", "-F", "json")
    picked = json.loads(picked_out.stdout)
    assert all(set(d["params"]) == {"lr"} and set(d["metrics"]) == {"acc"} for d in picked)
    commas = json.loads(run_cli("compare", a, b, "--params", "lr,bs", "-F", "json").stdout)
    assert set(commas[0]["params"]) == {"lr", "bs"}
    diff = run_cli("compare", a, b, "--only-different").stdout.splitlines()[0]
    assert "param:lr" in diff and "param:bs" not in diff and "metric:loss" not in diff


def test_csv_markdown_and_export(tmp_path: Path) -> None:
    """csv has param:/metric: columns; markdown is a pipe table; --export writes a CSV file."""
    a, _b = _two()
    rows = list(csv.DictReader(io.StringIO(run_cli("compare", "-F", "csv").stdout)))
    by_id = {r["id"]: r for r in rows}
    assert by_id[a]["param:lr"] == "0.1" and by_id[a]["metric:acc"] == "0.9"
    md = run_cli("compare", "-F", "markdown").stdout.splitlines()
    assert md[0].startswith("| ID | Name |") and "param:lr" in md[0]
    target = tmp_path / "out.csv"
    res = run_cli("compare", "--export", str(target))
    assert res.returncode == 0 and f"Wrote 2 rows to {target}" in res.stderr
    assert "param:lr" in target.read_text().splitlines()[0]


def test_filters_and_errors() -> None:
    """Filters select rows; ids with filters, bad formats and unknown ids are errors."""
    a, _b = _two()
    failed = make("f", status="failed")
    only = json.loads(run_cli("compare", "-s", "failed", "-F", "json").stdout)
    assert [d["id"] for d in only] == [failed]
    assert len(json.loads(run_cli("compare", "--max-rows", "1", "-F", "json").stdout)) == 1
    assert_error(run_cli("compare", a, "-s", "failed"), 2, "not both")
    assert_error(run_cli("compare", "-F", "pdf"), 2, "unknown format")
    assert_error(run_cli("compare", a, "ffffffff"), 1, "ffffffff")


def test_compares_the_published_store() -> None:
    """The experiments of yanex 0.6.1 compare with their params.yaml and metrics.json."""
    copy_061_store()
    data = {d["id"]: d for d in json.loads(run_cli("compare", "-F", "json").stdout)}
    assert data["27a219f5"]["params"]["model.layers"] == 3
    assert data["27a219f5"]["metrics"]["acc"] == 0.7
    assert data["170aea7b"]["metrics"]["x"] == 1
