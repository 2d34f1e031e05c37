"""Dependencies through ``import yanex``: the Run API (get_dependency, assert_dependency,
get_graph, load_artifact's search, slot indexing) and the ExperimentGraph of yanex.results."""

from __future__ import annotations

import json

import pytest

import yanex
import yanex.aio
import yanex.results as yr
from tests.support.query import make
from yanex.errors import (
    AmbiguousArtifactError,
    AmbiguousKeyError,
    ExperimentNotFoundError,
    KeyNotFoundError,
    YanexError,
)


def with_artifact(exp_id: str, name: str, obj: object) -> None:
    with yanex.create_context(exp_id):
        yanex.save_artifact(obj, name)


@pytest.fixture
def pipeline() -> dict[str, str]:
    """prep -> train_a -> eval, prep -> train_b (a sibling branch), and an unrelated run."""
    prep = make("prep", script="prep.py", config={"dataset": "mnist", "samples": 100})
    train_a = make(
        "train-a",
        script="train.py",
        config={"model": {"lr": 0.1}},
        metrics=[{"loss": 1.0}, {"loss": 0.5}],
        depends_on=[f"data={prep}"],
    )
    train_b = make("train-b", script="train.py", config={"model": {"lr": 0.2}},
                   metrics=[{"loss": 0.7}], depends_on=[f"data={prep}"])  # fmt: skip
    evaluate = make("eval", script="eval.py", config={"split": "test"},
                    metrics=[{"acc": 0.9}], depends_on=[f"model={train_a}"])  # fmt: skip
    other = make("other", script="other.py")
    with_artifact(prep, "data.json", {"rows": 3})
    with_artifact(train_a, "model.json", {"w": 1})
    with_artifact(train_b, "model.json", {"w": 2})
    return {"prep": prep, "a": train_a, "b": train_b, "eval": evaluate, "other": other}


# --- yanex.results.get_graph and ExperimentGraph -------------------------------------------


def test_graph_is_causal_lineage_by_default(pipeline: dict[str, str]) -> None:
    """get_graph(eval) holds eval, what it depends on and what depends on it; not siblings."""
    graph = yr.get_graph(pipeline["eval"])
    assert [e.name for e in graph] == ["prep", "train-a", "eval"]  # topological order
    assert [e.name for e in graph.roots] == ["prep"]
    assert [e.name for e in graph.leaves] == ["eval"]
    assert pipeline["b"] not in graph and pipeline["other"] not in graph
    down = yr.get_graph(pipeline["prep"])  # everything downstream of the root
    assert {e.name for e in down} == {"prep", "train-a", "train-b", "eval"}


def test_weakly_connected_adds_siblings(pipeline: dict[str, str]) -> None:
    """weakly_connected=True: the whole connected component, sibling branches included."""
    graph = yr.get_graph(pipeline["eval"], weakly_connected=True)
    assert {e.name for e in graph} == {"prep", "train-a", "train-b", "eval"}
    assert {e.name for e in graph.leaves} == {"train-b", "eval"}
    alone = yr.get_graph(pipeline["other"])
    assert len(alone) == 1 and alone.roots == alone.leaves == [alone[pipeline["other"]]]


def test_container_protocol(pipeline: dict[str, str]) -> None:
    """graph[id] (or a unique prefix), len, in (id or Experiment), iteration, KeyError."""
    graph = yr.get_graph(pipeline["eval"])
    assert len(graph) == 3
    assert graph[pipeline["a"]].name == "train-a"
    assert graph[pipeline["a"][:7]].name == "train-a"
    assert pipeline["a"] in graph and yr.get_experiment(pipeline["a"]) in graph
    assert pipeline["other"] not in graph and 42 not in graph
    with pytest.raises(KeyError):
        graph[pipeline["other"]]
    assert [e.id for e in graph.experiments] == [e.id for e in graph]
    assert (pipeline["prep"], pipeline["a"], "data") in graph.edges


def test_experiment_get_graph_and_get_dependency(pipeline: dict[str, str]) -> None:
    """Experiment.get_graph and Experiment.get_dependency; unknown ids raise."""
    exp = yr.get_experiment(pipeline["eval"])
    assert [e.id for e in exp.get_graph()] == [e.id for e in yr.get_graph(pipeline["eval"])]
    assert len(exp.get_graph(weakly_connected=True)) == 4
    assert exp.get_dependency("model").id == pipeline["a"]
    assert exp.get_dependency("nope") is None
    with pytest.raises(ExperimentNotFoundError):
        yr.get_graph("ffffffff")
    with pytest.raises(ExperimentNotFoundError):
        yr.get_graph("no-such-name")


def test_filter_uses_the_query_filters(pipeline: dict[str, str]) -> None:
    """filter() takes get_experiments' filters and keeps the graph's order."""
    graph = yr.get_graph(pipeline["prep"])
    assert [e.name for e in graph.filter(script_pattern="train.py")] == ["train-a", "train-b"]
    assert [e.name for e in graph.filter(name="train-*", limit=1)] == ["train-a"]
    assert graph.filter(status="failed") == []
    assert len(graph.filter(status="completed")) == 4
    with pytest.raises(ValueError):
        graph.filter(colour="red")


def test_graph_load_artifact(pipeline: dict[str, str]) -> None:
    """Unique -> loaded; absent -> None; in several experiments -> AmbiguousArtifactError."""
    graph = yr.get_graph(pipeline["prep"])
    assert graph.load_artifact("data.json") == {"rows": 3}
    assert graph.load_artifact("absent.json") is None
    with pytest.raises(AmbiguousArtifactError) as err:
        graph.load_artifact("model.json")
    assert set(err.value.experiment_ids) == {pipeline["a"], pipeline["b"]}
    assert isinstance(err.value, YanexError)
    text = graph.load_artifact("data.json", format="txt")  # the format picks the loader
    assert json.loads(text) == {"rows": 3}
    assert graph.load_artifact("data.json", loader=lambda p: p.name) == "data.json"
    with pytest.raises(ValueError, match="unknown artifact format"):
        graph.load_artifact("data.json", format="nope")
    # fan-out: filter, then per experiment
    models = {e.name: e.load_artifact("model.json") for e in graph.filter(name="train-*")}
    assert models == {"train-a": {"w": 1}, "train-b": {"w": 2}}


def test_graph_params_and_metrics(pipeline: dict[str, str]) -> None:
    """get_params merges a linear pipeline; get_param/get_metric are strict."""
    linear = yr.get_graph(pipeline["eval"])
    assert linear.get_params() == {
        "dataset": "mnist", "samples": 100, "model": {"lr": 0.1}, "split": "test"
    }  # fmt: skip
    assert linear.get_param("lr") == 0.1  # suffix of model.lr
    assert linear.get_param("model.lr") == 0.1 and linear.get_param("param:lr") == 0.1
    assert linear.get_metric("acc") == 0.9 and linear.get_metric("loss") == 0.5
    with pytest.raises(KeyNotFoundError):
        linear.get_param("momentum")
    with pytest.raises(KeyError):  # KeyNotFoundError is also a KeyError
        linear.get_metric("f1")
    fan = yr.get_graph(pipeline["prep"])
    with pytest.raises(ValueError, match="conflicting values"):
        fan.get_params()
    with pytest.raises(ValueError, match="conflicting values"):
        fan.get_param("lr")
    with pytest.raises(ValueError, match="conflicting values"):
        fan.get_metric("loss")
    assert fan.get_param("dataset") == "mnist"  # the same wherever it is set


def test_ambiguous_param_key() -> None:
    """A shorthand that matches several paths raises AmbiguousKeyError."""
    exp = make("x", config={"encoder": {"lr": 1}, "decoder": {"lr": 2}})
    graph = yr.get_graph(exp)
    with pytest.raises(AmbiguousKeyError) as err:
        graph.get_param("lr")
    assert set(err.value.candidates) == {"encoder.lr", "decoder.lr"}
    assert graph.get_param("encoder.lr") == 1


def test_graph_compare_and_metrics_frames(pipeline: dict[str, str]) -> None:
    """compare/get_metrics are scoped to the graph; include_dep_params brings upstream ones."""
    pytest.importorskip("pandas")
    graph = yr.get_graph(pipeline["prep"])
    frame = graph.compare(script_pattern="eval.py", include_dep_params=True)
    assert list(frame.index) == [pipeline["eval"]]
    assert frame.loc[pipeline["eval"], ("param", "model.lr")] == 0.1
    assert frame.loc[pipeline["eval"], ("param", "dataset")] == "mnist"
    plain = graph.compare(script_pattern="eval.py", meta="none")
    assert ("param", "model.lr") not in plain.columns
    assert not any(c[0] == "meta" for c in plain.columns)
    every = graph.compare(params="auto")
    assert pipeline["other"] not in every.index and len(every) == 4
    long = graph.get_metrics(script_pattern="train.py", metrics=["loss"], meta=["name"])
    assert set(long["experiment_id"]) == {pipeline["a"], pipeline["b"]}
    assert list(long.columns[:4]) == ["experiment_id", "step", "metric_name", "value"]
    assert "model.lr" in long.columns and "name" in long.columns
    assert len(long) == 3


def test_digraph(pipeline: dict[str, str]) -> None:
    """digraph: a networkx DiGraph with edges in data-flow direction and their slots."""
    pytest.importorskip("networkx")
    dg = yr.get_graph(pipeline["eval"]).digraph
    assert set(dg.nodes) == {pipeline["prep"], pipeline["a"], pipeline["eval"]}
    assert dg.edges[pipeline["prep"], pipeline["a"]]["slot"] == "data"
    assert dg.nodes[pipeline["eval"]]["experiment"].name == "eval"


def test_results_get_dependencies_answers_by_slot(pipeline: dict[str, str]) -> None:
    """Experiment.get_dependencies(): a list in topological order that also takes slots."""
    deps = yr.get_experiment(pipeline["eval"]).get_dependencies()
    assert isinstance(deps, list) and len(deps) == 1 and deps[0].id == pipeline["a"]
    assert deps["model"].id == pipeline["a"] and "model" in deps and "data" not in deps
    assert list(deps.keys()) == ["model"] and [e.id for _s, e in deps.items()] == [pipeline["a"]]
    with pytest.raises(KeyError, match="slot"):
        deps["data"]


# --- the Run API inside an experiment ------------------------------------------------------


def test_run_api_dependency_access(pipeline: dict[str, str]) -> None:
    """get_dependency(slot), get_dependencies() by index and slot, transitive, get_graph()."""
    with yanex.create_context(pipeline["eval"]):
        assert yanex.get_dependency("model").id == pipeline["a"]
        assert yanex.get_dependency("data") is None
        deps = yanex.get_dependencies()
        assert deps[0].id == deps["model"].id == pipeline["a"]
        assert [e.id for e in deps.values()] == [pipeline["a"]]
        chain = [e.id for e in yanex.get_dependencies(transitive=True)]
        assert chain == [pipeline["prep"], pipeline["a"]]
        graph = yanex.get_graph()
        assert {e.name for e in graph} == {"prep", "train-a", "eval"}


def test_run_api_standalone() -> None:
    """Standalone: no dependencies, no slot, an empty graph, assert_dependency is a no-op."""
    assert yanex.get_dependencies() == [] and "data" not in yanex.get_dependencies()
    assert yanex.get_dependency("data") is None
    assert len(yanex.get_graph()) == 0
    yanex.assert_dependency("prep.py", slot="data")


def test_load_artifact_searches_dependencies_breadth_first(pipeline: dict[str, str]) -> None:
    """Own artifact first, then the dependencies, then theirs; None when nowhere."""
    with yanex.create_context(pipeline["eval"]):
        assert yanex.load_artifact("data.json") == {"rows": 3}  # two levels up
        assert yanex.load_artifact("model.json") == {"w": 1}  # from train-a, not train-b
        assert yanex.load_artifact("absent.json") is None
        yanex.save_artifact({"own": True}, "data.json")
        assert yanex.load_artifact("data.json") == {"own": True}  # its own comes first
        assert yanex.load_artifact("data.json", from_experiment=pipeline["prep"]) == {"rows": 3}


def test_load_artifact_ambiguous_at_the_nearest_level(pipeline: dict[str, str]) -> None:
    """Two direct dependencies with the same artifact: an error naming both, not a guess."""
    both = make("ensemble", depends_on=[f"m1={pipeline['a']}", f"m2={pipeline['b']}"])
    with yanex.create_context(both):
        with pytest.raises(AmbiguousArtifactError, match="from_experiment"):
            yanex.load_artifact("model.json")
        assert yanex.get_dependency("m2").load_artifact("model.json") == {"w": 2}
        assert yanex.load_artifact("data.json") == {"rows": 3}  # one experiment, reached twice


def test_assert_dependency_with_slot(pipeline: dict[str, str]) -> None:
    """assert_dependency(script, slot=...) checks that slot; a miss fails the experiment."""
    with yanex.create_context(pipeline["eval"]):
        yanex.assert_dependency("train.py")
        yanex.assert_dependency("train.py", slot="model")
    with yanex.create_context(pipeline["eval"]):
        yanex.assert_dependency("prep.py")  # transitive only: fails the experiment
    assert yr.get_experiment(pipeline["eval"]).status == "failed"
    assert "No dependency from 'prep.py'" in (
        yr.get_experiment(pipeline["eval"]).error_message or ""
    )
    with yanex.create_context(pipeline["a"]):
        yanex.assert_dependency("prep.py", slot="model")  # wrong slot
    failed = yr.get_experiment(pipeline["a"])
    assert failed.status == "failed" and "slot 'model'" in (failed.error_message or "")


@pytest.mark.anyio
async def test_async_face(pipeline: dict[str, str]) -> None:
    """yanex.aio has the same dependency calls, awaitable."""
    async with yanex.aio.create_context(pipeline["eval"]):
        dep = await yanex.aio.get_dependency("model")
        assert dep is not None and dep.id == pipeline["a"]
        deps = await yanex.aio.get_dependencies()
        assert deps["model"].id == pipeline["a"]
        await yanex.aio.assert_dependency("train.py", slot="model")
        assert len(await yanex.aio.get_graph()) == 3
        assert await yanex.aio.load_artifact("data.json") == {"rows": 3}
