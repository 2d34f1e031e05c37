"""yanex run --resume, after real interruptions: a 6-member sweep stopped by Ctrl-C (SIGINT
to yanex's process group, as a terminal sends it) or by SIGKILL of yanex, then resumed:
every member completes exactly once, each new attempt naming the one it replaces. Also:
nothing left to run, a changed script, an unknown sweep id, a member still running."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.support.cli import run_cli, write_script
from tests.support.run import experiments, start_cli, wait_for

# Members 0 and 1 end at once; the others wait (SWEEP_SLEEP seconds) until interrupted.
# Each marks its start in ready/ and its completion in done/, named by member and id.
MEMBER = """\
import os, pathlib, sys, time, yanex
i = yanex.get_params()["i"]
me = f"{i}-{yanex.get_experiment_id()}"
base = pathlib.Path(sys.argv[1])
(base / "ready" / me).touch()
if i >= 2:
    time.sleep(float(os.environ.get("SWEEP_SLEEP", "0")))
(base / "done" / me).touch()
"""


@pytest.fixture
def member(work_dir: Path) -> Path:
    for sub in ("ready", "done"):
        (work_dir / sub).mkdir()
    return write_script(work_dir / "member.py", MEMBER)


def _interrupted_sweep(work_dir: Path, stop: str) -> str:
    """Start the sweep (-j 2) in its own process group, wait until members 2 and 3 run,
    stop it with ``stop`` ("ctrl-c" or "sigkill"); the sweep id."""
    proc = start_cli("run", "member.py", str(work_dir), "-p", "i=range(6)", "-j", "2",
                     env={"SWEEP_SLEEP": "60", "YANEX_KILL_GRACE": "0.3"},
                     start_new_session=True)  # fmt: skip
    ready = work_dir / "ready"
    started = wait_for(lambda: {n.split("-")[0] for n in os.listdir(ready)} >= {"2", "3"}, 30)
    assert started, proc.communicate(timeout=10) if proc.poll() is not None else "not started"
    if stop == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.kill()
    _out, err = proc.communicate(timeout=30)
    if stop == "ctrl-c":
        assert proc.returncode == 130, err
        assert "yanex run --resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    sweep_ids = {m["sweep_id"] for m in experiments(Path(os.environ["YANEX_EXPERIMENTS_DIR"]))}
    assert len(sweep_ids) == 1
    return sweep_ids.pop()


@pytest.mark.parametrize("stop", ["ctrl-c", "sigkill"])
def test_an_interrupted_sweep_resumes_each_member_exactly_once(
    stop: str, member: Path, store_dir: Path, work_dir: Path
) -> None:
    """Interrupted while members 2 and 3 run (0 and 1 done, 4 and 5 never started), the
    resumed sweep runs members 2-5 only: afterwards each of the 6 has completed exactly
    once, the replaced attempts of 2 and 3 are named by retry_of, and resuming again says
    there is nothing left and exits 0."""
    sweep_id = _interrupted_sweep(work_dir, stop)
    before = {m["sweep_index"]: m for m in experiments(store_dir)}
    assert sorted(before) == [0, 1, 2, 3]
    res = run_cli("run", "--resume", sweep_id)
    assert res.returncode == 0, res.stderr
    done = [name.split("-")[0] for name in os.listdir(work_dir / "done")]
    assert sorted(done) == ["0", "1", "2", "3", "4", "5"]  # each member completed once
    metas = experiments(store_dir)
    completed = [m["sweep_index"] for m in metas if m["status"] == "completed"]
    assert sorted(completed) == [0, 1, 2, 3, 4, 5]
    assert all(m["sweep_id"] == sweep_id for m in metas)
    new = [m for m in metas if m["id"] not in {b["id"] for b in before.values()}]
    assert sorted(m["sweep_index"] for m in new) == [2, 3, 4, 5]
    retry_of = {m["sweep_index"]: m["retry_of"] for m in new}
    assert retry_of == {2: before[2]["id"], 3: before[3]["id"], 4: None, 5: None}
    again = run_cli("run", "--resume", sweep_id[:6])
    assert again.returncode == 0 and "nothing left to run" in again.stdout
    assert len(experiments(store_dir)) == len(metas)
    listed = json.loads(run_cli("list", "-g", "--sweep", sweep_id, "-F", "json").stdout)
    assert sorted(i["status"] for i in listed) == ["completed"] * 6


def test_resume_refuses_a_changed_script_without_force(
    member: Path, store_dir: Path, work_dir: Path
) -> None:
    """The script changed since the sweep ran: resume says so (exit 2, nothing started);
    --force resumes with the script as it is now."""
    write_script(work_dir / "fails.py", "import sys\nsys.exit(1)\n")
    assert run_cli("run", "fails.py", "-p", "i=range(2)").returncode == 1
    sweep_id = experiments(store_dir)[0]["sweep_id"]
    write_script(work_dir / "fails.py", "print('fixed')\n")
    refused = run_cli("run", "--resume", sweep_id)
    assert refused.returncode == 2
    assert refused.stderr.startswith("Error:") and "changed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert len(experiments(store_dir)) == 2
    forced = run_cli("run", "--resume", sweep_id, "--force")
    assert forced.returncode == 0, forced.stderr
    statuses = [m["status"] for m in experiments(store_dir)]
    assert statuses == ["failed", "failed", "completed", "completed"]


@pytest.mark.parametrize(
    "args",
    [["--resume", "abcdef12"], ["--resume", "zz"], ["--resume", "abcdef12", "member.py"],
     ["member.py", "--force"]],
)
def test_bad_resume_requests_are_refused(
    args: list[str], member: Path, store_dir: Path
) -> None:
    """An unknown or malformed sweep id, a script beside --resume, --force without it:
    one Error line, exit 2, nothing stored."""
    res = run_cli("run", *args)
    assert res.returncode == 2, res
    assert res.stderr.startswith("Error:") and len(res.stderr.strip().splitlines()) == 1, res
    assert experiments(store_dir) == []


def test_a_sweep_still_running_is_not_resumed(
    member: Path, store_dir: Path, work_dir: Path
) -> None:
    """While its yanex run is alive, resuming the sweep is refused (exit 2)."""
    proc = start_cli("run", "member.py", str(work_dir), "-p", "i=range(3)",
                     env={"SWEEP_SLEEP": "60", "YANEX_KILL_GRACE": "0.3"})  # fmt: skip
    try:
        assert wait_for(lambda: any(n.startswith("2-") for n in os.listdir(work_dir / "ready")),
                        30)  # fmt: skip
        sweep_id = experiments(store_dir)[0]["sweep_id"]
        res = run_cli("run", "--resume", sweep_id)
        assert res.returncode == 2 and "still running" in res.stderr, res
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_resume_after_a_reboot(member: Path, store_dir: Path, work_dir: Path) -> None:
    """A member left 'running' by a supervisor from before the machine booted (its pid now
    names a live, unrelated process: here the test itself) is recorded failed and run
    again by --resume."""
    assert run_cli("run", "member.py", str(work_dir), "-p", "i=range(2)").returncode == 0
    metas = experiments(store_dir)
    left = metas[1]
    path = store_dir / left["id"] / "metadata.json"
    raw = json.loads(path.read_text())
    raw.update(status="running", pid=os.getpid(), completed_at=None,
               started_at="2000-01-01T00:00:00Z", heartbeat_at="2000-01-01T00:00:10Z")
    path.write_text(json.dumps(raw))
    res = run_cli("run", "--resume", left["sweep_id"])
    assert res.returncode == 0, res.stderr
    after = {m["id"]: m for m in experiments(store_dir)}
    assert after[left["id"]]["status"] == "failed"
    assert "restarted" in after[left["id"]]["error_message"]
    new = [m for m in after.values() if m.get("retry_of") == left["id"]]
    assert len(new) == 1 and new[0]["status"] == "completed" and new[0]["sweep_index"] == 1


def test_resume_runs_members_where_the_sweep_ran(store_dir: Path, work_dir: Path) -> None:
    """Resumed from another directory, a sweep's members run as they did: the script as
    named (a relative path) from the sweep's working directory."""
    write_script(work_dir / "where.py", "import os, sys\nprint(os.getcwd(), sys.argv[0])\n"
                 "sys.exit(0 if os.path.exists('ok') else 1)\n")  # fmt: skip
    assert run_cli("run", "where.py").returncode == 1
    (work_dir / "ok").touch()
    elsewhere = work_dir.parent / "elsewhere"
    elsewhere.mkdir()
    res = run_cli("run", "--resume", experiments(store_dir)[0]["sweep_id"], cwd=elsewhere)
    assert res.returncode == 0, res.stderr
    last = experiments(store_dir)[-1]
    out = (store_dir / last["id"] / "artifacts" / "stdout.txt").read_text()
    assert out.split() == [str(work_dir), "where.py"]


def test_an_interrupted_staged_run_resumes_its_staged_members_themselves(
    member: Path, store_dir: Path, work_dir: Path
) -> None:
    """`yanex run --staged` stopped by Ctrl-C while member 2 runs: the resume reruns member 2
    as a new attempt and runs the staged experiments of members 3 and 4 themselves (no
    copies, none left staged)."""
    staged = run_cli("run", "member.py", str(work_dir), "-p", "i=range(5)", "--stage")
    assert staged.returncode == 0, staged.stderr
    proc = start_cli("run", "--staged", env={"SWEEP_SLEEP": "60", "YANEX_KILL_GRACE": "0.3"},
                     start_new_session=True)  # fmt: skip
    assert wait_for(lambda: any(n.startswith("2-") for n in os.listdir(work_dir / "ready")), 30)
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    before = {m["id"]: m for m in experiments(store_dir)}
    sweep_id = next(m["sweep_id"] for m in before.values() if m["status"] == "cancelled")
    assert all(m["sweep_id"] == sweep_id for m in before.values())  # staged ones joined it
    res = run_cli("run", "--resume", sweep_id)
    assert res.returncode == 0, res.stderr
    after = experiments(store_dir)
    assert len(after) == 6 and not [m for m in after if m["status"] == "staged"]
    completed = sorted(m["sweep_index"] for m in after if m["status"] == "completed")
    assert completed == [0, 1, 2, 3, 4]
    assert sorted(name.split("-")[0] for name in os.listdir(work_dir / "done")) == [
        "0", "1", "2", "3", "4"]  # fmt: skip
