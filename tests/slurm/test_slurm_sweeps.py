"""Sweeps on the Slurm launcher (a real single-node Slurm, ``make slurm-up``): retries by
rounds of job arrays, fail-fast scancelling the rest, --resume submitting what a sweep left,
run_multiple(retries=) through Slurm, and --gpus refused there. Skips without a cluster."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import yanex
from tests.slurm.test_slurm import REASON, meta, no_jobs_left, wait_for
from tests.support.cli import run_cli, write_script
from tests.support.run import experiments

pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
    pytest.mark.timeout(240),
]

# Member i == 0 fails on its first try (a counter file in the shared working directory).
FLAKY = """\
import pathlib, sys, yanex
i = yanex.get_params()["i"]
counter = pathlib.Path(f"tries-{i}")
tries = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(tries + 1))
if i == 0 and tries == 0:
    sys.exit("first try fails")
"""

# Member 0 fails at once; the others wait long enough to be cancelled.
FIRST_FAILS = """\
import sys, time, yanex
if yanex.get_params()["i"] == 0:
    sys.exit("member 0 fails")
time.sleep(300)
"""

# Member 1 fails until the file ``fixed`` exists.
FAILS_UNTIL_FIXED = """\
import pathlib, sys, yanex
if yanex.get_params()["i"] == 1 and not pathlib.Path("fixed").exists():
    sys.exit("not fixed yet")
"""


def test_retries_go_by_rounds_of_job_arrays(work_dir: Path, store_dir: Path) -> None:
    """--retries 1 on Slurm: member 0 fails, is submitted again as a new experiment naming
    the failed one, and completes; the run exits 0; every attempt is in the sweep and
    ran on Slurm."""
    write_script(work_dir / "flaky.py", FLAKY)
    res = run_cli("run", "flaky.py", "-p", "i=0,1", "--launcher", "slurm", "--retries", "1")
    assert res.returncode == 0, res.stderr
    metas = experiments(store_dir)
    first = [m for m in metas if m["sweep_index"] == 0]
    assert [m["status"] for m in first] == ["failed", "completed"]
    assert first[1]["retry_of"] == first[0]["id"]
    assert len({m["sweep_id"] for m in metas}) == 1
    assert all(m["launcher"] == "slurm" and m["slurm"]["job_id"] for m in metas)


def test_fail_fast_scancels_the_rest(work_dir: Path, store_dir: Path) -> None:
    """--fail-fast -j 1 on Slurm: member 0 fails, the member running after it and the one
    still queued are cancelled at once; exit 1, no job left."""
    write_script(work_dir / "ff.py", FIRST_FAILS)
    start = time.monotonic()
    res = run_cli("run", "ff.py", "-p", "i=0,1,2", "-j", "1", "--launcher", "slurm",
                  "--fail-fast")  # fmt: skip
    assert time.monotonic() - start < 90
    assert res.returncode == 1, res.stderr
    by_index = {m["sweep_index"]: m["status"] for m in experiments(store_dir)}
    assert by_index == {0: "failed", 1: "cancelled", 2: "cancelled"}
    assert "fail-fast" in res.stderr
    wait_for(no_jobs_left, 20)


def test_resume_submits_what_the_sweep_left(work_dir: Path, store_dir: Path) -> None:
    """A Slurm sweep whose member 1 failed, resumed once the cause is fixed: only member 1
    runs again, on Slurm, as a new experiment with retry_of; then nothing is left."""
    write_script(work_dir / "fix.py", FAILS_UNTIL_FIXED)
    first = run_cli("run", "fix.py", "-p", "i=0,1,2", "--launcher", "slurm")
    assert first.returncode == 1, first.stderr
    before = experiments(store_dir)
    sweep_id = before[0]["sweep_id"]
    (work_dir / "fixed").touch()
    res = run_cli("run", "--resume", sweep_id)
    assert res.returncode == 0, res.stderr
    new = [m for m in experiments(store_dir) if m["id"] not in {b["id"] for b in before}]
    assert len(new) == 1 and new[0]["sweep_index"] == 1
    failed = next(b for b in before if b["sweep_index"] == 1)
    assert new[0]["retry_of"] == failed["id"] and new[0]["launcher"] == "slurm"
    assert meta(store_dir, new[0]["id"])["status"] == "completed"
    again = run_cli("run", "--resume", sweep_id)
    assert again.returncode == 0 and "nothing left to run" in again.stdout
    listed = json.loads(run_cli("list", "-g", "--sweep", sweep_id, "-F", "json").stdout)
    assert sorted(i["status"] for i in listed) == ["completed"] * 3


def test_run_multiple_retries_through_slurm(work_dir: Path, store_dir: Path) -> None:
    """run_multiple(launcher="slurm", retries=1): the flaky spec's result is its completed
    second attempt, in the same sweep."""
    script = write_script(work_dir / "flaky.py", FLAKY)
    specs = [yanex.ExperimentSpec(script_path=script, config={"i": i}) for i in range(2)]
    results = yanex.run_multiple(specs, launcher="slurm", retries=1)
    assert [r.status for r in results] == ["completed", "completed"]
    attempts = [m for m in experiments(store_dir) if m["sweep_index"] == 0]
    assert [m["status"] for m in attempts] == ["failed", "completed"]
    assert results[0].experiment_id == attempts[1]["id"]
    assert results[0].sweep_id == attempts[0]["sweep_id"]


def test_gpus_are_refused_on_slurm(work_dir: Path, store_dir: Path) -> None:
    """--gpus with --launcher slurm: Slurm assigns GPUs there; the error says how."""
    write_script(work_dir / "p.py", "pass\n")
    res = run_cli("run", "p.py", "--launcher", "slurm", "--gpus", "0")
    assert res.returncode == 2 and "gpus_per_node" in res.stderr
    assert experiments(store_dir) == []
