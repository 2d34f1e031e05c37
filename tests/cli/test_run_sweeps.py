"""Sweeps through the real CLI: every sweep syntax, cartesian products, names, config-file
sweeps, sequential and -j N execution with prefixed output, staging, summary, exit codes."""

from __future__ import annotations

import itertools
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli, write_script
from tests.support.run import config, experiments, store_is_empty

PARAMS = "import json, yanex\nprint(json.dumps(yanex.get_params()))\n"


def _dry(*args: str) -> list[dict]:
    res = run_cli("run", "p.py", "--dry-run", *args)
    assert res.returncode == 0, res.stderr
    return [json.loads(line.split("params: ", 1)[1]) for line in res.stdout.splitlines()
            if "params: " in line]


@pytest.mark.usefixtures("cli_backend")
def test_sweep_syntaxes_expand_to_the_documented_values(work_dir: Path) -> None:
    """list(), comma lists, range(), linspace() and logspace() give the documented values."""
    write_script(work_dir / "p.py", PARAMS)
    cases = {
        "list(16, 32, 64)": [16, 32, 64],
        "adam, sgd,rmsprop,": ["adam", "sgd", "rmsprop"],
        "range(3)": [0, 1, 2],
        "range(5,10)": [5, 6, 7, 8, 9],
        "range(4,8,2)": [4, 6],
        "range(0.1, 0.4, 0.1)": [0.1, 0.2, 0.3],
        "linspace(10,100,5)": [10.0, 32.5, 55.0, 77.5, 100.0],
        "logspace(-4,-1,4)": [0.0001, 0.001, 0.01, 0.1],
        "list([1,2], [3])": [[1, 2], [3]],
    }
    for expr, values in cases.items():
        assert [p["x"] for p in _dry("-p", f"x={expr}")] == values, expr


@pytest.mark.usefixtures("cli_backend")
def test_cartesian_product_of_cli_and_config_sweeps(work_dir: Path) -> None:
    """Sweeps from a config file and from --param combine into their cartesian product."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "grid.yaml").write_text(
        'lr: "list(0.1, 0.01)"\nmodel:\n  act: "relu,gelu"\nepochs: 3\nnote: "one, two"\n'
        "plain: hello\n"
    )
    points = _dry("-c", "grid.yaml", "-p", "bs=range(2)")
    assert len(points) == 2 * 2 * 2 * 2
    combos = {(p["lr"], p["model"]["act"], p["bs"], p["note"]) for p in points}
    assert len(combos) == 16
    assert all(p["epochs"] == 3 and p["plain"] == "hello" for p in points)
    assert len(_dry("-c", "grid.yaml", "-p", "lr=0.5", "-p", "note=x")) == 2  # CLI replaces sweeps


@pytest.mark.usefixtures("cli_backend")
def test_sweep_runs_sequentially_by_default_with_named_experiments(
    store_dir: Path, work_dir: Path
) -> None:
    """A sweep without -j runs one experiment at a time; each name says its values; a summary
    table lists them all and the exit code is 0."""
    write_script(work_dir / "p.py", PARAMS + "import time\ntime.sleep(0.05)\n")
    res = run_cli("run", "p.py", "-p", "lr=0.1,0.2", "-p", "m.d=list(1,2)", "-n", "base")
    assert res.returncode == 0, res.stderr
    metas = experiments(store_dir)
    assert {m["name"] for m in metas} == {"base-lr=0.1-m.d=1", "base-lr=0.1-m.d=2",
                                          "base-lr=0.2-m.d=1", "base-lr=0.2-m.d=2"}
    assert all(m["status"] == "completed" and "sweep" in m["tags"] for m in metas)
    assert {json.dumps(config(store_dir, m["id"]), sort_keys=True) for m in metas} == {
        json.dumps({"lr": lr, "m": {"d": d}}, sort_keys=True) for lr in (0.1, 0.2) for d in (1, 2)}
    spans = sorted((m["started_at"], m["completed_at"]) for m in metas)
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans))
    assert "Summary" in res.stdout and all(m["id"] in res.stdout for m in metas)
    assert "4 completed" in res.stdout
    unnamed = run_cli("run", "p.py", "-p", "x=1,2", "--dry-run")
    assert "x=1" in unnamed.stdout and "x=2" in unnamed.stdout


@pytest.mark.usefixtures("cli_backend")
def test_parallel_sweep_runs_n_at_a_time_with_prefixed_output(
    store_dir: Path, work_dir: Path
) -> None:
    """-j 2 runs two experiments at once (each waits to see the other start) and prefixes
    every output line with its experiment id, on every backend."""
    rendezvous = work_dir / "rv"
    rendezvous.mkdir()
    write_script(work_dir / "pair.py", f"""
import os, time, yanex
me = yanex.get_experiment_id()
open(os.path.join({str(rendezvous)!r}, me), "w").close()
deadline = time.time() + 20
while len(os.listdir({str(rendezvous)!r})) < 2 and time.time() < deadline:
    time.sleep(0.01)
print("saw", len(os.listdir({str(rendezvous)!r})))
print("second line")
""")
    start = time.monotonic()
    res = run_cli("run", "pair.py", "-p", "i=1,2", "-j", "2")
    assert time.monotonic() - start < 15
    assert res.returncode == 0, res.stderr
    metas = experiments(store_dir)
    assert len(metas) == 2
    for meta in metas:
        assert f"[{meta['id']}] saw 2" in res.stdout
        assert f"[{meta['id']}] second line" in res.stdout


@pytest.mark.usefixtures("cli_backend")
def test_parallel_zero_means_one_per_cpu(store_dir: Path, work_dir: Path) -> None:
    """-j 0 is accepted and runs the whole sweep."""
    write_script(work_dir / "p.py", PARAMS)
    res = run_cli("run", "p.py", "-p", "x=range(3)", "-j", "0")
    assert res.returncode == 0, res.stderr
    assert [m["status"] for m in experiments(store_dir)] == ["completed"] * 3


@pytest.mark.usefixtures("cli_backend")
def test_failed_experiment_in_sweep_is_a_result_and_exit_is_nonzero(
    store_dir: Path, work_dir: Path
) -> None:
    """One failing point does not stop the others; the summary shows it; exit code 1."""
    write_script(work_dir / "f.py", "import sys, yanex\nsys.exit(yanex.get_param('code'))\n")
    res = run_cli("run", "f.py", "-p", "code=0,4,0", "-j", "2")
    assert res.returncode == 1
    statuses = sorted(m["status"] for m in experiments(store_dir))
    assert statuses == ["completed", "completed", "failed"]
    assert "1 failed" in res.stdout and "2 completed" in res.stdout


@pytest.mark.usefixtures("cli_backend")
def test_stage_then_run_staged_in_parallel(store_dir: Path, work_dir: Path) -> None:
    """--stage creates staged experiments (params, script args and cli args kept);
    `yanex run --staged -j 2` runs them all; a second --staged finds nothing."""
    write_script(work_dir / "s.py", "import sys, json, yanex\n"
                 "print(json.dumps([yanex.get_params(), sys.argv[1:], yanex.get_cli_args()]))\n")
    res = run_cli("run", "s.py", "-p", "seed=range(3)", "--stage", "--extra")
    assert res.returncode == 0, res.stderr
    staged = experiments(store_dir)
    assert [m["status"] for m in staged] == ["staged"] * 3
    assert all(m["id"] in res.stdout for m in staged)
    res = run_cli("run", "--staged", "-j", "2")
    assert res.returncode == 0, res.stderr
    done = experiments(store_dir)
    assert [m["status"] for m in done] == ["completed"] * 3
    outputs = [json.loads((store_dir / m["id"] / "artifacts" / "stdout.txt").read_text())
               for m in done]
    assert sorted(o[0]["seed"] for o in outputs) == [0, 1, 2]
    assert all(o[1] == ["--extra"] and o[2]["stage"] is True for o in outputs)
    again = run_cli("run", "--staged")
    assert again.returncode == 0 and "No staged experiments" in again.stdout


@pytest.mark.usefixtures("cli_backend")
def test_stage_single_and_dry_run_of_staged(store_dir: Path, work_dir: Path) -> None:
    """A staged single experiment is listed by `--staged --dry-run` and not run by it."""
    write_script(work_dir / "p.py", PARAMS)
    assert run_cli("run", "p.py", "--stage").returncode == 0
    exp_id = experiments(store_dir)[0]["id"]
    res = run_cli("run", "--staged", "--dry-run")
    assert res.returncode == 0 and exp_id in res.stdout
    assert experiments(store_dir)[0]["status"] == "staged"


@pytest.mark.usefixtures("cli_backend")
def test_sweep_dry_run_creates_nothing(store_dir: Path, work_dir: Path) -> None:
    """A sweep's dry run writes nothing to the store."""
    write_script(work_dir / "p.py", PARAMS)
    assert len(_dry("-p", "a=range(10)", "-p", "b=1,2")) == 20
    assert store_is_empty(store_dir)


def test_terminal_sweep_shows_rich_progress_and_summary(store_dir: Path, work_dir: Path) -> None:
    """On a terminal a sweep draws a progress bar (rich) and ends with a summary table in plan
    order; child lines still appear, prefixed with their experiment ids."""
    write_script(work_dir / "p.py", "import yanex\nprint('value', yanex.get_param('x'))\n")
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen([sys.executable, "-m", "yanex", "run", "p.py", "-p", "x=range(3)",
                             "-j", "2"], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=30) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in screen and "━" in screen  # ANSI styling and a bar
    assert "3/3" in screen and "Summary" in screen
    metas = experiments(store_dir)
    for meta in metas:
        assert f"[{meta['id']}] value" in screen
    names = [line.split("│")[2].strip() for line in screen.splitlines()
             if line.count("│") >= 4 and "x=" in line]
    assert names == ["x=0", "x=1", "x=2"]
