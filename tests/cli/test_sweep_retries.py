"""--retries and --fail-fast, through the CLI and ``import yanex``: a flaky member passes on
its second retry (each attempt a new experiment linked by ``retry_of``), a cancelled one is
not retried, and fail-fast with -j 2 cancels what runs and starts nothing more."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import yanex
from tests.support.cli import run_cli, write_script
from tests.support.run import experiments

# Member i == FLAKY fails until its counter file says it has been tried twice before.
FLAKY = """\
import pathlib, sys, yanex
i = yanex.get_params()["i"]
counter = pathlib.Path(sys.argv[1]) / f"tries-{i}"
tries = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(tries + 1))
if i == 1 and tries < 2:
    sys.exit(f"flaky failure {tries + 1}")
"""

# Member 0 fails at once; the others sleep long enough to be seen cancelled.
FIRST_FAILS = """\
import sys, time, yanex
i = yanex.get_params()["i"]
if i == 0:
    time.sleep(0.3)
    sys.exit("member 0 fails")
time.sleep(30)
"""


def _chain(metas: list[dict], index: int) -> list[dict]:
    """The attempts of member ``index``, in order, checked to be linked by retry_of."""
    attempts = [m for m in metas if m["sweep_index"] == index]
    for before, after in itertools.pairwise(attempts):
        assert after["retry_of"] == before["id"]
    return attempts


def test_flaky_member_passes_on_its_second_retry(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """--retries 2: member 1 fails twice and completes on its third attempt; the others run
    once; the run exits 0; list --sweep shows each member's latest attempt and
    --all-attempts every one."""
    write_script(work_dir / "flaky.py", FLAKY)
    res = run_cli("run", "flaky.py", str(work_dir), "-p", "i=range(3)", "--retries", "2")
    assert res.returncode == 0, res.stderr
    metas = experiments(store_dir)
    attempts = _chain(metas, 1)
    assert [m["status"] for m in attempts] == ["failed", "failed", "completed"]
    assert attempts[0]["retry_of"] is None
    assert all(len(_chain(metas, i)) == 1 for i in (0, 2))
    assert f"(retry of {attempts[0]['id']})" in res.stderr
    sweep_id = metas[0]["sweep_id"]
    latest = json.loads(run_cli("list", "-g", "--sweep", sweep_id, "-F", "json").stdout)
    assert {i["id"] for i in latest} == {m["id"] for m in metas if m["status"] == "completed"}
    every = run_cli("list", "-g", "--sweep", sweep_id, "--all-attempts", "--all", "-F", "json")
    assert len(json.loads(every.stdout)) == 5


def test_retries_stop_after_n_and_the_run_fails(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """A member that always fails is tried 1 + N times, then the run exits 1."""
    write_script(work_dir / "bad.py", "import sys\nsys.exit(4)\n")
    res = run_cli("run", "bad.py", "--retries", "1")
    assert res.returncode == 1, res.stderr
    assert [m["status"] for m in _chain(experiments(store_dir), 0)] == ["failed", "failed"]


def test_a_cancelled_member_is_not_retried(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """A script that cancels itself (yanex.cancel) ends cancelled and is not tried again."""
    write_script(work_dir / "c.py", "import yanex\nyanex.cancel('not today')\n")
    res = run_cli("run", "c.py", "--retries", "3")
    assert [m["status"] for m in experiments(store_dir)] == ["cancelled"], res.stderr


def test_run_multiple_retries_a_flaky_spec(store_dir: Path, work_dir: Path) -> None:
    """run_multiple(retries=2): the flaky spec's result is its third, completed attempt."""
    script = write_script(work_dir / "flaky.py", FLAKY)
    specs = [
        yanex.ExperimentSpec(script_path=script, config={"i": i}, script_args=[str(work_dir)])
        for i in range(3)
    ]
    results = yanex.run_multiple(specs, parallel=2, retries=2)
    assert [r.status for r in results] == ["completed"] * 3
    attempts = _chain(experiments(store_dir), 1)
    assert [m["status"] for m in attempts] == ["failed", "failed", "completed"]
    assert results[1].experiment_id == attempts[-1]["id"]


def test_fail_fast_with_two_workers_cancels_the_rest(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """--fail-fast -j 2: member 0 fails, member 1 (running) is cancelled at once, members
    2-5 never start; the run exits 1 and says how to resume."""
    write_script(work_dir / "ff.py", FIRST_FAILS)
    start = time.monotonic()
    res = run_cli("run", "ff.py", "-p", "i=range(6)", "-j", "2", "--fail-fast")
    assert time.monotonic() - start < 20
    assert res.returncode == 1, res.stderr
    by_index = {m["sweep_index"]: m["status"] for m in experiments(store_dir)}
    assert by_index == {0: "failed", 1: "cancelled"}
    assert "4 not started" in res.stdout
    assert "fail-fast" in res.stderr and "--resume" in res.stderr


def test_run_multiple_fail_fast_returns_every_spec(store_dir: Path, work_dir: Path) -> None:
    """run_multiple(fail_fast=True, parallel=2) raises nothing: the failed spec reads
    failed, the running one cancelled, the ones never started cancelled with no id."""
    script = write_script(work_dir / "ff.py", FIRST_FAILS)
    specs = [yanex.ExperimentSpec(script_path=script, config={"i": i}) for i in range(5)]
    start = time.monotonic()
    results = yanex.run_multiple(specs, parallel=2, fail_fast=True)
    assert time.monotonic() - start < 20
    assert [r.status for r in results] == ["failed"] + ["cancelled"] * 4
    assert results[1].experiment_id and not any(r.experiment_id for r in results[2:])
    assert len(experiments(store_dir)) == 2
