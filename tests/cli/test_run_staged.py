"""``yanex run --id ID`` and ``yanex run SCRIPT --staged``: which staged experiments run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli, write_script
from tests.support.query import store_root

pytestmark = pytest.mark.usefixtures("cli_backend")  # yanex run/compare: every backend


def status(exp: str) -> str:
    return str(json.loads((store_root() / exp / "metadata.json").read_text())["status"])


def stage(script: Path, *args: str) -> list[str]:
    res = run_cli("run", str(script), "--stage", *args)
    assert res.returncode == 0, res.stderr
    return [line.split()[0] for line in res.stdout.splitlines()[1:-1]]


def scripts(work_dir: Path) -> tuple[Path, Path]:
    a = write_script(work_dir / "a.py", "import yanex\nprint('A', yanex.get_param('x'))\n")
    b = write_script(work_dir / "b.py", "print('B')\n")
    return a, b


def test_run_id_runs_that_staged_experiment_only(work_dir: Path) -> None:
    a, b = scripts(work_dir)
    first, second = stage(a, "-p", "x=1,2")
    (other,) = stage(b)
    res = run_cli("run", "--id", second)
    assert res.returncode == 0, res.stderr
    assert "A 2" in res.stdout and "A 1" not in res.stdout
    assert [status(e) for e in (first, second, other)] == ["staged", "completed", "staged"]
    res = run_cli("run", "--id", first[:5], "--id", other)  # a prefix works; repeatable
    assert res.returncode == 0, res.stderr
    assert [status(e) for e in (first, second, other)] == ["completed"] * 3


def test_run_id_refuses_what_is_not_staged(work_dir: Path) -> None:
    a, _b = scripts(work_dir)
    (exp,) = stage(a, "-p", "x=1")
    assert run_cli("run", "--id", exp).returncode == 0
    res = run_cli("run", "--id", exp)
    assert res.returncode == 2 and "is completed, not staged" in res.stderr
    res = run_cli("run", "--id", "nosuchname")
    assert res.returncode == 2 and res.stderr.startswith("Error: --id nosuchname")
    res = run_cli("run", str(a), "--id", exp)
    assert res.returncode == 2 and "--id runs a staged experiment" in res.stderr
    res = run_cli("run", "--id", exp, "-p", "x=3")
    assert res.returncode == 2 and "drop --param" in res.stderr


def test_script_staged_runs_that_scripts_staged_experiments(work_dir: Path) -> None:
    a, b = scripts(work_dir)
    a_ids = stage(a, "-p", "x=1,2")
    (b_id,) = stage(b)
    dry = run_cli("run", str(b), "--staged", "--dry-run")
    assert dry.returncode == 0 and b_id in dry.stdout and a_ids[0] not in dry.stdout
    res = run_cli("run", str(b), "--staged")
    assert res.returncode == 0, res.stderr
    assert status(b_id) == "completed" and all(status(e) == "staged" for e in a_ids)
    res = run_cli("run", "a.py", "--staged")  # a bare file name works too
    assert res.returncode == 0, res.stderr
    assert all(status(e) == "completed" for e in a_ids)
    res = run_cli("run", str(b), "--staged")
    assert res.returncode == 0 and "No staged experiments" in res.stdout
