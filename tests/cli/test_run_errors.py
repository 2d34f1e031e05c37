"""Bad input to `yanex run`: one `Error:` line on stderr, exit code 2, no traceback, and
nothing created in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli, write_script
from tests.support.run import error_lines, experiments, store_is_empty

pytestmark = pytest.mark.usefixtures("cli_backend")  # yanex run/compare: every backend

CASES = {
    "missing script file": (["run", "nope.py"], "script not found"),
    "no script at all": (["run"], "missing script"),
    "not a python file": (["run", "data.txt"], "Python file"),
    "param without =": (["run", "ok.py", "-p", "lr"], "KEY=VALUE"),
    "param with empty key": (["run", "ok.py", "-p", "=3"], "KEY=VALUE"),
    "param with empty key part": (["run", "ok.py", "-p", "a..b=3"], "empty part"),
    "malformed JSON object": (["run", "ok.py", "-p", "o={bad json}"], "JSON"),
    "unbalanced sweep": (["run", "ok.py", "-p", "lr=list(1,2"], "sweep"),
    "range with a word": (["run", "ok.py", "-p", "n=range(a)"], "sweep"),
    "range step zero": (["run", "ok.py", "-p", "n=range(1,5,0)"], "sweep"),
    "empty range": (["run", "ok.py", "-p", "n=range(5,1)"], "sweep"),
    "linspace two args": (["run", "ok.py", "-p", "x=linspace(0,1)"], "sweep"),
    "logspace zero count": (["run", "ok.py", "-p", "x=logspace(0,1,0)"], "sweep"),
    "empty list": (["run", "ok.py", "-p", "x=list()"], "sweep"),
    "missing config file": (["run", "ok.py", "-c", "missing.yaml"], "config file not found"),
    "broken yaml": (["run", "ok.py", "-c", "broken.yaml"], "cannot parse"),
    "broken json": (["run", "ok.py", "-c", "broken.json"], "cannot parse"),
    "broken toml": (["run", "ok.py", "-c", "broken.toml"], "cannot parse"),
    "config not a mapping": (["run", "ok.py", "-c", "list.yaml"], "mapping"),
    "bad sweep in config": (["run", "ok.py", "-c", "badsweep.yaml"], "sweep"),
    "bad yanex section": (["run", "ok.py", "-c", "badsection.yaml"], "yanex.tag"),
    "parallel with stage": (["run", "ok.py", "--stage", "-j", "2"], "--parallel"),
    "parallel with staged-by-config": (["run", "ok.py", "-c", "stage.yaml", "-j", "2"],
                                       "--parallel"),
    "stage with staged": (["run", "--stage", "--staged"], "--staged"),
    "staged with a param": (["run", "ok.py", "--staged", "-p", "a=1"], "--staged"),
    "mistyped option": (["run", "ok.py", "--dryrun"], "did you mean --dry-run?"),
    "huge sweep": (["run", "ok.py", "-p", "a=range(1e9)"], "--max-experiments"),
    "negative parallel": (["run", "ok.py", "-j", "-1"], "--parallel"),
    "zero timeout": (["run", "ok.py", "--timeout", "0"], "--timeout"),
    "unknown clone source": (["run", "ok.py", "--clone-from", "ffffffff"], "clone-from"),
    "bad environment parameter": (["run", "ok.py"], "sweep"),
    "bad kill grace": (["run", "ok.py"], "YANEX_KILL_GRACE"),
}
ENV = {
    "bad environment parameter": {"YANEX_PARAM_x": "range(z)"},
    "bad kill grace": {"YANEX_KILL_GRACE": "soon"},
}


@pytest.fixture
def inputs(work_dir: Path) -> Path:
    write_script(work_dir / "ok.py", "print('ran')\n")
    (work_dir / "data.txt").write_text("x")
    (work_dir / "broken.yaml").write_text("a: [1, 2\nb: }\n")
    (work_dir / "broken.json").write_text('{"a": 1,,}')
    (work_dir / "broken.toml").write_text("a = = 1\n")
    (work_dir / "list.yaml").write_text("- 1\n- 2\n")
    (work_dir / "badsweep.yaml").write_text('lr: "linspace(1, 2)"\n')
    (work_dir / "badsection.yaml").write_text("yanex:\n  tag: {a: 1}\n")
    (work_dir / "stage.yaml").write_text("yanex:\n  stage: true\n")
    return work_dir


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_error_line_exit_2_nothing_created(
    case: str, inputs: Path, store_dir: Path
) -> None:
    """Each kind of bad input gives exactly one `Error: ...` line and exit code 2, and
    writes nothing to the store."""
    args, expected = CASES[case]
    res = run_cli(*args, env=ENV.get(case))
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = error_lines(res.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert expected in lines[0]
    assert "Traceback" not in res.stderr and "ran" not in res.stdout
    assert store_is_empty(store_dir)


def test_bad_input_leaves_existing_experiments_untouched(inputs: Path, store_dir: Path) -> None:
    """A rejected command does not change experiments already in the store."""
    assert run_cli("run", "ok.py", "-n", "kept").returncode == 0
    before = experiments(store_dir)
    assert run_cli("run", "ok.py", "-p", "bad").returncode == 2
    assert experiments(store_dir) == before


def test_unusable_store_is_one_error_line(inputs: Path, work_dir: Path) -> None:
    """A store path that cannot be created gives one `Error:` line and exit 1, no traceback."""
    blocker = work_dir / "not-a-dir"
    blocker.write_text("")
    res = run_cli("run", "ok.py", env={"YANEX_EXPERIMENTS_DIR": str(blocker / "store")})
    assert res.returncode == 1, res.stderr
    lines = error_lines(res.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert "ran" not in res.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "train.py", "-j", "abc"), "'abc' is not a valid integer"),
        (("frobnicate",), "No such command 'frobnicate'"),
        (("run", "train.py", "--timeout"), "requires an argument"),
    ],
)
def test_click_usage_errors_are_one_line(work_dir, store_dir, args, needle) -> None:
    """Option and command mistakes caught by the parser also give exactly one `Error:` line
    (pointing at --help), exit code 2, and create nothing."""
    (work_dir / "train.py").write_text("pass\n")
    res = run_cli(*args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("Error: "), res.stderr
    assert needle in res.stderr and "--help" in res.stderr
    assert not store_dir.exists() or not any(store_dir.iterdir())
