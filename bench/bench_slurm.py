"""The Slurm launcher on the local single-node cluster (``make slurm-up``): wall time of a
32-job noop sweep through ``yanex run --launcher slurm`` against the same job array
submitted with bare submitit, and the CPU that ``yanex run`` uses while it waits.

Targets (issue 11): yanex at most 1.2x bare submitit; waiting at most 1% of one core.
Skips (exit 0, one line) without a cluster.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import save

N = 32
PARALLEL = 2  # this machine has 2 CPUs: 2 one-CPU jobs at a time
NOOP = "import yanex\n"


def run_noop(script: str, cwd: str) -> int:
    """What a user would submit with bare submitit: the script under python -u."""
    return subprocess.run([sys.executable, "-u", script], cwd=cwd, check=False).returncode


def bare_submitit(work: Path) -> float:
    import submitit

    ex = submitit.SlurmExecutor(folder=work / "bare" / "%j", max_num_timeout=0)
    ex.update_parameters(array_parallelism=PARALLEL, time=10)
    start = time.perf_counter()
    jobs = ex.map_array(run_noop, [str(work / "noop.py")] * N, [str(work)] * N)
    codes = [job.result() for job in jobs]
    wall = time.perf_counter() - start
    assert codes == [0] * N, codes
    return wall


def through_yanex(work: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of yanex run itself)."""
    env = {**os.environ, "YANEX_EXPERIMENTS_DIR": str(work / "store")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    sweep = ["-p", f"i=range({N})", "--launcher", "slurm", "-j", str(PARALLEL)]
    res = subprocess.run(
        [sys.executable, "-m", "yanex", "run", "noop.py", *sweep],
        cwd=work,
        env=env,
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert res.returncode == 0, res.stderr.decode()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def waiting_cpu(work: Path, seconds: int = 60) -> tuple[float, float]:
    """CPU of ``yanex run`` waiting on one job that sleeps ``seconds``: (cpu s, wall s)."""
    (work / "sleep.py").write_text(f"import time\ntime.sleep({seconds})\n")
    env = {**os.environ, "YANEX_EXPERIMENTS_DIR": str(work / "store2")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "yanex", "run", "sleep.py", "--launcher", "slurm"],
        cwd=work,
        env=env,
        capture_output=True,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    if shutil.which("sinfo") is None:
        print("bench_slurm: skipped, no Slurm here (make slurm-up as root)")
        return
    work = Path(tempfile.mkdtemp(prefix="yanex-bench-slurm-"))
    try:
        (work / "noop.py").write_text(NOOP)
        bare = bare_submitit(work)
        ours, ours_cpu = through_yanex(work)
        cpu, wall = waiting_cpu(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save(
        "slurm",
        {
            "jobs": N,
            "parallel": PARALLEL,
            "bare_submitit_s": round(bare, 2),
            "yanex_s": round(ours, 2),
            "ratio": round(ours / bare, 2),
            "yanex_cpu_s_for_the_sweep": round(ours_cpu, 2),
            "waiting_cpu_s": round(cpu, 3),
            "waiting_wall_s": round(wall, 1),
            "waiting_cpu_share_of_one_core": round(cpu / wall, 4),
        },
    )


if __name__ == "__main__":
    main()
