"""A CLI that does not guess: mistyped options and commands, sweep limits, get's bare value
and bare names, wildcards, --verbose, and 'no' at a prompt."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli, write_script
from tests.support.query import make, store_root

ECHO = """
import json, sys, yanex
print("ARGS=" + json.dumps(sys.argv[1:]))
"""


def experiments() -> list[str]:
    root = store_root()
    return sorted(p.name for p in root.iterdir() if len(p.name) == 8) if root.exists() else []


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        (["--dryrun"], "--dry-run"),
        (["--parm", "lr=1"], "--param"),
        (["--confg", "c.yaml"], "--config"),
        (["--nmae", "x"], "--name"),
        (["--dry_run"], "--dry-run"),
    ],
)
@pytest.mark.usefixtures("cli_backend")
def test_mistyped_run_option_is_refused_before_anything_runs(
    work_dir: Path, typo: list[str], meant: str
) -> None:
    script = write_script(work_dir / "s.py", "open('ran', 'w').write('yes')\n")
    res = run_cli("run", str(script), *typo)
    assert res.returncode == 2
    assert f"did you mean {meant}? (to pass it to the script, put it after --)" in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert experiments() == [] and not (work_dir / "ran").exists()


@pytest.mark.usefixtures("cli_backend")
def test_unknown_options_still_reach_the_script(work_dir: Path) -> None:
    """Options far from yanex's go to the script, as before; after -- everything does."""
    script = write_script(work_dir / "echo.py", ECHO)
    res = run_cli("run", str(script), "--fold", "0", "--tau", "0.5", "--lr=0.1")
    assert res.returncode == 0, res.stderr
    assert 'ARGS=["--fold", "0", "--tau", "0.5", "--lr=0.1"]' in res.stdout
    res = run_cli("run", str(script), "-p", "a=1", "--", "--dryrun", "--nmae", "x")
    assert res.returncode == 0, res.stderr
    assert 'ARGS=["--dryrun", "--nmae", "x"]' in res.stdout
    assert len(experiments()) == 2


def test_unknown_command_suggests_the_nearest() -> None:
    res = run_cli("lsit")
    assert res.returncode == 2 and "Did you mean 'list'?" in res.stderr
    res = run_cli("shwo", "abc")
    assert res.returncode == 2 and "Did you mean 'show'?" in res.stderr
    res = run_cli("frobnicate")
    assert res.returncode == 2 and "No such command 'frobnicate'" in res.stderr


# --- sweep limit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        ["lr=range(1e9)"],
        [f"p{i}=range(10)" for i in range(10)],  # a grid of 10^10 points
        ["lr=linspace(0, 1, 1000000000000)"],
    ],
)
@pytest.mark.usefixtures("cli_backend")
def test_huge_sweep_is_refused_at_once(work_dir: Path, params: list[str]) -> None:
    script = write_script(work_dir / "s.py", "pass\n")
    args = [x for p in params for x in ("-p", p)]
    start = time.monotonic()
    res = run_cli("run", str(script), *args)
    assert time.monotonic() - start < 20  # counted, never expanded
    assert res.returncode == 2, res.stderr
    assert "more than the limit" in res.stderr and "--max-experiments" in res.stderr
    assert res.stderr.startswith("Error: ") and res.stderr.count("\n") == 1
    assert experiments() == []
    res = run_cli("run", str(script), *args, "--stage")
    assert res.returncode == 2 and experiments() == []


@pytest.mark.usefixtures("cli_backend")
def test_max_experiments_overrides_the_limit(work_dir: Path) -> None:
    script = write_script(work_dir / "s.py", "pass\n")
    res = run_cli("run", str(script), "-p", "a=range(5)", "--max-experiments", "4", "--stage")
    assert res.returncode == 2 and "limit of 4" in res.stderr and experiments() == []
    res = run_cli("run", str(script), "-p", "a=range(5)", "--max-experiments", "5", "--stage")
    assert res.returncode == 0, res.stderr
    assert len(experiments()) == 5
    res = run_cli("run", str(script), "-p", "a=range(5)", "--max-experiments", "0")
    assert res.returncode == 2


# --- get ---------------------------------------------------------------------------------


def test_get_with_a_filter_matching_one_prints_the_bare_value() -> None:
    exp = make("only-one", config={"lr": 0.5})
    make("another")
    out = run_cli("get", "experiment-dir", "-n", "only-one")
    assert out.returncode == 0 and out.stdout == f"{store_root() / exp}\n"
    assert run_cli("get", "params.lr", "-n", "only-one").stdout == "0.5\n"
    both = run_cli("get", "name", "-n", "*").stdout
    assert f"{exp}: only-one" in both  # several: each value says whose it is


@pytest.mark.usefixtures("cli_backend")
def test_get_upstream_sweep_feeds_delete(work_dir: Path) -> None:
    """yanex delete $(yanex get upstream X -F sweep), as get.md shows it."""
    prep = write_script(work_dir / "prep.py", "pass\n")
    train = write_script(work_dir / "train.py", "pass\n")
    assert run_cli("run", str(prep), "-n", "p1").returncode == 0
    assert run_cli("run", str(prep), "-n", "p2").returncode == 0
    p1 = run_cli("get", "id", "-n", "p1").stdout.strip()
    p2 = run_cli("get", "id", "-n", "p2").stdout.strip()
    res = run_cli("run", str(train), "-D", f"{p1},{p2}", "-n", "t")
    assert res.returncode == 0, res.stderr
    target = run_cli("get", "id", "-n", "t").stdout.strip()
    upstream = run_cli("get", "upstream", target, "-F", "sweep").stdout
    assert sorted(upstream.split(",")) == sorted([p1, p2])
    res = run_cli("delete", "--force", upstream)  # one shell word: a,b
    assert res.returncode == 0, res.stderr
    assert experiments() == [target]


def test_get_bare_name_looks_in_params_then_metrics() -> None:
    exp = make(
        "bare", config={"lr": 0.25, "acc": "param wins"}, metrics=[{"acc": 0.9}, {"f1": 0.7}]
    )
    assert run_cli("get", "lr", exp).stdout == "0.25\n"
    assert run_cli("get", "acc", exp).stdout == "param wins\n"
    assert run_cli("get", "f1", exp).stdout == "0.7\n"
    res = run_cli("get", "stauts", exp)
    assert res.returncode == 2 and "did you mean 'status'?" in res.stderr


def test_wildcard_field_must_match() -> None:
    exp = make("wild", config={"lr": 0.1, "lr_decay": 0.5, "bs": 8}, metrics=[{"acc": 0.9}])
    res = run_cli("get", "params.lr*", exp, "-F", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["value"] == {"params.lr": 0.1, "params.lr_decay": 0.5}
    assert run_cli("get", "metrics.a*", exp).stdout == "metrics.acc=0.9\n"
    for field in ("params.zz*", "metrics.nothing?", "zz*"):
        res = run_cli("get", field, exp)
        assert res.returncode != 0 and "[not_found]" not in res.stdout
        assert "matches" in res.stderr


# --- --verbose and prompts ----------------------------------------------------------------


@pytest.mark.usefixtures("cli_backend")
def test_verbose_says_filters_and_script_arguments(work_dir: Path) -> None:
    make("v1")
    res = run_cli("--verbose", "list", "-s", "completed", "-n", "v*", "-g")
    assert res.returncode == 0
    assert "filters: status=completed name=v* all projects" in res.stderr
    script = write_script(work_dir / "echo.py", ECHO)
    res = run_cli("--verbose", "run", str(script), "--fold", "1", "--", "x y")
    assert res.returncode == 0, res.stderr
    assert "script arguments: --fold 1 'x y'" in res.stderr
    quiet = run_cli("list", "-s", "completed")
    assert "filters:" not in quiet.stderr


def test_answering_no_exits_zero_and_changes_nothing() -> None:
    exp = make("keep")
    make("keep2")
    several = ["update", "-n", "keep*", "--add-tag", "x"]  # update asks for several only
    for args in (["delete", exp], ["archive", exp], several):
        res = run_cli(*args, input="n\n")
        assert res.returncode == 0, (args, res.stderr)
        assert "Cancelled" in res.stderr
    meta = json.loads((store_root() / exp / "metadata.json").read_text())
    assert "x" not in meta["tags"]
    res = run_cli("delete", exp, input="")  # no answer at all is not a yes, nor a no
    assert res.returncode == 1 and (store_root() / exp).exists()
