"""Ideas with exactly one implementation: the YANEX_* names and the CPU count of ``-j 0``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import yanex
from tests.support.cli import write_script
from yanex._core import pool

PACKAGE = Path(yanex.__file__).parent
# stdlib-only modules that must not import yanex, so they repeat their one name
OWN_LITERAL = {"_context.py", "_warm.py", "sitecustomize.py"}


def test_yanex_environment_names_are_spelled_in_context_only() -> None:
    """Every ``"YANEX_..."`` literal is in ``_context`` (``_warm`` and its hook aside)."""
    found = [
        f"{path.relative_to(PACKAGE)}: {match.group(0)}"
        for path in PACKAGE.rglob("*.py")
        if path.name not in OWN_LITERAL
        for match in re.finditer(r"[\"']YANEX_[A-Z_]*[\"']", path.read_text())
    ]
    assert found == []


def test_zero_workers_means_one_per_usable_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-j 0`` and ``parallel=0`` share one count: the CPUs this process may run on."""
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert pool.worker_count(0, 100) == 3
    assert pool.worker_count(0, 2) == 2
    assert pool.worker_count(None, 100) == 1
    assert pool.worker_count(5, 100) == 5


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")
def test_j0_and_parallel0_follow_the_cpu_affinity(work_dir: Path) -> None:
    """Under ``taskset -c 0`` both ``yanex run -j 0`` and ``run_multiple(parallel=0)`` use one
    worker, whatever the machine's CPU count."""
    write_script(work_dir / "s.py", "print('hi')\n")
    pinned = ["taskset", "-c", "0", sys.executable]
    res = subprocess.run(
        [*pinned, "-m", "yanex", "run", "s.py", "-p", "x=1,2,3", "-j", "0"],
        capture_output=True, text=True, cwd=work_dir, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "running 3 experiments, 1 at a time" in res.stdout + res.stderr
    code = (
        "import yanex; from yanex._core import batch; "
        "print(batch.check([yanex.ExperimentSpec(script_path='s.py')] * 3, 0)[1])"
    )
    res = subprocess.run(
        [*pinned, "-c", code], capture_output=True, text=True, cwd=work_dir, check=False
    )
    assert res.stdout.strip() == "1", res.stderr
