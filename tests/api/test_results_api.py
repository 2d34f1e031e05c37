"""yanex.results: single and multiple experiment access, comparison, metrics, helpers."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

import yanex.results as yr
from tests.support.query import ago, copy_061_store, make
from yanex.errors import AmbiguousExperimentError, ExperimentNotFoundError


def test_get_experiment_by_id_prefix_and_name() -> None:
    """get_experiment takes a full id, a unique prefix or an exact name."""
    exp_id = make("baseline")
    assert yr.get_experiment(exp_id).id == exp_id
    assert yr.get_experiment(exp_id[:5]).id == exp_id
    assert yr.get_experiment("baseline").id == exp_id


def test_get_experiment_unknown_and_ambiguous() -> None:
    """An unknown id raises ExperimentNotFoundError; a shared name lists the candidates."""
    a = make("twin")
    b = make("twin")
    with pytest.raises(ExperimentNotFoundError):
        yr.get_experiment("nothing-like-this")
    with pytest.raises(AmbiguousExperimentError) as info:
        yr.get_experiment("twin")
    assert {c.split()[0] for c in info.value.candidates} == {a, b}


def test_get_latest_and_none() -> None:
    """get_latest gives the newest match, or None when nothing matches."""
    make("a", tags=["t"], created=ago(days=2))
    newest = make("b", tags=["t"], created=ago(hours=1))
    make("c", created=ago(minutes=1))
    latest = yr.get_latest(tags=["t"])
    assert latest is not None and latest.id == newest
    assert yr.get_latest(status="running") is None


def test_get_best_maximize_and_minimize_use_last_value() -> None:
    """get_best compares each experiment's last value; non-numeric values are skipped."""
    a = make("a", metrics=[{"acc": 0.9}, {"acc": 0.5}], config={"lr": 1})
    b = make("b", metrics=[{"acc": 0.7}], config={"lr": 2})
    make("c", metrics=[{"acc": "n/a"}])
    make("d")
    best = yr.get_best("acc")
    worst = yr.get_best("acc", maximize=False)
    assert best is not None and best.id == b
    assert worst is not None and worst.id == a
    assert yr.get_best("missing") is None


def test_compare_dataframe_multiindex_columns() -> None:
    """compare returns ("param"|"metric", name) columns indexed by experiment id."""
    a = make("a", config={"lr": 0.1, "model": {"layers": 2}}, metrics=[{"acc": 0.5}, {"acc": 0.8}])
    b = make("b", config={"lr": 0.2, "model": {"layers": 2}}, metrics=[{"acc": 0.6}])
    df = yr.compare(ids=[a, b])
    assert df.index.name == "experiment_id"
    assert set(df.index) == {a, b}
    assert df.loc[a, ("param", "lr")] == 0.1
    assert df.loc[a, ("metric", "acc")] == 0.8
    assert df.loc[b, ("param", "model.layers")] == 2
    assert list(df.xs("param", axis=1, level=0).columns) == ["lr", "model.layers"]
    assert df.loc[a, ("meta", "name")] == "a"


def test_compare_selected_columns_and_only_different() -> None:
    """params/metrics pick columns; only_different drops columns equal everywhere."""
    a = make("a", config={"lr": 0.1, "bs": 32}, metrics=[{"acc": 0.5, "loss": 1}])
    make("b", config={"lr": 0.2, "bs": 32}, metrics=[{"acc": 0.6, "loss": 1}])
    df = yr.compare(params=["lr"], metrics=["acc"])
    assert [c for c in df.columns if c[0] != "meta"] == [("param", "lr"), ("metric", "acc")]
    diff = yr.compare(only_different=True)
    assert ("param", "bs") not in diff.columns and ("metric", "loss") not in diff.columns
    assert ("param", "lr") in diff.columns and ("metric", "acc") in diff.columns
    assert len(yr.compare(ids=[a])) == 1


def test_get_metrics_long_format_with_auto_params() -> None:
    """get_metrics gives one row per (step, metric); 'auto' adds only differing params."""
    a = make("a", config={"lr": 0.1, "bs": 8}, metrics=[{"loss": 1.0, "acc": 0.1}, {"loss": 0.5}])
    make("b", config={"lr": 0.2, "bs": 8}, metrics=[{"loss": 2.0}])
    df = yr.get_metrics()
    assert list(df.columns) == ["experiment_id", "step", "metric_name", "value", "lr"]
    rows = df[df.experiment_id == a]
    assert sorted(zip(rows.step, rows.metric_name, rows.value, strict=True)) == [
        (0, "acc", 0.1),
        (0, "loss", 1.0),
        (1, "loss", 0.5),
    ]
    assert set(yr.get_metrics(metrics="loss").metric_name) == {"loss"}
    assert "bs" in yr.get_metrics(include_params="all").columns
    assert list(yr.get_metrics(include_params=["bs"]).columns)[-1] == "bs"
    assert list(yr.get_metrics(include_params="none").columns)[-1] == "value"


def test_get_metrics_as_dict() -> None:
    """as_dataframe=False returns {experiment_id: [metric dicts]} and needs no pandas."""
    a = make("a", metrics=[{"loss": 1.0, "acc": 0.1}, {"loss": 0.5}])
    data = yr.get_metrics(as_dataframe=False)
    assert [e["loss"] for e in data[a]] == [1.0, 0.5]
    only = yr.get_metrics(metrics=["acc"], as_dataframe=False)
    assert only[a] == [{"step": 0, "acc": 0.1}]


def test_count_and_exists() -> None:
    """get_experiment_count counts matches; experiment_exists tells whether an id is known."""
    a = make("a")
    make("b", status="failed")
    assert yr.get_experiment_count() == 2
    assert yr.get_experiment_count(status="failed") == 1
    assert yr.experiment_exists(a) and yr.experiment_exists(a[:6])
    assert not yr.experiment_exists("ffffffff")


def test_dataframe_functions_need_pandas_only_when_asked(tmp_path) -> None:
    """Without pandas: compare raises a clear ImportError; the rest of yanex.results works."""
    make("a", metrics=[{"acc": 1}])
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import yanex.results as yr\n"
        "assert len(yr.get_experiments()) == 1\n"
        "assert yr.get_metrics(as_dataframe=False)\n"
        "try:\n    yr.compare()\nexcept ImportError as e:\n    print('IMPORT', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "IMPORT" in out.stdout and "pip install pandas" in out.stdout


def test_import_results_does_not_import_pandas() -> None:
    """import yanex.results stays light: no pandas, numpy or rich."""
    code = (
        "import sys, yanex.results\n"
        "print([m for m in ('pandas', 'numpy', 'rich') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_published_store_is_read() -> None:
    """Experiments written by yanex 0.6.1 load with params (params.yaml), metrics and git."""
    copy_061_store()
    exp = yr.get_experiment("fixture-run")
    assert exp.id == "27a219f5" and exp.status == "completed" and exp.tags == ["t1"]
    assert exp.get_params() == {"lr": 0.01, "model": {"layers": 3}}
    assert exp.get_param("model.layers") == 3
    assert exp.get_metric("acc") == [0.5, 0.6, 0.7]
    assert exp.metadata["git_branch"] == "master"
    assert exp.load_artifact("stdout.txt") == "hello from train\n"
    assert exp.duration == timedelta(microseconds=264055)
    df = yr.compare()
    assert df.loc["27a219f5", ("metric", "loss")] == pytest.approx(1 / 3)
    assert yr.get_experiment("170aea7b").error_message == "Script exited with code 3"


def test_find_returns_metadata_dicts_usable_with_get_experiment(store_dir) -> None:
    """yr.find(...) gives one metadata dict per matching experiment (newest first), whose
    "id" opens the full Experiment, as the Python API overview shows."""
    from pathlib import Path

    import yanex
    import yanex.results as yr

    with yanex.create_experiment(Path("a.py"), name="one", tags=["keep"]):
        pass
    with yanex.create_experiment(Path("b.py"), name="two", tags=["keep"]):
        pass
    with yanex.create_experiment(Path("c.py"), name="other"):
        pass
    found = yr.find(tags=["keep"])
    assert [d["name"] for d in found] == ["two", "one"]
    assert all(d["status"] == "completed" for d in found)
    assert yr.get_experiment(found[0]["id"]).name == "two"
