"""Ctrl-C of a script blocked in yanex.run_multiple: its children stopped, nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yanex
from tests.support.batch import alive, child_script, experiment_ids, metadata

ORCHESTRATOR = """\
import yanex
specs = [
    yanex.ExperimentSpec(script_path="child.py", config={"sleep": 60, "ignore": ["INT"]}),
    yanex.ExperimentSpec(script_path="child.py", config={"sleep": 60}),
    yanex.ExperimentSpec(script_path="child.py", config={"sleep": 60}),
]
yanex.run_multiple(specs, parallel=2)
print("not reached")
"""

BYSTANDER = """\
import sys, time, yanex
with yanex.create_experiment("bystander.py", name="bystander"):
    print(yanex.get_experiment_id(), flush=True)
    time.sleep(120)
"""


def _wait_for_pids(store: Path, skip: set[str], count: int, timeout: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = {}
        for exp_id in experiment_ids(store) - skip:
            pid_file = store / exp_id / "artifacts" / "pid.txt"
            if pid_file.exists() and pid_file.read_text():
                pids[exp_id] = int(pid_file.read_text())
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"children did not start: {experiment_ids(store)}")


def test_ctrl_c_cancels_running_children_and_touches_no_other_experiment(
    store_dir: Path, work_dir: Path
) -> None:
    """SIGINT to a script blocked in run_multiple stops its running children (escalating for
    one that ignores SIGINT), records them cancelled, starts no more, and leaves other
    experiments (finished or running elsewhere) as they were."""
    with yanex.create_experiment(Path("done.py"), name="finished") as done:
        done_id = done.experiment_id
    bystander = subprocess.Popen(
        [sys.executable, "-c", BYSTANDER], cwd=work_dir, stdout=subprocess.PIPE, text=True
    )
    try:
        bystander_id = bystander.stdout.readline().strip()
        child_script(work_dir)
        (work_dir / "orchestrate.py").write_text(ORCHESTRATOR)
        env = dict(os.environ, YANEX_KILL_GRACE="0.5")
        orchestrator = subprocess.Popen(
            [sys.executable, "orchestrate.py"], cwd=work_dir, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        pids = _wait_for_pids(store_dir, {done_id, bystander_id}, 2)
        orchestrator.send_signal(signal.SIGINT)
        out, err = orchestrator.communicate(timeout=30)

        assert orchestrator.returncode in (-signal.SIGINT, 130), err
        assert "KeyboardInterrupt" in err and "not reached" not in out
        assert experiment_ids(store_dir) == {done_id, bystander_id, *pids}  # no third child
        for exp_id, pid in pids.items():
            assert not alive(pid)
            assert metadata(store_dir, exp_id)["status"] == "cancelled"
        assert metadata(store_dir, done_id)["status"] == "completed"
        assert metadata(store_dir, bystander_id)["status"] == "running"
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
