"""yanex.run_multiple (blocking): results, tracking, parallelism, validation, nesting, output."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

import yanex
from tests.support.batch import (
    experiment_ids,
    max_overlap,
    metadata,
    record,
    spec,
)
from yanex.errors import ExperimentContextError


def _intervals(store: Path, results: list) -> list[tuple[float, float]]:
    records = [record(store, r.experiment_id) for r in results]
    return [(rec["start"], rec["end"]) for rec in records]


def test_results_follow_spec_order_and_track_each_child(store_dir: Path, work_dir: Path) -> None:
    """Results come back in spec order (not finish order), failures included, and each
    child is a tracked experiment with its config, script args, name, tags and description."""
    slow = spec(work_dir, sleep=0.4)
    slow.script_args = ["--data-exp", "abc123"]
    slow.name, slow.tags, slow.description = "slow", ["grid", "a"], "the slow one"
    failing = spec(work_dir, exit=2, say="boom")
    failing.name = "failing"
    fast = spec(work_dir)
    results = yanex.run_multiple([slow, failing, fast], parallel=3)

    assert [r.name for r in results] == ["slow", "failing", None]
    assert [r.status for r in results] == ["completed", "failed", "completed"]
    assert results[0].error_message is None and results[0].duration > 0.3
    assert "exited with code 2" in results[1].error_message
    assert "to stderr" in results[1].error_message  # the end of its stderr explains why
    assert len({r.experiment_id for r in results}) == 3
    assert experiment_ids(store_dir) == {r.experiment_id for r in results}

    meta = metadata(store_dir, results[0].experiment_id)
    assert (meta["status"], meta["name"], meta["tags"]) == ("completed", "slow", ["grid", "a"])
    assert meta["description"] == "the slow one"
    assert meta["script_args"] == ["--data-exp", "abc123"]
    seen = record(store_dir, results[0].experiment_id)
    assert seen["argv"] == ["--data-exp", "abc123"] and seen["params"] == {"sleep": 0.4}
    assert metadata(store_dir, results[1].experiment_id)["status"] == "failed"


def test_sequential_by_default_in_spec_order(store_dir: Path, work_dir: Path) -> None:
    """parallel=None runs one experiment at a time, in the order of the specs."""
    results = yanex.run_multiple([spec(work_dir, sleep=0.1, i=i) for i in range(3)])
    records = [record(store_dir, r.experiment_id) for r in results]
    assert [rec["params"]["i"] for rec in records] == [0, 1, 2]
    for before, after in itertools.pairwise(records):
        assert before["end"] <= after["start"]


def test_parallel_n_runs_at_most_n_at_once(store_dir: Path, work_dir: Path) -> None:
    """parallel=2 runs two experiments at a time, never three."""
    results = yanex.run_multiple([spec(work_dir, sleep=0.5) for _ in range(4)], parallel=2)
    intervals = _intervals(store_dir, results)
    assert max_overlap(intervals) == 2


def test_parallel_zero_uses_the_cpu_count(store_dir: Path, work_dir: Path) -> None:
    """parallel=0 runs as many experiments at once as there are CPUs."""
    cpus = len(os.sched_getaffinity(0))
    count = min(cpus + 1, 4)
    results = yanex.run_multiple([spec(work_dir, sleep=0.5) for _ in range(count)], parallel=0)
    assert {r.status for r in results} == {"completed"}
    intervals = _intervals(store_dir, results)
    assert max_overlap(intervals) == min(cpus, count)


@pytest.mark.parametrize(
    ("make", "parallel", "needle"),
    [
        (lambda d: [], None, "empty"),
        (lambda d: None, None, "list"),
        (lambda d: [spec(d), yanex.ExperimentSpec(script_path=d / "missing.py")], None, "index 1"),
        (lambda d: [yanex.ExperimentSpec(script_path=d / "notes.txt")], None, ".py"),
        (lambda d: [yanex.ExperimentSpec()], None, "script_path"),
        (lambda d: [yanex.ExperimentSpec(d / "child.py", function=print)], None, "function"),
        (lambda d: [spec(d), "train.py"], None, "not an ExperimentSpec"),
        (lambda d: [spec(d)], -1, "parallel"),
    ],
    ids=["empty", "none", "missing", "not-py", "no-path", "function", "not-spec", "neg-parallel"],
)
def test_invalid_calls_raise_value_error_before_anything_runs(
    store_dir: Path, work_dir: Path, make, parallel, needle: str
) -> None:
    """An empty or invalid list (or parallel) raises ValueError and creates no experiment."""
    (work_dir / "notes.txt").write_text("not python")
    spec(work_dir)  # the child script exists, so only the bad entry is at fault
    with pytest.raises(ValueError, match=needle):
        yanex.run_multiple(make(work_dir), parallel=parallel)
    assert experiment_ids(store_dir) == set()


def test_inside_a_yanex_run_experiment_raises_context_error(store_dir: Path, monkeypatch) -> None:
    """Called from a process that yanex run started, run_multiple raises ExperimentContextError."""
    monkeypatch.setenv("YANEX_CLI_ACTIVE", "1")
    with pytest.raises(ExperimentContextError, match="python"):
        yanex.run_multiple([yanex.ExperimentSpec(script_path=Path("missing.py"))])
    assert experiment_ids(store_dir) == set()


def test_children_cannot_nest_experiments(store_dir: Path, work_dir: Path) -> None:
    """A child of run_multiple gets ExperimentContextError from run_multiple and
    create_experiment, so nothing nests."""
    (result,) = yanex.run_multiple([spec(work_dir, nested=True)])
    assert result.status == "completed"
    nested = record(store_dir, result.experiment_id)["nested"]
    assert nested == {
        "run_multiple": "ExperimentContextError",
        "create_experiment": "ExperimentContextError",
    }
    assert experiment_ids(store_dir) == {result.experiment_id}


def test_verbose_prints_progress_summary_and_child_lines(capfd, work_dir: Path) -> None:
    """verbose=True reports each finished experiment and a summary on stderr, and shows the
    children's output tagged with their ids."""
    results = yanex.run_multiple(
        [spec(work_dir, say="hello"), spec(work_dir, exit=1)], parallel=2, verbose=True
    )
    out, err = capfd.readouterr()
    ok, bad = results
    assert f"[{ok.experiment_id}] hello" in out.splitlines()
    assert f"[{ok.experiment_id}] to stderr" in err.splitlines()
    assert f"completed {ok.experiment_id}" in err
    assert f"failed {bad.experiment_id}" in err
    assert "[1/2]" in err and "[2/2]" in err
    assert "run_multiple finished: 1 completed, 1 failed of 2" in err


def test_quiet_without_verbose_off_a_terminal(capfd, work_dir: Path) -> None:
    """Without verbose, and with stderr not a terminal, run_multiple prints nothing."""
    yanex.run_multiple([spec(work_dir, say="hello")])
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_is_shown_on_a_terminal(store_dir: Path, work_dir: Path) -> None:
    """With stderr on a terminal, progress and the summary appear without verbose."""
    import pty

    spec(work_dir)
    program = (
        "import yanex\n"
        "specs = [yanex.ExperimentSpec(script_path='child.py') for _ in range(2)]\n"
        "yanex.run_multiple(specs, parallel=2)\n"
    )
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="100", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-c", program], cwd=work_dir, env=env, stderr=slave,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "[2/2] completed" in text
    assert "run_multiple finished: 2 completed of 2" in text
