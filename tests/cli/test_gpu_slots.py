"""GPU slots, through the CLI and ``import yanex``: each running experiment gets its own
``CUDA_VISIBLE_DEVICES`` from the sweep's free slots (recorded in its metadata), -j follows
the slots, and bad --gpus / -j values are refused before anything starts. No GPU needed:
the environment variable is what a script sees."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import yanex
from tests.support.cli import run_cli, write_script
from tests.support.run import experiments, store_is_empty

# Records what it saw and when: CUDA_VISIBLE_DEVICES, start and end times.
RECORDER = """\
import json, os, pathlib, sys, time, yanex
start = time.time()
time.sleep(0.4)
seen = {"cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time()}
out = pathlib.Path(sys.argv[1]) / (yanex.get_experiment_id() + ".json")
out.write_text(json.dumps(seen))
"""


def _seen(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def _check_no_shared_slot(seen: dict[str, dict]) -> None:
    for a, b in itertools.combinations(seen.values(), 2):
        overlap = a["start"] < b["end"] and b["start"] < a["end"]
        if overlap:
            assert not set(a["cuda"].split(",")) & set(b["cuda"].split(",")), (a, b)


def test_overlapping_experiments_never_share_a_slot(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """A 4-member `-j 2 --gpus 0,1` sweep: each experiment sees one slot, no two that ran at
    the same time saw the same one, two did run at the same time, and each one's metadata
    records the slot it saw."""
    write_script(work_dir / "rec.py", RECORDER)
    (work_dir / "seen").mkdir()
    res = run_cli("run", "rec.py", "seen", "-p", "i=range(4)", "-j", "2", "--gpus", "0,1")
    assert res.returncode == 0, res.stderr
    seen = _seen(work_dir / "seen")
    assert len(seen) == 4 and {s["cuda"] for s in seen.values()} <= {"0", "1"}
    _check_no_shared_slot(seen)
    pairs = itertools.combinations(seen.values(), 2)
    assert any(a["start"] < b["end"] and b["start"] < a["end"] for a, b in pairs)
    for meta in experiments(store_dir):
        assert meta["gpus"] == [int(seen[meta["id"]]["cuda"])]


def test_gpus_per_run_and_default_parallelism(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """--gpus 0,1,2,3 --gpus-per-run 2 without -j: two at a time, each with two slots of
    its own."""
    write_script(work_dir / "rec.py", RECORDER)
    (work_dir / "seen").mkdir()
    res = run_cli("run", "rec.py", "seen", "-p", "i=range(4)", "--gpus", "0,1,2,3",
                  "--gpus-per-run", "2")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2 at a time" in res.stderr
    seen = _seen(work_dir / "seen")
    assert all(len(s["cuda"].split(",")) == 2 for s in seen.values())
    _check_no_shared_slot(seen)


def test_gpus_auto_reads_cuda_visible_devices(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """--gpus auto takes the slots from CUDA_VISIBLE_DEVICES."""
    write_script(work_dir / "rec.py", RECORDER)
    (work_dir / "seen").mkdir()
    res = run_cli("run", "rec.py", "seen", "--gpus", "auto", env={"CUDA_VISIBLE_DEVICES": "5,7"})
    assert res.returncode == 0, res.stderr
    assert [s["cuda"] for s in _seen(work_dir / "seen").values()] == ["5"]


@pytest.mark.parametrize(
    "args",
    [
        ["--gpus", "0,0"],
        ["--gpus", "0,x"],
        ["--gpus", "0,-1"],
        ["--gpus", "0,1", "-j", "3"],
        ["--gpus", "0,1", "--gpus-per-run", "3"],
        ["--gpus-per-run", "2"],
        ["--gpus", "0", "--launcher", "slurm"],
        ["--retries", "-1"],
    ],
)
def test_bad_gpu_input_is_refused_before_anything_starts(
    cli_backend: str, args: list[str], store_dir: Path, work_dir: Path
) -> None:
    """A duplicate, non-integer or negative slot, a -j or --gpus-per-run the slots cannot
    serve, --gpus-per-run alone, --gpus on Slurm, negative retries: one Error line, exit 2,
    nothing stored."""
    write_script(work_dir / "rec.py", RECORDER)
    res = run_cli("run", "rec.py", "x", "-p", "i=range(4)", *args)
    assert res.returncode == 2, res
    assert res.stderr.startswith("Error:") and len(res.stderr.strip().splitlines()) == 1, res
    assert store_is_empty(store_dir)


def test_run_multiple_hands_out_slots(store_dir: Path, work_dir: Path) -> None:
    """run_multiple(gpus=[2, 3]) runs two at a time, each experiment on a slot of its own."""
    script = write_script(work_dir / "rec.py", RECORDER)
    (work_dir / "seen").mkdir()
    specs = [yanex.ExperimentSpec(script_path=script, script_args=["seen"], config={"i": i})
             for i in range(4)]  # fmt: skip
    results = yanex.run_multiple(specs, gpus=[2, 3])
    assert [r.status for r in results] == ["completed"] * 4
    seen = _seen(work_dir / "seen")
    assert {s["cuda"] for s in seen.values()} <= {"2", "3"}
    _check_no_shared_slot(seen)
    for meta in experiments(store_dir):
        assert meta["gpus"] == [int(seen[meta["id"]]["cuda"])]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gpus": [0, 0]},
        {"gpus": [0, "1"]},
        {"gpus": [0, 1], "parallel": 3},
        {"gpus": [0], "gpus_per_run": 2},
        {"gpus_per_run": 1},
        {"retries": -1},
        {"gpus": [0], "launcher": "slurm"},
    ],
)
def test_run_multiple_refuses_bad_gpu_values(kwargs: dict, store_dir: Path, work_dir: Path) -> None:
    """Bad gpus / gpus_per_run / parallel / retries raise ValueError before anything runs."""
    script = write_script(work_dir / "rec.py", RECORDER)
    with pytest.raises(ValueError):
        yanex.run_multiple([yanex.ExperimentSpec(script_path=script)], **kwargs)
    assert store_is_empty(store_dir)


def test_resume_shares_the_sweeps_gpu_slots_again(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """The GPU slots are part of the sweep: `--resume` without `--gpus` gives the members it
    reruns slots from the same set (recorded in the sweep record and in their metadata)."""
    write_script(work_dir / "flaky.py", """\
import os, pathlib, sys, yanex
mark = pathlib.Path("failed-once")
if yanex.get_param("i") == 1 and not mark.exists():
    mark.write_text("x")
    sys.exit("first attempt fails")
pathlib.Path(f"seen-{yanex.get_experiment_id()}").write_text(os.environ["CUDA_VISIBLE_DEVICES"])
""")  # fmt: skip
    res = run_cli("run", "flaky.py", "-p", "i=range(3)", "-j", "2", "--gpus", "2,3")
    assert res.returncode == 1, res.stderr
    [record] = (store_dir / ".sweeps").glob("*.json")
    sweep = json.loads(record.read_text())
    assert sweep["gpus"] == [2, 3] and sweep["gpus_per_run"] == 1
    res = run_cli("run", "--resume", sweep["id"])
    assert res.returncode == 0, res.stderr
    [retry] = [m for m in experiments(store_dir) if m.get("retry_of")]
    seen = (work_dir / f"seen-{retry['id']}").read_text()
    assert seen in ("2", "3") and retry["gpus"] == [int(seen)]
