"""Resource usage of experiments: the supervisor's samples of each child's process tree
(resources.jsonl), the summary in metadata.json, and where show, list and yanex.results
report them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

import yanex
import yanex.aio
import yanex.results as yr
from tests.support.cli import run_cli, run_cli_subprocess, write_script
from yanex._core import measure, resources

# Touches every page of 200 MB (so it is resident), holds it a moment, then exits.
ALLOC = """\
import time
block = bytearray(200 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(float(__import__("sys").argv[1]) if len(__import__("sys").argv) > 1 else 0.6)
"""

# The CPU work is done by a grandchild: the tree, not just the child, is accounted.
BUSY = """\
import subprocess, sys
code = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.6: pass"
subprocess.run([sys.executable, "-c", code], check=True)
"""


def _meta(store: Path, exp_id: str) -> dict[str, Any]:
    return json.loads((store / exp_id / "metadata.json").read_text())


def _samples(store: Path, exp_id: str) -> list[dict[str, Any]]:
    text = (store / exp_id / "resources.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _only_id(store: Path) -> str:
    (exp_dir,) = [d for d in store.iterdir() if (d / "metadata.json").is_file()]
    return exp_dir.name


@pytest.mark.parametrize("backend", ["asyncio", "uvloop", "trio"])
def test_yanex_run_records_a_200_mb_peak_and_every_reader_shows_it(
    backend: str, store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script holding 200 MB shows a peak RSS of at least 200 MB in metadata.json, in
    samples taken while it ran, in show, in list -F json and in yanex.results (yanex run
    on each event loop)."""
    monkeypatch.setenv("YANEX_ASYNC_BACKEND", backend)
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0.1")
    write_script(work_dir / "alloc.py", ALLOC)
    result = run_cli("run", "alloc.py")
    assert result.returncode == 0, result.stderr
    exp_id = _only_id(store_dir)
    usage = _meta(store_dir, exp_id)["resources"]
    assert usage["peak_rss_mb"] >= 200
    assert usage["cpu_seconds"] > 0 and usage["gpu_mem_peak_mb"] is None
    samples = _samples(store_dir, exp_id)
    assert samples[-1]["final"] is True and samples[-1]["peak_rss_mb"] == usage["peak_rss_mb"]
    running = [s for s in samples if not s.get("final")]
    assert running and max(s["rss_mb"] for s in running) >= 200
    assert all(s["processes"] >= 1 and s["time"] > 0 for s in running)

    shown = run_cli("show", exp_id)
    assert shown.returncode == 0, shown.stderr
    assert "Resources" in shown.stdout
    line = next(x for x in shown.stdout.splitlines() if "Peak memory (RSS):" in x)
    assert float(line.split(":")[1].split()[0].replace(",", "")) >= 200
    listed = run_cli("list", "-F", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["resources"] == usage

    exp = yr.get_experiment(exp_id)
    assert exp.resources == usage and exp.to_dict()["resources"] == usage
    assert exp.get_resource_samples() == samples
    frame = yr.compare()
    assert frame.loc[exp_id, ("resources", "peak_rss_mb")] == usage["peak_rss_mb"]


@pytest.mark.anyio
async def test_run_multiple_records_the_peak_of_each_experiment(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_multiple samples each of its experiments: two running side by side each show
    their own 200 MB peak (not the sum of both)."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0.1")
    script = write_script(work_dir / "alloc.py", ALLOC)
    specs = [yanex.ExperimentSpec(script_path=script, config={"i": i}) for i in range(2)]
    results = await yanex.aio.run_multiple(specs, parallel=2)
    assert [r.status for r in results] == ["completed", "completed"]
    for r in results:
        usage = _meta(store_dir, r.experiment_id)["resources"]
        assert 200 <= usage["peak_rss_mb"] < 400
        assert any(not s.get("final") for s in _samples(store_dir, r.experiment_id))


def test_cpu_seconds_count_the_whole_process_tree(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CPU time of a grandchild's busy loop (0.6 s) is in cpu_seconds, and the samples
    saw the tree's two processes."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0.1")
    script = write_script(work_dir / "busy.py", BUSY)
    (result,) = yanex.run_multiple([yanex.ExperimentSpec(script_path=script)])
    assert result.status == "completed"
    usage = _meta(store_dir, result.experiment_id)["resources"]
    assert usage["cpu_seconds"] > 0.3
    samples = _samples(store_dir, result.experiment_id)
    assert max(s.get("processes", 0) for s in samples) >= 2


def test_a_peak_between_samples_is_taken_from_the_reaped_child(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no samples while it runs (interval 0), a script that allocates 200 MB and exits
    still records its peak and CPU time: the spawner's wait4 account of the child."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0")
    script = write_script(work_dir / "alloc.py", ALLOC)
    spec = yanex.ExperimentSpec(script_path=script, script_args=["0"])
    (result,) = yanex.run_multiple([spec])
    assert result.status == "completed"
    usage = _meta(store_dir, result.experiment_id)["resources"]
    assert usage["peak_rss_mb"] >= 200 and usage["cpu_seconds"] > 0
    (final,) = _samples(store_dir, result.experiment_id)
    assert final["final"] is True and final["peak_rss_mb"] == usage["peak_rss_mb"]


def test_a_failed_experiment_has_its_resources_too(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that fails after allocating still gets its resources summary."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0")
    script = write_script(
        work_dir / "fail.py", ALLOC.replace("time.sleep", "raise SystemExit(3) #")
    )
    (result,) = yanex.run_multiple([yanex.ExperimentSpec(script_path=script)])
    assert result.status == "failed"
    assert _meta(store_dir, result.experiment_id)["resources"]["peak_rss_mb"] >= 200


@pytest.mark.anyio
async def test_a_cancelled_experiment_keeps_the_account_of_its_reaped_child(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling run_multiple while its script holds 200 MB (no samples taken) records the
    experiment cancelled, with the peak the kernel counted for the stopped child."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0")
    monkeypatch.setenv("YANEX_KILL_GRACE", "0.5")
    held = ALLOC.replace("time.sleep", "open('ready', 'w').close(); time.sleep")
    script = write_script(work_dir / "hold.py", held)
    spec = yanex.ExperimentSpec(script_path=script, script_args=["60"])
    async with anyio.create_task_group() as tg:
        tg.start_soon(yanex.aio.run_multiple, [spec])
        with anyio.fail_after(30):
            while not (work_dir / "ready").exists():
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    exp_id = _only_id(store_dir)
    meta = _meta(store_dir, exp_id)
    assert meta["status"] == "cancelled"
    assert meta["resources"]["peak_rss_mb"] >= 200


@pytest.mark.anyio
async def test_a_running_experiment_shows_its_resources_so_far(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While it runs, the heartbeat puts the figures so far into metadata.json, and show
    labels them as such."""
    from yanex._core import lifecycle

    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0.1")
    monkeypatch.setattr(lifecycle, "HEARTBEAT_INTERVAL", 0.3)
    waits = "import os\nwhile not os.path.exists('go'):\n    time.sleep(0.05)\n"
    script = write_script(work_dir / "hold.py", ALLOC.replace("time.sleep(", waits + "(", 1))
    async with anyio.create_task_group() as tg:
        tg.start_soon(yanex.aio.run_multiple, [yanex.ExperimentSpec(script_path=script)])
        with anyio.fail_after(30):
            while True:
                await anyio.sleep(0.1)
                ids = [d.name for d in store_dir.iterdir() if (d / "metadata.json").is_file()]
                meta = _meta(store_dir, ids[0]) if ids else {}
                if (meta.get("resources") or {}).get("peak_rss_mb", 0) >= 200:
                    break
        assert meta["status"] == "running"
        # in its own process: run_cli would close this process's spawner, and the child
        shown = await anyio.to_thread.run_sync(run_cli_subprocess, "show", ids[0])
        assert "Resources (so far)" in shown.stdout
        (work_dir / "go").touch()
    assert _meta(store_dir, ids[0])["status"] == "completed"


@pytest.mark.anyio
async def test_a_sampler_that_fails_never_fails_the_experiment(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that refuses the samples (a full disk) and a sampler that raises lose lines,
    not experiments: both complete, with their summary in metadata.json."""
    import errno

    from yanex._store import store

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    real_sample = resources.sample
    calls = []

    def broken(watches: list[resources.Watch]) -> None:
        calls.append(len(watches))
        if len(calls) % 2:
            raise RuntimeError("psutil went wrong")
        real_sample(watches)

    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0.1")
    monkeypatch.setattr(store, "append_resource_sample", full)
    monkeypatch.setattr(resources, "sample", broken)
    script = write_script(work_dir / "alloc.py", ALLOC)
    (result,) = await yanex.aio.run_multiple([yanex.ExperimentSpec(script_path=script)])
    assert result.status == "completed" and len(calls) >= 2
    assert not (store_dir / result.experiment_id / "resources.jsonl").exists()
    assert _meta(store_dir, result.experiment_id)["resources"]["peak_rss_mb"] >= 200


@pytest.mark.parametrize("value", ["-1", "soon", "inf"])
def test_a_bad_interval_is_refused_before_anything_runs(
    value: str, store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A YANEX_RESOURCE_INTERVAL that is not a number of seconds: one Error line, exit 2,
    nothing stored."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", value)
    write_script(work_dir / "ok.py", "pass\n")
    result = run_cli("run", "ok.py")
    assert result.returncode == 2
    assert result.stderr.startswith("Error:") and "YANEX_RESOURCE_INTERVAL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not store_dir.exists() or not any(store_dir.iterdir())


def test_run_multiple_refuses_a_bad_interval_before_anything_runs(
    store_dir: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_multiple with a bad YANEX_RESOURCE_INTERVAL raises ValueError, nothing stored."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "-2")
    script = write_script(work_dir / "ok.py", "pass\n")
    with pytest.raises(ValueError, match="YANEX_RESOURCE_INTERVAL"):
        yanex.run_multiple([yanex.ExperimentSpec(script_path=script)])
    assert not store_dir.exists() or not any(store_dir.iterdir())


# --- the sampler itself --------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_leader_samples_every_watched_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first experiment's task samples all of them in one batch; when it ends, another
    takes over; the others never sample on their own."""
    batches: list[list[Path]] = []
    monkeypatch.setattr(resources, "sample", lambda ws: batches.append([w.exp_dir for w in ws]))
    monitor = resources.Monitor()
    watches = [resources.Watch(tmp_path / name, every=0.05) for name in "abc"]
    async with anyio.create_task_group() as outer:
        scopes = []
        for watch in watches:
            scope = anyio.CancelScope()
            scopes.append(scope)

            async def follow(w: resources.Watch = watch, s: anyio.CancelScope = scope) -> None:
                with s:
                    await monitor.follow(w)

            outer.start_soon(follow)
            await anyio.sleep(0.01)
        await anyio.sleep(0.3)
        scopes[0].cancel()  # the leader's experiment ends
        count = len(batches)
        await anyio.sleep(0.3)
        outer.cancel_scope.cancel()
    all_three = [w.exp_dir for w in watches]
    # Until the last one has joined (later on a loaded machine), a batch holds those so far.
    joined = next(i for i, b in enumerate(batches) if b == all_three)
    assert all(b == all_three[: len(b)] for b in batches[:joined])
    assert count - joined >= 3 and all(b == all_three for b in batches[joined:count])
    after = batches[count:]
    assert after and all(b == all_three[1:] for b in after[1:])
    assert len(batches) < 2 * (0.6 / 0.05)  # one batch per tick, not one per experiment


class FakeNvml:
    """What the sampler asks of pynvml, for two GPUs: the given pid uses 512 MB on GPU 1."""

    class NVMLError(Exception):
        pass

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if index > 1:
            raise self.NVMLError("no such device")
        return index

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        used = [SimpleNamespace(pid=1, usedGpuMemory=1)]  # someone else's process
        if handle == 1:
            used.append(SimpleNamespace(pid=self.pid, usedGpuMemory=512 * 1024 * 1024))
        return used

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        return SimpleNamespace(gpu=40 + handle)


def test_gpu_memory_and_utilisation_come_from_nvml_when_it_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NVML, each sample lists the GPUs the tree uses (or its slots) with memory and
    utilisation, and the summary has gpu_mem_peak_mb; without it, gpu_mem_peak_mb is None."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        monkeypatch.setattr(measure, "_nvml_state", [measure.Nvml(FakeNvml(child.pid))])
        anywhere = resources.Watch(tmp_path, pid=child.pid)
        resources.sample([anywhere])
        slots = resources.Watch(tmp_path, resources.gpu_slots({"CUDA_VISIBLE_DEVICES": "0,7"}))
        slots.pid = child.pid
        resources.sample([slots])
    finally:
        child.kill()
        child.wait()
    first, second = (json.loads(x) for x in (tmp_path / "resources.jsonl").read_text().splitlines())
    assert first["gpus"] == [{"index": 1, "mem_mb": 512.0, "util_percent": 41.0}]
    assert second["gpus"] == [{"index": 0, "mem_mb": 0.0, "util_percent": 40.0}]  # 7: no device
    assert anywhere.summary()["gpu_mem_peak_mb"] == 512.0
    assert resources.finish(anywhere, None)["gpu_mem_peak_mb"] == 512.0
    monkeypatch.setattr(measure, "_nvml_state", [None])
    plain = resources.Watch(tmp_path, pid=os.getpid())
    resources.sample([plain])
    assert plain.summary()["gpu_mem_peak_mb"] is None and plain.samples == 1


def test_slots_are_read_from_cuda_visible_devices() -> None:
    """Numeric CUDA_VISIBLE_DEVICES lists are slots; anything else means 'whatever it uses'."""
    assert resources.gpu_slots({"CUDA_VISIBLE_DEVICES": "2, 3"}) == [2, 3]
    assert resources.gpu_slots({"CUDA_VISIBLE_DEVICES": "GPU-1a2b"}) is None
    assert resources.gpu_slots({}) is None


def test_the_sampler_costs_little(tmp_path: Path) -> None:
    """One sample of 8 experiment trees takes well under the 1%-of-a-core budget of a 2 s
    interval (20 ms); bench/bench_resources.py measures it properly."""
    children = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) for _ in range(8)
    ]
    try:
        watches = [resources.Watch(tmp_path / str(i), pid=c.pid) for i, c in enumerate(children)]
        for w in watches:
            w.exp_dir.mkdir()
        resources.sample(watches)  # psutil's import and first scan
        start = time.process_time()
        for _ in range(5):
            resources.sample(watches)
        per_tick = (time.process_time() - start) / 5
    finally:
        for c in children:
            c.kill()
            c.wait()
    assert all(w.samples == 6 for w in watches)
    assert per_tick < 0.02
