"""The launcher choice and the Slurm options, checked before anything is created; these
need submitit but no cluster (``test_slurm.py`` runs the real thing)."""

from __future__ import annotations

from pathlib import Path

import pytest

import yanex
from tests.support.cli import run_cli, write_script
from yanex._launchers import choose, slurm_options
from yanex.errors import ConfigError

pytest.importorskip("submitit", reason="submitit is not installed (pip install 'yanex[slurm]')")


def test_options_are_submitits_own_with_their_types() -> None:
    table = slurm_options.table()
    for name in ("partition", "timeout_min", "cpus_per_task", "gpus_per_node", "mem_gb"):
        assert name in table
    for name in ("account", "qos", "constraint", "setup", "additional_parameters"):
        assert name in table
    assert "array_parallelism" not in table  # that is -j / parallel=
    text = {"cpus_per_task": "2", "mem_gb": "1.5", "setup": "module load x", "exclusive": "yes"}
    assert choose("slurm", text, text=True).options == {
        "cpus_per_task": 2,
        "mem_gb": 1.5,
        "setup": ["module load x"],
        "exclusive": True,
    }
    parsed = choose("slurm", {"additional_parameters": '{"hold": true}'}, text=True)
    assert parsed.options == {"additional_parameters": {"hold": True}}
    with pytest.raises(ConfigError, match="valid options: account, "):
        choose("slurm", {"partitoin": "x"})
    with pytest.raises(ConfigError, match="cpus_per_task must be an integer, not '2'"):
        choose("slurm", {"cpus_per_task": "2"})  # from Python: the value's own type
    with pytest.raises(ConfigError, match="takes no options"):
        choose("local", {"partition": "x"})
    with pytest.raises(ConfigError, match="choose one of local, slurm"):
        choose("ray", None)


def test_cli_refuses_before_creating_anything(work_dir: Path, store_dir: Path) -> None:
    write_script(work_dir / "q.py", "print('x')\n")
    cases = [
        (["--launcher", "slurm", "--launcher-opt", "nope=1"], "unknown Slurm launcher option"),
        (["--launcher", "slurm", "--launcher-opt", "mem_gb=lots"], "mem_gb must be a number"),
        (["--launcher", "slurm", "--launcher-opt", "partition"], "must be KEY=VALUE"),
        (["--launcher-opt", "partition=x"], "the local launcher takes no options"),
        (["--detach"], "--detach needs a cluster launcher"),
        (["--launcher", "k8s"], "unknown launcher 'k8s'"),
    ]
    for args, message in cases:
        res = run_cli("run", "q.py", *args)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.startswith("Error: ") and message in res.stderr, res.stderr
    assert not store_dir.exists() or not any(store_dir.iterdir())


def test_no_slurm_on_the_machine(work_dir: Path, store_dir: Path) -> None:
    """Without sbatch on PATH: exit 2, 'no Slurm here', nothing created."""
    import sys

    write_script(work_dir / "q.py", "print('x')\n")
    only_python = {"PATH": str(Path(sys.executable).parent)}
    res = run_cli("run", "q.py", "--launcher", "slurm", env=only_python)
    assert res.returncode == 2 and "no Slurm here" in res.stderr
    assert not store_dir.exists() or not any(p.name != ".slurm" for p in store_dir.iterdir())


def test_run_multiple_refuses_bad_options_before_anything(work_dir: Path, store_dir: Path) -> None:
    write_script(work_dir / "q.py", "print('x')\n")
    specs = [yanex.ExperimentSpec(script_path=Path("q.py"))]
    with pytest.raises(ValueError, match="valid options"):
        yanex.run_multiple(specs, launcher="slurm", launcher_options={"nope": 1})
    with pytest.raises(ValueError, match="nodes must be an integer"):
        yanex.run_multiple(specs, launcher="slurm", launcher_options={"nodes": "1"})
    with pytest.raises(ValueError, match="choose one of local, slurm"):
        yanex.run_multiple(specs, launcher="sge")
    assert not store_dir.exists() or not any(store_dir.iterdir())


@pytest.mark.parametrize(
    ("state", "raw", "status"),
    [
        ("OUT_OF_MEMORY", "OUT_OF_MEMORY", "failed"),
        ("NODE_FAIL", "NODE_FAIL", "failed"),
        ("PREEMPTED", "PREEMPTED", "failed"),
        ("CANCELLED", "CANCELLED by 1000", "cancelled"),
    ],
)
def test_settling_a_job_that_slurm_ended(state: str, raw: str, status: str) -> None:
    """A running Slurm experiment whose job Slurm ended (OOM, node failure, preemption,
    scancel: states the test cluster cannot all produce) is settled with Slurm's state and
    reason; one the job already recorded keeps its own ending."""
    from yanex._core import accounting, child
    from yanex._core.lifecycle import finish
    from yanex._launchers.slurm import JobState
    from yanex._models import Status
    from yanex._store import store

    _, exp_dir = child.create_record(child.ChildPlan(script=Path("t.py")))
    accounting.mark_pending(exp_dir, "77_3")
    assert store.read_metadata(exp_dir).status == "pending"
    job = JobState(state, raw, "OutOfMemory" if state == "OUT_OF_MEMORY" else "None", "n7", "0:9")
    meta = accounting.settle(exp_dir, job)
    assert meta.status == status
    assert meta.error_message is not None and meta.error_message.startswith(f"Slurm job 77_3 {raw}")
    assert meta.slurm is not None
    assert (meta.slurm["state"], meta.slurm["node"], meta.slurm["array_index"]) == (state, "n7", 3)
    _, done_dir = child.create_record(child.ChildPlan(script=Path("t.py")))
    accounting.mark_pending(done_dir, "78")
    with store.editing_metadata(done_dir) as m:
        m.status = Status.RUNNING
    finish(done_dir, Status.COMPLETED)
    assert accounting.settle(done_dir, job).status == "completed"


def test_sacct_forms_of_array_members() -> None:
    from yanex._launchers.slurm import _expand

    assert _expand("12_[2-4,7%2]") == ["12_2", "12_3", "12_4", "12_7"]
    assert _expand("12_5") == ["12_5"] and _expand("99") == ["99"]
