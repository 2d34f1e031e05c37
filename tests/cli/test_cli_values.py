"""Exact values through the CLI: no rounding where text is copied, NaN and infinities kept,
run-command that reproduces a run, params.yaml as block YAML, show's Problem section."""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import sys
from pathlib import Path

import pytest
import yaml

import yanex.results as yr
from tests.support.cli import run_cli, write_script
from tests.support.query import make, store_root

LR = 0.123456789
NONFINITE = {"nan": math.nan, "pinf": math.inf, "ninf": -math.inf}


def ok(*args: str) -> str:
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr
    return res.stdout


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


# --- no rounding ------------------------------------------------------------------------


def test_get_prints_every_format_unrounded() -> None:
    """0.123456789 stays whole in get's default, sweep, json, csv and markdown output."""
    exp = make("exact", config={"lr": LR}, metrics=[{"acc": 0.987654321012}])
    assert ok("get", "params.lr", exp, "-F", "sweep") == "0.123456789"
    assert ok("get", "params.lr", exp).strip() == "0.123456789"
    assert json.loads(ok("get", "params.lr", exp, "-F", "json"))["value"] == LR
    rows = list(csv.reader(io.StringIO(ok("get", "params.lr", "-n", "exact", "-F", "csv"))))
    assert rows == [["ID", "params.lr"], [exp, "0.123456789"]]
    assert "| 0.123456789 |" in ok("get", "params.lr", "-n", "exact", "-F", "markdown")
    assert ok("get", "metrics.acc", exp, "-F", "sweep") == "0.987654321012"


@pytest.mark.usefixtures("cli_backend")
def test_show_list_compare_machine_formats_are_exact(tmp_path: Path) -> None:
    """show/compare -F json/csv/markdown and compare --export carry the full value; the
    terminal table of compare rounds it visibly, with an ellipsis."""
    make("a", config={"lr": LR}, metrics=[{"loss": 1 / 3}])
    make("b", config={"lr": 0.5}, metrics=[{"loss": 0.25}])
    shown = json.loads(ok("show", "a", "-F", "json"))
    assert shown["params"]["lr"] == LR and shown["last_metrics"]["loss"] == 1 / 3
    assert "0.123456789" in ok("show", "a", "-F", "csv")
    assert "0.123456789" in ok("show", "a", "-F", "markdown")
    plain = ok("show", "a")
    assert "0.123456789" in plain  # the parameter list is not a table: exact
    assert "0.333333…" in plain  # the metric table rounds, visibly
    assert "0.123456789" in ok("compare", "-n", "*", "-F", "csv")
    assert "0.123456789" in ok("compare", "-n", "*", "-F", "markdown")
    items = json.loads(ok("compare", "-n", "*", "-F", "json"))
    assert {i["params"]["lr"] for i in items} == {LR, 0.5}
    out = tmp_path / "cmp.csv"
    ok("compare", "-n", "*", "--export", str(out))
    exported = list(csv.DictReader(out.open()))
    assert {r["param:lr"] for r in exported} == {"0.123456789", "0.5"}
    assert {r["metric:loss"] for r in exported} == {repr(1 / 3), "0.25"}
    table = ok("compare", "-n", "*")
    assert "0.123457…" in table and "0.333333…" in table and "0.5" in table
    listed = json.loads(ok("list", "-F", "json"))
    assert all(isinstance(e["duration"], float | None) for e in listed)


# --- NaN and infinities -----------------------------------------------------------------


SCRIPT_NONFINITE = """
import math, yanex
params = yanex.get_params()
assert math.isnan(params["nan"]) and params["pinf"] == math.inf and params["ninf"] == -math.inf
yanex.log_metrics({"nan": math.nan, "pinf": math.inf, "ninf": -math.inf, "ok": 1.5})
yanex.log_metrics({"nan": 0.5}, step=1)
"""


@pytest.mark.usefixtures("cli_backend")
def test_nan_and_infinities_survive_everywhere(work_dir: Path) -> None:
    """-p nan/inf/-inf and logged NaN/inf stay floats in config.json, params.yaml,
    metrics.json (NaN/Infinity tokens that json.loads reads), get, show -F json and the
    results API and its DataFrame."""
    script = write_script(work_dir / "nf.py", SCRIPT_NONFINITE)
    res = run_cli("run", str(script), "-p", "nan=nan", "-p", "pinf=inf", "-p", "ninf=-inf")
    assert res.returncode == 0, res.stderr + res.stdout
    exp = ok("get", "id", "--latest").strip()
    exp_dir = store_root() / exp
    config = json.loads((exp_dir / "config.json").read_text())
    assert all(same(config[k], v) for k, v in NONFINITE.items())
    assert "NaN" in (exp_dir / "config.json").read_text()
    legacy = yaml.safe_load((exp_dir / "params.yaml").read_text())
    assert all(same(legacy[k], v) for k, v in NONFINITE.items())
    metrics = json.loads((exp_dir / "metrics.json").read_text())
    assert all(same(metrics[0][k], v) for k, v in NONFINITE.items())
    for line in (exp_dir / "metrics.log.jsonl").read_text().splitlines():
        json.loads(line)  # each record stays readable by json.loads
    assert ok("get", "metrics.pinf", exp).strip() == "inf"
    assert ok("get", "params.ninf", exp, "-F", "sweep") == "-inf"
    shown = json.loads(ok("show", exp, "-F", "json"))  # NaN tokens, as json.dumps writes
    assert math.isnan(shown["params"]["nan"]) and shown["last_metrics"]["ninf"] == -math.inf
    entries = yr.get_experiment(exp).get_metrics()
    assert math.isnan(entries[0]["nan"]) and entries[0]["pinf"] == math.inf
    params = yr.get_experiment(exp).get_params()
    assert all(same(params[k], v) for k, v in NONFINITE.items())
    frame = yr.get_metrics(ids=[exp])
    values = dict(zip(frame["metric_name"], frame["value"], strict=False))
    assert values["pinf"] == math.inf and values["ninf"] == -math.inf


# --- run-command ------------------------------------------------------------------------

ECHO = """
import json, sys, yanex
print("ARGS=" + json.dumps(sys.argv[1:]))
"""

AWKWARD = [
    'a="007"',
    'b="true"',
    'c="1,2"',
    "d=0.123456789",
    "e=nan",
    'f=[1, "x y", null]',
    'g="  padded "',
    'h="nan"',
    'i="line\\nbreak\\ttab"',
    'j="list(1,2)"',
    "k=-inf",
    'l="[1]"',
    "m=null",
    'n=""',
    "o=it's",
    "p=1e-05",
    'q={"x": {"y": 2}}',
    "r=héllo wörld",
    's="$HOME `x` *"',
    "model.depth=3",
]
SCRIPT_ARGS = ["--fold", "0", "--dryrun", "it's", "$HOME", "", "a b", "--"]


@pytest.mark.usefixtures("cli_backend")
def test_run_command_reproduces_awkward_values_through_a_shell(work_dir: Path) -> None:
    """Run with awkward values and script arguments, run the printed run-command through a
    shell: the same config.json and the same script arguments (after --) come out."""
    import subprocess

    script = write_script(work_dir / "echo.py", ECHO)
    params = [x for p in AWKWARD for x in ("-p", p)]
    first = run_cli("run", str(script), *params, "--", *SCRIPT_ARGS)
    assert first.returncode == 0, first.stderr
    exp = ok("get", "id", "--latest").strip()
    command = ok("get", "run-command", exp).strip()
    assert command.startswith("yanex run ") and "\n" not in command
    argv = shlex.split(command)
    assert argv[argv.index("--") + 1 :] == SCRIPT_ARGS
    shell = f"{shlex.quote(sys.executable)} -m {command}"
    again = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    second = ok("get", "id", "--latest").strip()
    assert second != exp
    configs = [json.loads((store_root() / e / "config.json").read_text()) for e in (exp, second)]
    assert json.dumps(configs[0]) == json.dumps(configs[1])  # NaN writes as NaN both times
    assert configs[1]["a"] == "007" and configs[1]["b"] == "true" and configs[1]["c"] == "1,2"
    assert configs[1]["i"] == "line\nbreak\ttab" and configs[1]["n"] == ""
    metas = [json.loads((store_root() / e / "metadata.json").read_text()) for e in (exp, second)]
    assert metas[0]["script_args"] == metas[1]["script_args"] == SCRIPT_ARGS
    assert f"ARGS={json.dumps(SCRIPT_ARGS)}" in again.stdout


# --- params.yaml and show ---------------------------------------------------------------


def test_params_yaml_is_block_yaml_that_safe_load_reads_back() -> None:
    """params.yaml: block style (one key per line), exact under yaml.safe_load, control
    characters included."""
    config = {
        "lr": LR,
        "ctrl": "bell\x07 nul\x00 esc\x1b del\x7f",
        "multi": "a\nb",
        "model": {"layers": [64, 128], "act": "relu"},
        "flag": "yes",
        "inf": math.inf,
    }
    exp = make("yaml", config=config)
    text = (store_root() / exp / "params.yaml").read_text()
    assert "{" not in text.splitlines()[0]
    assert "model:\n  act: relu\n" in text or "model:\n  layers:" in text
    back = yaml.safe_load(text)
    assert back == config


FAIL = """
import sys
print("working")
print("careful: odd input", file=sys.stderr)
def deep():
    raise ValueError("bad value 42")
deep()
"""


@pytest.mark.usefixtures("cli_backend")
def test_show_problem_section(work_dir: Path) -> None:
    """A completed run has no Problem section; a failed one shows its error and traceback
    once, indented."""
    good = write_script(work_dir / "good.py", "print('fine')\n")
    assert run_cli("run", str(good)).returncode == 0
    shown = ok("show", ok("get", "id", "--latest").strip())
    assert "Problem" not in shown and "Exit code" not in shown
    bad = write_script(work_dir / "bad.py", FAIL)
    assert run_cli("run", str(bad)).returncode == 1
    shown = ok("show", ok("get", "id", "--latest").strip())
    assert "Problem" in shown
    assert shown.count("ValueError: bad value 42") == 1
    assert shown.count("in deep") == 1
    trace_lines = [line for line in shown.splitlines() if "raise ValueError" in line]
    assert len(trace_lines) == 1 and trace_lines[0].startswith("    ")
    assert shown.count("careful: odd input") == 1  # other stderr lines: once too


@pytest.mark.usefixtures("cli_backend")
def test_run_command_of_a_config_sweep_point_runs_that_point_only(work_dir: Path) -> None:
    """A sweep written in a config file: the run-command pins the swept value with -p."""
    import subprocess

    script = write_script(work_dir / "echo.py", ECHO)
    (work_dir / "cfg.yaml").write_text('lr: "list(0.1, 0.2)"\nbs: 8\n')
    assert run_cli("run", str(script), "-c", "cfg.yaml").returncode == 0
    before = set(ok("get", "id", "-n", "*", "-F", "sweep").split(","))
    exp = ok("get", "id", "-n", "lr=0.2").strip()
    command = ok("get", "run-command", exp).strip()
    assert "-p lr=0.2" in command
    shell = f"{shlex.quote(sys.executable)} -m {command}"
    again = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    new = set(ok("get", "id", "-n", "*", "-F", "sweep").split(",")) - before
    assert len(new) == 1
    config = json.loads((store_root() / new.pop() / "config.json").read_text())
    assert config == {"lr": 0.2, "bs": 8}


@pytest.mark.usefixtures("cli_backend")
def test_run_command_pins_parameters_from_the_environment(work_dir: Path) -> None:
    """YANEX_PARAM_* values appear as -p in run-command, which then needs no variables."""
    script = write_script(work_dir / "echo.py", ECHO)
    env = {"YANEX_PARAM_model__depth": "4", "YANEX_PARAM_tag": '"007"'}
    assert run_cli("run", str(script), "-p", "lr=0.5", env=env).returncode == 0
    command = ok("get", "run-command", ok("get", "id", "--latest").strip()).strip()
    assert shlex.split(command)[3:] == [
        "-p", "lr=0.5", "-p", "model.depth=4", "-p", 'tag="007"'
    ]  # fmt: skip
