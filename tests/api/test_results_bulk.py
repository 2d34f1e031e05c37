"""yanex.results.archive_experiments / export_experiments, the empty-filter rule (an empty
list selects nothing, never everything), and ``yanex show`` of an archived experiment."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

import yanex
import yanex.results as yr
from tests.support.cli import run_cli


def _make(
    name: str, *, tags: list[str], config: dict, metrics: list[dict], fail: bool = False
) -> str:
    exp = yanex.create_experiment(Path("train.py"), name=name, tags=tags, config=config)
    try:
        with exp:
            for m in metrics:
                yanex.log_metrics(m)
            if fail:
                raise RuntimeError("bad")
    except RuntimeError:
        pass
    return exp.experiment_id


@pytest.fixture
def three() -> dict[str, str]:
    return {
        "a": _make(
            "alpha",
            tags=["x"],
            config={"lr": 0.123456789, "m": {"n": 2}},
            metrics=[{"loss": 1.0}, {"loss": 0.1 + 0.2}],
        ),
        "b": _make("beta", tags=["x", "y"], config={"lr": 0.5}, metrics=[{"acc": 0.9}]),
        "c": _make("gamma", tags=["y"], config={}, metrics=[], fail=True),
    }


@pytest.mark.parametrize(
    "empty", [{"ids": []}, {"tags": []}, {"status": []}, {"ids": [""]}, {"ids": ""}]
)
def test_empty_filters_select_nothing(three: dict[str, str], empty: dict) -> None:
    assert yr.get_experiments(**empty) == []
    assert yr.get_experiment_count(**empty) == 0
    assert yr.archive_experiments(**empty) == 0
    assert len(yr.get_experiments(archived=False)) == 3


def test_archive_without_any_filter_is_refused(three: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="at least one filter"):
        yr.archive_experiments()
    with pytest.raises(ValueError, match="at least one filter"):
        yr.archive_experiments(limit=5)
    assert len(yr.get_experiments(archived=False)) == 3


def test_archive_experiments_by_filters(three: dict[str, str], store_dir: Path) -> None:
    assert yr.archive_experiments(status="failed") == 1
    assert (store_dir / "archived" / three["c"]).is_dir()
    assert yr.archive_experiments(ids=[three["a"]]) == 1
    assert {e.id for e in yr.get_experiments(archived=False)} == {three["b"]}
    assert yr.archive_experiments(ids=[three["a"]]) == 0  # already archived
    assert yr.archive_experiments(tags=["x"], archived=True) == 0
    assert yr.get_experiment(three["a"]).archived


def test_cli_bulk_commands_with_empty_filters_do_nothing(three: dict[str, str]) -> None:
    for args in (["--ids", ""], ["--ids", ","], ["--tag", ""]):
        for cmd in ("archive", "delete"):
            res = run_cli(cmd, *args, "--force", "-g")
            assert res.returncode == 0, res.stderr
            assert "No " in res.stderr or "0 experiment" in res.stderr
    assert len(yr.get_experiments(archived=False)) == 3


def test_export_json(three: dict[str, str], work_dir: Path) -> None:
    out = work_dir / "out.json"
    yr.export_experiments(out, format="json", tags=["x"])
    data = json.loads(out.read_text())
    assert sorted(d["id"] for d in data) == sorted([three["a"], three["b"]])
    a = next(d for d in data if d["id"] == three["a"])
    assert a["params"] == {"lr": 0.123456789, "m": {"n": 2}}
    assert [m["loss"] for m in a["metrics"]] == [1.0, 0.1 + 0.2]
    assert a["status"] == "completed" and a["name"] == "alpha"


def test_export_csv_exact_values(three: dict[str, str], work_dir: Path) -> None:
    out = work_dir / "out.csv"
    yr.export_experiments(str(out), format="csv", ids=[three["a"], three["b"]])
    rows = list(csv.DictReader(out.open()))
    assert sorted(r["id"] for r in rows) == sorted([three["a"], three["b"]])
    a = next(r for r in rows if r["id"] == three["a"])
    assert a["param:lr"] == "0.123456789"
    assert a["param:m.n"] == "2"
    assert float(a["metric:loss"]) == 0.1 + 0.2  # the last value, not rounded
    assert a["metric:acc"] == ""
    assert a["tags"] == "x"


def test_export_yaml(three: dict[str, str], work_dir: Path) -> None:
    out = work_dir / "out.yaml"
    yr.export_experiments(out, format="yaml", status="failed")
    data = yaml.safe_load(out.read_text())
    assert [d["id"] for d in data] == [three["c"]]
    assert data[0]["status"] == "failed"


def test_export_bad_format_and_unwritable_path(three: dict[str, str], work_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        yr.export_experiments(work_dir / "x.xml", format="xml", tags=["x"])
    assert not (work_dir / "x.xml").exists()
    with pytest.raises(OSError):
        yr.export_experiments(work_dir / "no" / "such" / "dir.json", tags=["x"])
    with pytest.raises(ValueError, match="at least one filter"):
        yr.export_experiments(work_dir / "all.json")
    yr.export_experiments(work_dir / "none.json", ids=[])
    assert json.loads((work_dir / "none.json").read_text()) == []


def test_show_archived_needs_the_flag(three: dict[str, str]) -> None:
    exp_id = three["b"]
    assert yr.archive_experiments(ids=[exp_id]) == 1
    for ref in (exp_id, exp_id[:5], "beta"):
        res = run_cli("show", ref)
        assert res.returncode == 1
        lines = res.stderr.strip().splitlines()
        assert lines == [f"Error: experiment {exp_id} is archived; add --archived to show it"]
    res = run_cli("show", exp_id, "--archived")
    assert res.returncode == 0 and exp_id in res.stdout and "archived" in res.stdout
    res = run_cli("show", "no-such-name")
    assert res.returncode == 1 and "archived" not in res.stderr


@pytest.mark.anyio
async def test_aio_faces(anyio_backend: object, three: dict[str, str], work_dir: Path) -> None:
    import yanex.aio as ya

    assert await ya.archive_experiments(ids=[]) == 0
    assert await ya.archive_experiments(name="gamma") == 1
    await ya.export_experiments(work_dir / "g.json", format="json", name="gamma")
    assert [d["id"] for d in json.loads((work_dir / "g.json").read_text())] == [three["c"]]
