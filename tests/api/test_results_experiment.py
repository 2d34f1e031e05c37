"""The Experiment class of yanex.results: properties, data access, updates, dependencies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import yanex
import yanex.results as yr
from tests.support.query import make, patch, store_root
from yanex.errors import ExperimentNotFoundError


def test_properties() -> None:
    """The documented properties read the stored facts with their documented types."""
    exp_id = make("p", tags=["a", "b"], script="train.py")
    patch(exp_id, description="about", project="proj")
    exp = yr.get_experiment(exp_id)
    assert (exp.id, exp.name, exp.description, exp.status) == (exp_id, "p", "about", "completed")
    assert exp.tags == ["a", "b"] and exp.project == "proj"
    assert isinstance(exp.started_at, datetime) and isinstance(exp.completed_at, datetime)
    assert isinstance(exp.duration, timedelta) and exp.duration >= timedelta(0)
    assert exp.script_path == Path("train.py").resolve()
    assert exp.archived is False
    assert exp.experiment_dir == store_root() / exp_id
    assert exp.artifacts_dir == store_root() / exp_id / "artifacts"
    assert exp.has_dependencies is False and exp.dependency_ids == []


def test_constructor_opens_by_id() -> None:
    """Experiment(id) opens a stored experiment; an unknown id raises."""
    exp_id = make("c")
    assert yr.Experiment(exp_id).name == "c"
    with pytest.raises(ExperimentNotFoundError):
        yr.Experiment("0000abcd")


def test_params_and_metrics() -> None:
    """get_params/get_param (dots), get_metrics (all, one step, DataFrame), get_metric."""
    exp = yr.get_experiment(
        make("m", config={"lr": 0.1, "model": {"layers": 3}}, metrics=[{"acc": 0.5}, {"acc": 0.7}])
    )
    assert exp.get_params() == {"lr": 0.1, "model": {"layers": 3}}
    assert exp.get_param("model.layers") == 3
    assert exp.get_param("model.width", 64) == 64
    assert [m["acc"] for m in exp.get_metrics()] == [0.5, 0.7]
    assert exp.get_metrics(step=1)["acc"] == 0.7
    assert exp.get_metrics(step=9) == {}
    assert exp.get_metric("acc") == [0.5, 0.7]
    assert exp.get_metric("nothing") is None
    frame = exp.get_metrics(as_dataframe=True)
    assert list(frame.index) == [0, 1] and list(frame["acc"]) == [0.5, 0.7]


def test_artifacts() -> None:
    """get_artifacts, list_artifacts, artifact_exists and load_artifact read the artifacts."""
    with yanex.create_experiment(Path("s.py"), name="arts"):
        yanex.save_artifact({"k": 1}, "result.json")
        yanex.save_artifact("text", "notes.txt")
        exp_id = yanex.get_experiment_id()
    exp = yr.get_experiment(str(exp_id))
    assert exp.list_artifacts() == ["notes.txt", "result.json"]
    assert [p.name for p in exp.get_artifacts()] == ["notes.txt", "result.json"]
    assert exp.artifact_exists("result.json") and not exp.artifact_exists("model.pt")
    assert exp.load_artifact("result.json") == {"k": 1}
    assert exp.load_artifact("missing.json") is None
    assert exp.load_artifact("notes.txt", loader=lambda p: p.read_text().upper()) == "TEXT"


def test_setters_write_metadata() -> None:
    """set_name, set_description, add_tags, remove_tags and set_status are stored."""
    exp = yr.get_experiment(make("old", tags=["debug"]))
    exp.set_name("new")
    exp.set_description("better")
    exp.add_tags(["production", "v2"])
    exp.remove_tags(["debug"])
    exp.set_status("failed")
    stored = json.loads((exp.experiment_dir / "metadata.json").read_text())
    assert stored["name"] == "new" and stored["description"] == "better"
    assert stored["tags"] == ["production", "v2"] and stored["status"] == "failed"
    assert (exp.name, exp.status, exp.tags) == ("new", "failed", ["production", "v2"])
    with pytest.raises(ValueError):
        exp.set_status("finished")


def test_refresh_sees_changes_made_elsewhere() -> None:
    """refresh() re-reads the experiment after another process changed it."""
    exp = yr.get_experiment(make("before", config={"a": 1}))
    assert exp.get_params() == {"a": 1}
    patch(exp.id, name="after")
    (exp.experiment_dir / "config.json").write_text('{"a": 2}')
    assert exp.name == "before"
    exp.refresh()
    assert exp.name == "after" and exp.get_params() == {"a": 2}


def test_to_dict() -> None:
    """to_dict holds the documented data."""
    exp = yr.get_experiment(make("d", config={"x": 1}, metrics=[{"m": 2}], tags=["t"]))
    data = exp.to_dict()
    assert data["id"] == exp.id and data["name"] == "d" and data["tags"] == ["t"]
    assert data["params"] == {"x": 1} and data["metrics"][0]["m"] == 2
    assert data["status"] == "completed" and data["archived"] is False
    assert data["duration_seconds"] is not None
    json.dumps(data)  # plain data


def test_dependencies_in_topological_order() -> None:
    """get_dependencies lists dependencies before dependents; transitive and include_self."""
    prep = make("prep", script="prep.py")
    train = make("train", depends_on=[f"data={prep}"])
    other = make("other")
    evaluate = make("eval", depends_on=[f"model={train}", other[:6]])
    exp = yr.get_experiment(evaluate)
    assert exp.has_dependencies and exp.dependencies == {"model": train, "dep2": other[:6]}
    assert [d.id for d in exp.get_dependencies()] == [train, other]
    chain = [d.id for d in exp.get_dependencies(transitive=True)]
    assert chain.index(prep) < chain.index(train) and set(chain) == {prep, train, other}
    full = exp.get_dependencies(transitive=True, include_self=True)
    assert full[-1].id == evaluate


def test_dependencies_from_published_dependencies_json() -> None:
    """dependencies.json (written by yanex 0.6) names the slots."""
    base = make("base")
    top = make("top")
    (store_root() / top / "dependencies.json").write_text(
        json.dumps({"dependencies": {"data": base}})
    )
    assert yr.get_experiment(top).dependencies == {"data": base}
    assert [d.id for d in yr.get_experiment(top).get_dependencies()] == [base]


def test_run_api_get_dependencies_inside_experiment() -> None:
    """yanex.get_dependencies() in an experiment returns Experiment objects of its -D ids."""
    base = make("base", script="prepare_data.py")
    child = make("child", depends_on=[base])
    with yanex.create_context(child):
        deps = yanex.get_dependencies()
        yanex.assert_dependency("prepare_data.py")
    assert [d.id for d in deps] == [base] and deps[0].name == "base"
