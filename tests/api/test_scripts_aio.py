"""yanex.aio.execute_bash_script on asyncio, uvloop and trio: results, timeout, cancellation."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import anyio
import pytest

import yanex.aio
from tests.support.batch import alive
from yanex.errors import ExperimentContextError


async def _wait_for(path: Path, timeout: float = 10) -> str:
    with anyio.fail_after(timeout):
        while not path.exists() or not path.read_text().strip():
            await anyio.sleep(0.02)
    return path.read_text().strip()


@pytest.mark.anyio
async def test_awaited_call_returns_result_and_logs_run(store_dir: Path) -> None:
    """Awaiting the call returns the documented dict and records the run in the experiment."""
    async with yanex.aio.create_experiment(Path("train.py"), config={"k": 2}) as exp:
        exp_id = exp.experiment_id
        result = await yanex.aio.execute_bash_script(
            "echo $YANEX_PARAM_k; echo e >&2", stream_output=False
        )
    assert (result["exit_code"], result["stdout"], result["stderr"]) == (0, "2\n", "e\n")
    assert result["working_directory"] == str(store_dir / exp_id)
    runs = json.loads((store_dir / exp_id / "script_runs.json").read_text())
    assert [r["command"] for r in runs] == ["echo $YANEX_PARAM_k; echo e >&2"]


@pytest.mark.anyio
async def test_bound_coroutine_on_async_context(store_dir: Path) -> None:
    """``await exp.execute_bash_script(...)`` inside ``async with`` runs in that experiment."""
    async with yanex.aio.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        result = await exp.execute_bash_script("echo $YANEX_EXPERIMENT_ID", stream_output=False)
    assert result["stdout"].strip() == exp_id


@pytest.mark.anyio
async def test_timeout_raises_timeout_expired() -> None:
    """A command outliving its timeout raises subprocess.TimeoutExpired promptly."""
    async with yanex.aio.create_experiment(Path("train.py")):
        start = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            await yanex.aio.execute_bash_script("sleep 30", timeout=0.3, stream_output=False)
    assert time.monotonic() - start < 5


@pytest.mark.anyio
async def test_cancelling_stops_the_process_group_and_logs_it(store_dir: Path) -> None:
    """Cancelling the awaiting task stops the shell and its background child, and the run
    is logged as cancelled."""
    command = "sleep 30 & echo $! > bg.pid; echo $$ > sh.pid; sleep 30"
    async with yanex.aio.create_experiment(Path("train.py")) as exp:
        exp_dir = exp.experiment_dir
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(yanex.aio.execute_bash_script, command, None, False, False)
                bg = int(await _wait_for(exp_dir / "bg.pid"))
                sh = int(await _wait_for(exp_dir / "sh.pid"))
                scope.cancel()
    assert scope.cancelled_caught
    await anyio.sleep(0.05)
    assert not alive(bg) and not alive(sh)
    run = json.loads((exp_dir / "script_runs.json").read_text())[0]
    assert "cancelled" in run["error"]


@pytest.mark.anyio
async def test_concurrent_calls_keep_their_own_output(store_dir: Path) -> None:
    """Two commands awaited at once in one experiment each get their own output back."""
    results: dict[str, dict] = {}

    async def run(tag: str) -> None:
        command = f"for i in $(seq 1 2000); do echo {tag}$i; done"
        results[tag] = await yanex.aio.execute_bash_script(command, stream_output=False)

    async with yanex.aio.create_experiment(Path("train.py")) as exp:
        exp_dir = exp.experiment_dir
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "a")
            tg.start_soon(run, "b")
    for tag in ("a", "b"):
        assert results[tag]["stdout"] == "".join(f"{tag}{i}\n" for i in range(1, 2001))
    assert len(json.loads((exp_dir / "script_runs.json").read_text())) == 2


@pytest.mark.anyio
async def test_outside_an_experiment_raises() -> None:
    """Without an experiment the async call raises ExperimentContextError."""
    with pytest.raises(ExperimentContextError):
        await yanex.aio.execute_bash_script("true")
