"""``yanex get``: every documented field, multi-experiment formats, head/tail, follow, lineage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.query import (
    assert_error,
    copy_061_store,
    make,
    mark_running,
    patch,
    store_root,
    write_output,
)


def get(*args: str) -> str:
    res = run_cli("get", *args)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_every_documented_field_of_the_published_store() -> None:
    """Each field of commands/get.md reads the right value from a 0.6.1 experiment."""
    copy_061_store()
    exp = "27a219f5"
    expected = {
        "id": exp,
        "name": "fixture-run",
        "status": "completed",
        "description": "desc",
        "project": "fx",
        "tags": "t1",
        "script_path": "/tmp/fx/train.py",
        "created_at": "2026-11-27T15:48:59.280465",
        "started_at": "2026-11-27T15:48:59.402422",
        "completed_at": "2026-11-27T15:48:59.666477",
        "params": "lr, model.layers",
        "params.lr": "0.01",
        "params.model.layers": "3",
        "metrics": "loss, acc, extra",
        "metrics.acc": "0.7",
        "stdout": "hello from train",
        "cli-command": "yanex run train.py -p lr=0.01 -p model.layers=3 -n fixture-run "
        "-d desc -t t1",
        "run-command": "yanex run train.py -p lr=0.01 -p model.layers=3 -n fixture-run "
        "-d desc -t t1",
        "experiment-dir": str(store_root() / exp),
        "artifacts-dir": str(store_root() / exp / "artifacts"),
        "git.branch": "master",
        "git.commit_hash": "e95fdf981b8049521c0731ab89cafb4064eda1c0",
        "git.dirty": "true",
        "environment.python.version": "3.11.7",
        "environment.system.hostname": "vm",
        "dependencies": "",
    }
    outputs = {field: get(field, exp) for field in expected}
    for field, value in expected.items():
        assert outputs[field].rstrip("\n") == value, field
    artifacts = get("artifacts", exp).splitlines()
    assert artifacts[1] == str(store_root() / exp / "artifacts" / "result.json")
    assert get("error_message", "170aea7b").strip() == "Script exited with code 3"
    assert get("stderr", exp).strip() == ""


def test_missing_value_prints_default() -> None:
    """A field the experiment lacks prints [not_found] (or --default)."""
    exp = make("x")
    assert get("params.nothing", exp).strip() == "[not_found]"
    assert get("metrics.acc", exp, "--default", "NA").strip() == "NA"
    assert get("cli-command", exp).strip() == "[not_found]"


def test_multi_experiment_formats() -> None:
    """With filters: 'id: value' lines, json list, csv, markdown, and sweep with no newline."""
    a = make("a", config={"lr": 0.1})
    b = make("b", config={"lr": 0.2})
    make("c", config={"lr": 0.3}, status="failed")
    lines = get("params.lr", "-s", "completed").splitlines()
    assert sorted(lines) == sorted([f"{a}: 0.1", f"{b}: 0.2"])
    data = json.loads(get("params.lr", "-s", "completed", "-F", "json"))
    assert {d["id"]: d["value"] for d in data} == {a: 0.1, b: 0.2}
    csv_out = get("params.lr", "-s", "completed", "-F", "csv").splitlines()
    assert csv_out[0] == "ID,params.lr" and sorted(csv_out[1:]) == sorted([f"{a},0.1", f"{b},0.2"])
    md = get("status", "-s", "completed", "-F", "markdown").splitlines()
    assert md[0] == "| ID | status |" and md[1] == "| --- | --- |"
    sweep = get("id", "-s", "completed", "-F", "sweep")
    assert not sweep.endswith("\n") and set(sweep.split(",")) == {a, b}
    assert get("id", "-n", "a").strip() == a
    single = json.loads(get("status", a, "-F", "json"))
    assert single == {"id": a, "value": "completed"}


def test_head_and_tail_of_output() -> None:
    """--head/--tail give the first/last lines, both together with '...' between."""
    exp = make("out")
    write_output(exp, "stdout", "".join(f"l{i}\n" for i in range(100)))
    assert get("stdout", exp, "--tail", "2").split() == ["l98", "l99"]
    assert get("stdout", exp, "--head", "2").split() == ["l0", "l1"]
    assert get("stdout", exp, "--head", "1", "--tail", "1").split() == ["l0", "...", "l99"]
    assert len(get("stdout", exp).split()) == 100


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bogus"], ["unknown field 'bogus'"]),
        (["status", "--tail", "3"], ["--tail"]),
        (["stdout", "-F", "csv"], ["csv"]),
        (["status", "-F", "xml"], ["unknown format"]),
        (["status"], ["give an experiment"]),
        (["stdout", "--head", "0"], ["positive"]),
    ],
)
def test_bad_input_exit_2(args: list[str], words: list[str]) -> None:
    """Unknown fields and misused options give one Error line and exit 2."""
    exp = make("x")
    full = [*args[:1], exp, *args[1:]] if args != ["status"] else args
    assert_error(run_cli("get", *full), 2, *words)


def test_unknown_experiment_exit_1() -> None:
    """An unknown experiment gives one Error line and exit 1 (end to end: a real process)."""
    make("x")
    assert_error(run_cli_subprocess("get", "status", "deadbeef"), 1, "deadbeef")


# Ctrl+C must reach the child even when this test runs where SIGINT is ignored (a
# background job), so the child puts Python's own handler back before running yanex.
FOLLOW = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = ['yanex', *sys.argv[1:]]; runpy.run_module('yanex', run_name='__main__')"
)


def _following(exp: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", FOLLOW, "get", "stdout", exp, "--follow", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_follow_streams_until_the_experiment_ends() -> None:
    """--follow prints new output as it is written and stops when the experiment ends."""
    exp = make("live")
    write_output(exp, "stdout", "first\n")
    mark_running(exp, os.getpid())
    proc = _following(exp, "--tail", "1")
    assert proc.stdout is not None and proc.stdout.readline() == "first\n"  # it is following
    with open(store_root() / exp / "artifacts" / "stdout.txt", "a") as fh:
        fh.write("second\n")
    time.sleep(0.6)
    patch(exp, status="completed")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == "second\n"
    assert "[experiment completed]" in err


def test_follow_stops_cleanly_on_ctrl_c() -> None:
    """Ctrl+C (SIGINT) ends --follow with exit 0 and no traceback."""
    exp = make("live")
    write_output(exp, "stdout", "ready\n")
    mark_running(exp, os.getpid())
    proc = _following(exp)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # it is following
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped following" in err and "Traceback" not in err


def test_follow_on_finished_experiment_prints_and_returns() -> None:
    """--follow on an experiment that already ended prints its output and exits."""
    exp = make("done")
    write_output(exp, "stdout", "all\n")
    res = run_cli("get", "stdout", exp, "-f")
    assert res.returncode == 0 and res.stdout == "all\n"


def _pipeline() -> tuple[str, str, str, str]:
    prep = make("prep", script="prep.py")
    train = make("train", script="train.py", depends_on=[f"data={prep}"])
    evaluate = make("eval", script="eval.py", depends_on=[f"model={train}"])
    lone = make("lone")
    return prep, train, evaluate, lone


def test_lineage_fields() -> None:
    """upstream/downstream/lineage draw the dependency graph; sweep gives the other ids."""
    prep, train, evaluate, lone = _pipeline()
    up = get("upstream", evaluate)
    assert f"• <data> {prep} prep (prep.py) ✓" in up
    assert f"└─• <model> {train} train (train.py) ✓" in up
    assert f"└─• <*> {evaluate} eval (eval.py) ✓" in up
    assert get("upstream", evaluate, "-F", "sweep") == f"{prep},{train}"
    assert get("downstream", prep, "-F", "sweep") == f"{train},{evaluate}"
    assert get("upstream", evaluate, "--depth", "1", "-F", "sweep") == train
    data = json.loads(get("lineage", train, "-F", "json"))
    assert data["targets"] == [train]
    assert {n["id"] for n in data["nodes"]} == {prep, train, evaluate}
    assert {(e["from"], e["to"], e["slot"]) for e in data["edges"]} == {
        (prep, train, "data"),
        (train, evaluate, "model"),
    }
    assert get("lineage", train, "-F", "csv").splitlines()[0] == "from,to,slot"
    assert lone not in get("lineage", train)
    assert get("dependencies", evaluate).strip() == f"model={train}"
