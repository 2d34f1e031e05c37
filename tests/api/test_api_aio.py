"""The async face ``yanex.aio``: every Run API function as a coroutine and the experiment
contexts as ``async with``, on asyncio, uvloop and trio."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

import yanex.aio as ya
from yanex._store import store
from yanex.errors import ExperimentContextError

pytestmark = pytest.mark.anyio


def _meta(exp_dir: Path) -> dict:
    return json.loads((exp_dir / "metadata.json").read_text())


def _metrics(exp_dir: Path) -> list[dict]:
    return json.loads((exp_dir / "metrics.json").read_text())


async def test_standalone(store_dir: Path, work_dir: Path) -> None:
    """Standalone, the async queries return their documented empty values and log nothing."""
    assert await ya.is_standalone() is True
    assert await ya.has_context() is False
    assert await ya.get_params() == {}
    assert await ya.get_param("lr", 0.1) == 0.1
    assert await ya.get_cli_args() == {}
    assert await ya.get_experiment_id() is None
    assert await ya.get_status() is None
    assert await ya.get_metadata() == {}
    assert await ya.get_experiment_dir() is None
    assert await ya.get_artifacts_dir() is None
    await ya.log_metrics({"a": 1})
    assert not store_dir.exists()
    await ya.save_artifact({"a": 1}, "r.json")
    assert (work_dir / "artifacts" / "r.json").is_file()
    assert await ya.load_artifact("r.json") == {"a": 1}
    assert await ya.list_artifacts() == ["r.json"]


async def test_params_and_information() -> None:
    """Inside ``async with create_experiment`` the params and information functions answer."""
    config = {"lr": 0.01, "model": {"layers": 3}}
    async with ya.create_experiment(
        Path("t.py"), name="n", config=config, tags=["t"], description="d"
    ) as exp:
        assert await ya.is_standalone() is False and await ya.has_context() is True
        assert await ya.get_params() == config
        assert await ya.get_param("model.layers") == 3
        with pytest.warns(UserWarning, match="dropout"):
            assert await ya.get_param("dropout") is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert await ya.get_param("dropout", 0.5) == 0.5
        assert await ya.get_cli_args() == {}
        exp_id = await ya.get_experiment_id()
        assert exp_id == exp.experiment_id
        assert await ya.get_status() == "running"
        meta = await ya.get_metadata()
        assert (meta["id"], meta["name"], meta["tags"], meta["description"]) == (
            exp_id,
            "n",
            ["t"],
            "d",
        )
        exp_dir = await ya.get_experiment_dir()
        assert exp_dir == exp.experiment_dir and exp_dir.is_absolute()
        assert await ya.get_artifacts_dir() == exp_dir / "artifacts"
    assert _meta(exp_dir)["status"] == "completed"


async def test_log_metrics_step_rules() -> None:
    """The async log_metrics follows the same step rules and errors as the blocking one."""
    async with ya.create_experiment(Path("t.py")) as exp:
        await ya.log_metrics({"a": 1})
        await ya.log_metrics({"b": 2}, step=0)
        await ya.log_metrics({"a": 3}, step=0)
        await ya.log_metrics({"c": 4})
        with pytest.raises(TypeError):
            await ya.log_metrics({"a": 1}, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await ya.log_metrics([1])  # type: ignore[arg-type]
        with pytest.deprecated_call():
            await ya.log_results({"r": 5})
        await exp.log_metrics({"via": "method"})
        exp_dir = exp.experiment_dir
    entries = _metrics(exp_dir)
    assert [e["step"] for e in entries] == [0, 1, 2, 3]
    assert (entries[0]["a"], entries[0]["b"], "last_updated" in entries[0]) == (3, 2, True)
    assert (entries[1]["c"], entries[2]["r"], entries[3]["via"]) == (4, 5, "method")


async def test_artifacts(work_dir: Path) -> None:
    """Every artifact coroutine works on the experiment, and from_experiment reads another."""
    (work_dir / "src.txt").write_text("source")
    async with ya.create_experiment(Path("t.py")) as first:
        await ya.copy_artifact("src.txt", "copied.txt")
        await ya.save_artifact({"w": 1}, "model.json")
        await ya.save_artifact(b"\x01", "blob.bin", saver=lambda o, p: p.write_bytes(o))
        assert await ya.load_artifact("blob.bin", loader=lambda p: p.read_bytes()) == b"\x01"
        assert await ya.artifact_exists("copied.txt") is True
        assert await ya.artifact_exists("nope.txt") is False
        assert await ya.load_artifact("nope.json") is None
        assert await ya.list_artifacts() == ["blob.bin", "copied.txt", "model.json"]
        with pytest.raises(ValueError):
            await ya.save_artifact("x", "../escape.txt")
        with pytest.raises(ValueError):
            await ya.save_artifact("x", "data.unknown")
        with pytest.raises(TypeError):
            await ya.save_artifact(3, "n.txt")
        first_id = first.experiment_id
    async with ya.create_experiment(Path("t.py")):
        assert await ya.load_artifact("model.json", from_experiment=first_id) == {"w": 1}
        assert await ya.artifact_exists("model.json", from_experiment=first_id) is True
        assert "model.json" in await ya.list_artifacts(from_experiment=first_id)
        assert await ya.list_artifacts() == []
    assert not (work_dir.parent / "escape.txt").exists()


async def test_exception_fails() -> None:
    """An exception leaving ``async with`` marks the experiment failed with its traceback."""
    with pytest.raises(RuntimeError):
        async with ya.create_experiment(Path("t.py")) as exp:
            exp_dir = exp.experiment_dir
            raise RuntimeError("async boom")
    meta = _meta(exp_dir)
    assert (meta["status"], meta["error_message"]) == ("failed", "RuntimeError: async boom")
    assert "async boom" in meta["error_traceback"]


async def test_cancellation_cancels() -> None:
    """A cancelled task leaves its experiment cancelled (the final write is shielded)."""
    with anyio.move_on_after(0.05):
        async with ya.create_experiment(Path("t.py")) as exp:
            exp_dir = exp.experiment_dir
            await ya.log_metrics({"a": 1})
            await anyio.sleep(10)
    assert _meta(exp_dir)["status"] == "cancelled"
    assert _metrics(exp_dir)[0]["a"] == 1


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        ("completed", "completed", None),
        ("fail", "failed", "bad"),
        ("cancel", "cancelled", "stop"),
    ],
)
async def test_end_calls_leave_block(call: str, status: str, message: str | None) -> None:
    """completed()/fail()/cancel() leave the ``async with`` block even through except Exception."""
    reached = []
    async with ya.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        try:
            args = () if message is None else (message,)
            await getattr(ya, call)(*args)
            reached.append("after")
        except Exception:  # noqa: BLE001  the point: a blind except must not catch it
            reached.append("except Exception")
        reached.append("after try")
    assert reached == []
    meta = _meta(exp_dir)
    assert meta["status"] == status
    if message is not None:
        assert meta["error_message"] == message


async def test_end_calls_as_methods() -> None:
    """``await exp.fail(...)`` on an async context is the coroutine of yanex.aio."""
    async with ya.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        assert await exp.get_status() == "running"
        await exp.fail("method")
    assert _meta(exp_dir)["error_message"] == "method"


async def test_end_calls_need_context() -> None:
    """The end calls outside an experiment raise ExperimentContextError."""
    with pytest.raises(ExperimentContextError):
        await ya.completed()


async def test_create_context_resumes() -> None:
    """``async with create_context(id)`` resumes a finished experiment and continues its steps."""
    async with ya.create_experiment(Path("t.py"), config={"k": 1}) as exp:
        await ya.log_metrics({"a": 1})
        exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
    async with ya.create_context(exp_id) as again:
        assert await ya.get_status() == "running"
        assert await ya.get_params() == {"k": 1}
        await again.log_metrics({"a": 2})
    assert _meta(exp_dir)["status"] == "completed"
    assert [(e["step"], e["a"]) for e in _metrics(exp_dir)] == [(0, 1), (1, 2)]


async def test_concurrent_tasks_keep_their_own_experiment() -> None:
    """Concurrent tasks each see and log into the experiment of their own ``async with``."""
    seen: dict[int, tuple[str, list[str | None]]] = {}

    async def worker(n: int) -> None:
        async with ya.create_experiment(Path(f"w{n}.py")) as exp:
            ids = []
            for i in range(20):
                await ya.log_metrics({"n": n, "i": i})
                ids.append(await ya.get_experiment_id())
                await anyio.lowlevel.checkpoint()
            seen[n] = (exp.experiment_id, ids)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(worker, n)
    for n, (exp_id, ids) in seen.items():
        assert set(ids) == {exp_id}
        entries = store.read_metrics(store.require_dir(exp_id))
        assert [(e["n"], e["i"]) for e in entries] == [(n, i) for i in range(20)]


async def test_tasks_share_an_experiment() -> None:
    """Tasks started inside one ``async with`` all log into it without losing a step."""
    async with ya.create_experiment(Path("t.py")) as exp:

        async def worker(n: int) -> None:
            for i in range(50):
                await ya.log_metrics({"n": n, "i": i})

        async with anyio.create_task_group() as tg:
            for n in range(4):
                tg.start_soon(worker, n)
        exp_dir = exp.experiment_dir
    assert sorted(e["step"] for e in _metrics(exp_dir)) == list(range(200))
