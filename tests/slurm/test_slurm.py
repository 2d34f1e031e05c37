"""The Slurm launcher against a real single-node Slurm (``make slurm-up``): sweeps as job
arrays with params, metrics, artifacts and output; a failing member; Ctrl-C; scancel from
outside; a job over its time limit; ``--detach`` then ``yanex get status``; run_multiple
and ``yanex.aio`` through Slurm; options checked before anything is submitted.

Without a cluster (no ``sinfo``, or no idle node) every test here skips with one line. The
tests run once, under the default launch path: a Slurm job does not use the spawner.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import yanex
from tests.support.cli import run_cli, write_script


def shell(*argv: str) -> str:
    """The stdout of a Slurm command (empty when it fails)."""
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30).stdout


def _cluster_reason() -> str | None:
    if shutil.which("sinfo") is None:
        return "no Slurm here (sinfo not found): run `make slurm-up` as root"
    try:
        states = shell("sinfo", "-h", "-o", "%t").split()
    except (OSError, subprocess.TimeoutExpired):
        states = []
    if not any(s in ("idle", "mix", "alloc") for s in states):
        return "Slurm is installed but no node answers: run `make slurm-up` as root"
    return None


REASON = _cluster_reason()
YANEX = [sys.executable, "-m", "yanex"]
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
    pytest.mark.timeout(240),
]

TRAIN = """\
import sys, time, yanex
p = yanex.get_params()
print(f"hello {p['lr']}", flush=True)
print(f"warn {p['lr']}", file=sys.stderr, flush=True)
for step in range(3):
    yanex.log_metrics({"loss": p["lr"] * step})
yanex.save_artifact({"lr": p["lr"]}, "summary.json")
res = yanex.execute_bash_script("echo from-bash")
assert res["exit_code"] == 0
"""

SLOW = """\
import time, yanex
print("started", yanex.get_params(), flush=True)
time.sleep(300)
"""


def meta(store: Path, exp_id: str) -> dict[str, Any]:
    return json.loads((store / exp_id / "metadata.json").read_text())  # type: ignore[no-any-return]


def status(store: Path, exp_id: str) -> str | None:
    """The stored status, None while the record is still being written."""
    try:
        return str(meta(store, exp_id)["status"])
    except (OSError, ValueError):
        return None


def ids_in(store: Path) -> list[str]:
    if not store.is_dir():
        return []
    return sorted(p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith("."))


def no_jobs_left() -> bool:
    return shell("squeue", "-h", "-o", "%i").strip() == ""


def wait_for(check: Any, timeout: float, step: float = 0.2) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {check}")


def test_sweep_of_four_as_one_job_array(work_dir: Path, store_dir: Path) -> None:
    """Params, metrics, artifacts, execute_bash_script and output of a 4-point sweep, each
    record naming its launcher, job id, array index and node; output streamed live."""
    write_script(work_dir / "train.py", TRAIN)
    sweep = ["-p", "lr=0.1,0.2,0.3,0.4", "--launcher", "slurm", "--launcher-opt", "mem_gb=0.1"]
    res = run_cli("run", "train.py", *sweep, "-j", "2")
    assert res.returncode == 0, res.stderr
    ids = ids_in(store_dir)
    assert len(ids) == 4
    arrays, indexes = set(), set()
    for exp_id in ids:
        m = meta(store_dir, exp_id)
        lr = json.loads((store_dir / exp_id / "config.json").read_text())["lr"]
        assert m["status"] == "completed"
        assert m["launcher"] == "slurm"
        assert m["slurm"]["node"] and m["slurm"]["state"] == "COMPLETED"
        assert m["slurm"]["job_id"] == f"{m['slurm']['array_job_id']}_{m['slurm']['array_index']}"
        arrays.add(m["slurm"]["array_job_id"])
        indexes.add(m["slurm"]["array_index"])
        art = store_dir / exp_id / "artifacts"
        assert (art / "stdout.txt").read_text() == f"hello {lr}\nfrom-bash\n"
        assert (art / "stderr.txt").read_text() == f"warn {lr}\n"
        assert json.loads((art / "summary.json").read_text()) == {"lr": lr}
        metrics = json.loads((store_dir / exp_id / "metrics.json").read_text())
        assert [row["loss"] for row in metrics] == [0.0, lr, 2 * lr]
        assert f"[{exp_id}] hello {lr}" in res.stdout  # streamed, prefixed in a sweep
        assert f"[{exp_id}] warn {lr}" in res.stderr
    assert len(arrays) == 1 and indexes == {0, 1, 2, 3}  # one job array
    assert "4/4 done" in res.stderr
    listed = run_cli("list", "-g", "-s", "completed", "-F", "json")
    assert len(json.loads(listed.stdout)) == 4
    again = run_cli("get", "run-command", ids[0]).stdout
    assert "--launcher slurm --launcher-opt mem_gb=0.1" in again
    shown = run_cli("show", ids[0]).stdout
    job = meta(store_dir, ids[0])["slurm"]
    assert f"Slurm job:           {job['job_id']} COMPLETED on {job['node']}" in shown


def test_failing_member(work_dir: Path, store_dir: Path) -> None:
    """One failing member fails with its exit code and stderr; the others complete."""
    write_script(
        work_dir / "f.py",
        "import sys, yanex\nif yanex.get_param('x') == 2:\n"
        "    print('boom', file=sys.stderr); sys.exit(3)\nprint('ok')\n",
    )
    res = run_cli("run", "f.py", "-p", "x=1,2", "--launcher", "slurm")
    assert res.returncode == 1
    by_x = {}
    for exp_id in ids_in(store_dir):
        config = json.loads((store_dir / exp_id / "config.json").read_text())
        by_x[config["x"]] = meta(store_dir, exp_id)
    assert by_x[1]["status"] == "completed"
    assert by_x[2]["status"] == "failed" and by_x[2]["exit_code"] == 3
    assert "exited with code 3" in by_x[2]["error_message"] and "boom" in by_x[2]["error_message"]


def test_ctrl_c_cancels_queued_and_running_jobs(work_dir: Path, store_dir: Path) -> None:
    """SIGINT while waiting: every job (one running, two queued behind -j 1) is cancelled
    within 10 s, every experiment recorded cancelled, no script process left."""
    write_script(work_dir / "slow.py", SLOW)
    proc = subprocess.Popen(
        [*YANEX, "run", "slow.py", "-p", "x=1,2,3", "--launcher", "slurm", "-j", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: any(status(store_dir, i) == "running" for i in ids_in(store_dir)), 60)
        statuses = sorted(meta(store_dir, i)["status"] for i in ids_in(store_dir))
        assert statuses == ["pending", "pending", "running"]
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    for exp_id in ids_in(store_dir):
        m = meta(store_dir, exp_id)
        assert m["status"] == "cancelled"
        assert "CANCELLED" in m["error_message"]
    wait_for(no_jobs_left, 10)
    ps = shell("ps", "-eo", "args")
    assert "slow.py" not in ps


def _slow_job(work_dir: Path, *options: str) -> subprocess.Popen[str]:
    """``yanex run slow.py --launcher slurm OPTIONS``, started in the background."""
    write_script(work_dir / "slow.py", SLOW)
    return subprocess.Popen(
        [*YANEX, "run", "slow.py", "--launcher", "slurm", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _started(store_dir: Path) -> tuple[str, str]:
    """(experiment id, Slurm job id) of the one experiment, once its script has started."""
    exp_id = wait_for(lambda: ids_in(store_dir) and ids_in(store_dir)[0], 30)
    out_file = store_dir / exp_id / "artifacts" / "stdout.txt"
    wait_for(lambda: out_file.exists() and "started" in out_file.read_text(), 60)
    return exp_id, meta(store_dir, exp_id)["slurm"]["job_id"]


def test_scancel_from_outside_is_settled(work_dir: Path, store_dir: Path) -> None:
    """A job cancelled with scancel by someone else ends its experiment as cancelled, with
    Slurm's state, and yanex run returns."""
    proc = _slow_job(work_dir)
    try:
        exp_id, job = _started(store_dir)
        subprocess.run(["scancel", job], check=True)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    m = meta(store_dir, exp_id)
    assert m["status"] == "cancelled"
    assert m["slurm"]["state"] == "CANCELLED"
    assert f"Slurm job {job} CANCELLED" in m["error_message"]
    assert "started" in out  # its output was streamed before it was cancelled


def test_job_over_its_time_limit_fails_with_timeout(work_dir: Path, store_dir: Path) -> None:
    """A script that outlives its job's time limit: Slurm ends the job (TIMEOUT), and the
    experiment is failed with Slurm's state, not left running. The job is submitted with
    timeout_min=1 (Slurm's smallest), then its limit is lowered to 0 once it runs, so that
    Slurm's next look at limits (every 30 s) ends it instead of one a minute later."""
    proc = _slow_job(work_dir, "--launcher-opt", "timeout_min=1")
    try:
        exp_id, job = _started(store_dir)
        sacct = ["sacct", "-n", "-X", "-P", "-o", "Timelimit", "-j", job]
        assert wait_for(lambda: shell(*sacct).strip(), 10) == "00:01:00"
        subprocess.run(["scontrol", "update", f"JobId={job}", "TimeLimit=0"], check=True)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    m = meta(store_dir, exp_id)
    assert m["status"] == "failed"
    assert m["slurm"]["state"] == "TIMEOUT"
    assert "TIMEOUT" in m["error_message"]


def test_yanex_timeout_stops_the_script_and_sets_the_job_limit(
    work_dir: Path, store_dir: Path
) -> None:
    """--timeout is enforced in the job (failed, timed out) and sets the job's time limit."""
    write_script(work_dir / "slow.py", SLOW)
    res = run_cli("run", "slow.py", "--launcher", "slurm", "--timeout", "2")
    assert res.returncode == 1, res.stderr
    (exp_id,) = ids_in(store_dir)
    m = meta(store_dir, exp_id)
    assert m["status"] == "failed" and "timed out after 2 s" in m["error_message"]
    sacct = ["sacct", "-n", "-X", "-P", "-o", "Timelimit", "-j", m["slurm"]["job_id"]]
    limit = wait_for(lambda: shell(*sacct).strip(), 10)
    assert limit == "00:02:00"  # 2 s plus the grace periods and a margin, in minutes


def test_detach_then_get_status(work_dir: Path, store_dir: Path) -> None:
    """--detach prints the ids and returns at once (experiments pending or running);
    yanex get status later settles them from Slurm's accounting."""
    write_script(work_dir / "q.py", "import time\ntime.sleep(1)\nprint('done')\n")
    res = run_cli("run", "q.py", "-p", "x=1,2", "--launcher", "slurm", "--detach")
    assert res.returncode == 0, res.stderr
    ids = ids_in(store_dir)
    assert len(ids) == 2 and all(i in res.stdout for i in ids)
    assert {meta(store_dir, i)["status"] for i in ids} <= {"pending", "running", "completed"}
    for exp_id in ids:
        wait_for(lambda e=exp_id: run_cli("get", "status", e).stdout.strip() == "completed", 60)
    # a detached job killed from outside is settled by the next reader
    write_script(work_dir / "slow.py", SLOW)
    res = run_cli("run", "slow.py", "--launcher", "slurm", "--detach")
    (exp_id,) = set(ids_in(store_dir)) - set(ids)
    wait_for(lambda: status(store_dir, exp_id) == "running", 60)
    subprocess.run(["scancel", meta(store_dir, exp_id)["slurm"]["job_id"]], check=True)
    wait_for(lambda: run_cli("get", "status", exp_id).stdout.strip() == "cancelled", 30, 1)
    shown = run_cli("show", exp_id).stdout
    assert "CANCELLED" in shown


def test_pending_is_listed_as_pending(work_dir: Path, store_dir: Path) -> None:
    """A job waiting in the queue (held) is 'pending' in list and show."""
    write_script(work_dir / "q.py", "print('x')\n")
    res = run_cli(
        "run", "q.py", "--launcher", "slurm", "--detach",
        "--launcher-opt", 'additional_parameters={"hold": true}',
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (exp_id,) = ids_in(store_dir)
    try:
        assert run_cli("get", "status", exp_id).stdout.strip() == "pending"
        listed = json.loads(run_cli("list", "-s", "pending", "-F", "json").stdout)
        assert [e["id"] for e in listed] == [exp_id]
    finally:
        subprocess.run(["scancel", meta(store_dir, exp_id)["slurm"]["job_id"]], check=True)
    wait_for(lambda: run_cli("get", "status", exp_id).stdout.strip() == "cancelled", 30, 1)


def test_options_checked_before_anything_is_submitted(work_dir: Path, store_dir: Path) -> None:
    """Unknown option or wrong type: exit 2 naming the valid options; a refused submission
    (unknown partition): one Error line, exit 2, no experiment left."""
    write_script(work_dir / "q.py", "print('x')\n")
    res = run_cli("run", "q.py", "--launcher", "slurm", "--launcher-opt", "partitoin=debug")
    assert res.returncode == 2
    assert "unknown Slurm launcher option 'partitoin'" in res.stderr
    assert "partition" in res.stderr and "cpus_per_task" in res.stderr
    res = run_cli("run", "q.py", "--launcher", "slurm", "--launcher-opt", "cpus_per_task=two")
    assert res.returncode == 2 and "must be an integer" in res.stderr
    res = run_cli("run", "q.py", "--launcher", "slurm", "--launcher-opt", "partition=nope")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "Error: sbatch refused the submission: invalid partition specified: nope"
    ]
    assert ids_in(store_dir) == []
    res = run_cli("run", "q.py", "--launcher", "kubernetes")
    assert res.returncode == 2 and "local, slurm" in res.stderr


def test_launcher_from_a_config_file(work_dir: Path, store_dir: Path) -> None:
    """yanex.launcher in a config file chooses Slurm and its options."""
    (work_dir / "c.yaml").write_text(
        "lr: 0.5\nyanex:\n  launcher:\n    name: slurm\n    cpus_per_task: 1\n"
    )
    write_script(work_dir / "q.py", "import yanex\nprint(yanex.get_param('lr'))\n")
    res = run_cli("run", "q.py", "-c", "c.yaml")
    assert res.returncode == 0, res.stderr
    (exp_id,) = ids_in(store_dir)
    m = meta(store_dir, exp_id)
    assert m["launcher"] == "slurm" and m["status"] == "completed"
    assert (store_dir / exp_id / "artifacts" / "stdout.txt").read_text() == "0.5\n"
    bad = work_dir / "bad.yaml"
    bad.write_text("yanex:\n  launcher:\n    name: slurm\n    mem_gb: lots\n")
    res = run_cli("run", "q.py", "-c", "bad.yaml")
    assert res.returncode == 2 and "mem_gb must be a number" in res.stderr


def test_run_multiple_through_slurm(work_dir: Path, store_dir: Path) -> None:
    """yanex.run_multiple(..., launcher="slurm") runs the specs as one array, in order."""
    write_script(work_dir / "train.py", TRAIN)
    specs = [yanex.ExperimentSpec(script_path=Path("train.py"), config={"lr": lr}) for lr in (1, 2)]
    results = yanex.run_multiple(
        specs, parallel=2, launcher="slurm", launcher_options={"cpus_per_task": 1}
    )
    assert [r.status for r in results] == ["completed", "completed"]
    for result, lr in zip(results, (1, 2), strict=True):
        m = meta(store_dir, result.experiment_id)
        assert m["launcher"] == "slurm" and m["slurm"]["array_index"] in (0, 1)
        out = store_dir / result.experiment_id / "artifacts" / "stdout.txt"
        assert out.read_text() == f"hello {lr}\nfrom-bash\n"
    with pytest.raises(ValueError, match="valid options"):
        yanex.run_multiple(specs, launcher="slurm", launcher_options={"nope": 1})
    with pytest.raises(ValueError, match="must be an integer"):
        yanex.run_multiple(specs, launcher="slurm", launcher_options={"nodes": "1"})
    assert len(ids_in(store_dir)) == 2  # nothing created by the refused calls


@pytest.mark.parametrize("anyio_backend", [("asyncio", {})], indirect=True)
async def test_aio_run_multiple_and_as_completed_through_slurm(
    work_dir: Path, store_dir: Path, anyio_backend: Any
) -> None:
    """yanex.aio.run_multiple and as_completed with launcher="slurm"."""
    import contextlib

    import yanex.aio

    write_script(work_dir / "train.py", TRAIN)
    specs = [yanex.ExperimentSpec(script_path=Path("train.py"), config={"lr": lr}) for lr in (3, 4)]
    results = await yanex.aio.run_multiple(specs, parallel=1, launcher="slurm")
    assert [r.status for r in results] == ["completed", "completed"]
    seen = []
    gen = yanex.aio.as_completed(specs, launcher="slurm")
    async with contextlib.aclosing(gen):
        async for result in gen:
            seen.append(result.status)
    assert seen == ["completed", "completed"]
    assert len(ids_in(store_dir)) == 4


def test_dependencies_in_the_job(work_dir: Path, store_dir: Path) -> None:
    """-D works in a Slurm job: the script finds its upstream and loads its artifact."""
    prep = "import yanex\nyanex.save_artifact({'n': 41}, 'data.json')\n"
    write_script(work_dir / "prep.py", prep)
    assert run_cli("run", "prep.py", "-n", "data-v1").returncode == 0
    write_script(
        work_dir / "use.py",
        "import yanex\ndep = yanex.get_dependency('data')\n"
        "print(dep.name, yanex.load_artifact('data.json')['n'] + 1)\n",
    )
    res = run_cli("run", "use.py", "-D", "data=data-v1", "--launcher", "slurm")
    assert res.returncode == 0, res.stderr
    assert "data-v1 42" in res.stdout
