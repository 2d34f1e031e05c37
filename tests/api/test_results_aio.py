"""The awaitable queries of yanex.aio, on every async backend."""

from __future__ import annotations

import inspect

import pytest

import yanex.aio as aio
import yanex.results as yr
from tests.support.query import make

QUERIES = [
    "get_experiment",
    "get_experiments",
    "get_latest",
    "get_best",
    "compare",
    "get_metrics",
    "get_experiment_count",
    "experiment_exists",
]


def test_aio_queries_mirror_results_signatures() -> None:
    """Each awaitable query takes the same parameters as its yanex.results counterpart."""
    for name in QUERIES:
        ours, theirs = getattr(aio, name), getattr(yr, name)
        assert inspect.iscoroutinefunction(ours), name
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        ), name
        assert name in aio.__all__


@pytest.mark.anyio
async def test_aio_queries_return_results() -> None:
    """yanex.aio runs the queries without blocking the loop and returns the same data."""
    a = make("alpha", config={"lr": 1}, metrics=[{"acc": 0.2}])
    b = make("beta", config={"lr": 2}, metrics=[{"acc": 0.9}], status="failed")
    assert (await aio.get_experiment("alpha")).id == a  # not hex: no id prefix clash
    assert {e.id for e in await aio.get_experiments()} == {a, b}
    assert (await aio.get_experiments(status="failed"))[0].id == b
    latest = await aio.get_latest()
    assert latest is not None and latest.id == b
    best = await aio.get_best("acc", maximize=False)
    assert best is not None and best.id == a
    assert await aio.get_experiment_count(status="completed") == 1
    assert await aio.experiment_exists(a) and not await aio.experiment_exists("ffffffff")
    frame = await aio.compare(params=["lr"])
    assert sorted(frame[("param", "lr")]) == [1, 2]
    series = await aio.get_metrics(as_dataframe=False)
    assert series[a][0]["acc"] == 0.2
