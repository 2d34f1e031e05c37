"""log_metrics through ``import yanex``: the step rules, the errors, and the guarantees of the
store under threads, fork, concurrent processes and SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

import yanex
from tests.support.run import start_together
from yanex._core import lifecycle
from yanex._store import store


def _metrics(exp_dir: Path) -> list[dict]:
    return json.loads((exp_dir / "metrics.json").read_text())


def _is_utc_iso(value: str) -> bool:
    offset = datetime.fromisoformat(value).utcoffset()
    return value.endswith("Z") and offset is not None and offset.total_seconds() == 0


def test_auto_increment_from_zero() -> None:
    """Steps start at 0 and each call without a step takes the next one."""
    with yanex.create_experiment(Path("t.py")):
        exp_dir = yanex.get_experiment_dir()
        for i in range(3):
            yanex.log_metrics({"i": i})
    assert exp_dir is not None
    entries = _metrics(exp_dir)
    assert [(e["step"], e["i"]) for e in entries] == [(0, 0), (1, 1), (2, 2)]
    assert all(_is_utc_iso(e["timestamp"]) for e in entries)
    assert all("last_updated" not in e for e in entries)


def test_auto_increment_follows_highest_explicit_step() -> None:
    """After an explicit step, auto-increment continues after the highest step so far."""
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"a": 1}, step=10)
        yanex.log_metrics({"a": 2}, step=3)
        yanex.log_metrics({"a": 3})
        exp_dir = exp.experiment_dir
    assert [(e["step"], e["a"]) for e in _metrics(exp_dir)] == [(10, 1), (3, 2), (11, 3)]


def test_merge_into_existing_step() -> None:
    """The spec's example: calls on the same step merge, conflicts overwrite, other keys stay."""
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"accuracy": 0.90}, step=5)
        time.sleep(0.002)  # so last_updated is visibly later than the first timestamp
        yanex.log_metrics({"loss": 0.15}, step=5)
        yanex.log_metrics({"accuracy": 0.95}, step=5)
        exp_dir = exp.experiment_dir
        live = store.read_metrics(exp_dir)
    entries = _metrics(exp_dir)
    assert live == entries
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["step"], entry["accuracy"], entry["loss"]) == (5, 0.95, 0.15)
    assert _is_utc_iso(entry["timestamp"]) and _is_utc_iso(entry["last_updated"])
    assert datetime.fromisoformat(entry["last_updated"]) > datetime.fromisoformat(
        entry["timestamp"]
    )


def test_merge_keeps_original_timestamp() -> None:
    """Merging into a step keeps the timestamp of its first call."""
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"a": 1}, step=0)
        exp_dir = exp.experiment_dir
        first = store.read_metrics(exp_dir)[0]["timestamp"]
        time.sleep(0.002)
        yanex.log_metrics({"b": 2}, step=0)
    entry = _metrics(exp_dir)[0]
    assert entry["timestamp"] == first
    assert entry["last_updated"] != first


def test_complex_values_and_numpy_scalars() -> None:
    """Nested dicts, strings and numpy scalars are stored as plain JSON values."""
    import numpy as np

    data = {
        "model_config": {"layers": 12, "dropout": 0.1},
        "gpu": "8GB",
        "n": np.int64(3),
        "x": np.float32(0.5),
        "arr": np.arange(3),
    }
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics(data)
        exp_dir = exp.experiment_dir
    entry = _metrics(exp_dir)[0]
    assert entry["model_config"] == {"layers": 12, "dropout": 0.1}
    assert (entry["gpu"], entry["n"], entry["x"], entry["arr"]) == ("8GB", 3, 0.5, [0, 1, 2])


@pytest.mark.parametrize("step", [1.0, "3", True, [1]])
def test_non_int_step_is_type_error(step: object) -> None:
    """A step that is not an int (floats, strings, bools) raises TypeError and logs nothing."""
    with yanex.create_experiment(Path("t.py")) as exp:
        with pytest.raises(TypeError, match="step"):
            yanex.log_metrics({"a": 1}, step=step)  # type: ignore[arg-type]
        assert store.read_metrics(exp.experiment_dir) == []


@pytest.mark.parametrize("data", [[("a", 1)], "acc=1", 0.5, None])
def test_non_dict_data_is_type_error(data: object) -> None:
    """Metrics that are not a dict raise a TypeError naming the type, tracked or standalone."""
    with pytest.raises(TypeError, match="dict"):
        yanex.log_metrics(data)  # type: ignore[arg-type]
    with yanex.create_experiment(Path("t.py")), pytest.raises(TypeError, match="dict"):
        yanex.log_metrics(data)  # type: ignore[arg-type]


def test_negative_step_is_value_error() -> None:
    """A negative step is refused."""
    with yanex.create_experiment(Path("t.py")), pytest.raises(ValueError, match="negative"):
        yanex.log_metrics({"a": 1}, step=-1)


def test_standalone_log_metrics_writes_nothing(store_dir: Path, work_dir: Path) -> None:
    """Standalone, log_metrics is a no-op: no store, no files in the working directory."""
    yanex.log_metrics({"a": 1})
    yanex.log_metrics({"a": 2}, step=4)
    assert not store_dir.exists()
    assert list(work_dir.iterdir()) == []


def test_log_results_is_deprecated_alias() -> None:
    """log_results warns with DeprecationWarning and logs like log_metrics."""
    with yanex.create_experiment(Path("t.py")) as exp:
        with pytest.deprecated_call():
            yanex.log_results({"r": 1})
        with pytest.deprecated_call():
            yanex.log_results({"s": 2}, step=0)
        with pytest.deprecated_call():
            exp.log_results({"t": 3})
        exp_dir = exp.experiment_dir
    assert [(e["step"], e.get("r"), e.get("s"), e.get("t")) for e in _metrics(exp_dir)] == [
        (0, 1, 2, None),
        (1, None, None, 3),
    ]


def test_exp_log_metrics_method() -> None:
    """``with create_experiment(...) as exp: exp.log_metrics(...)`` logs into that experiment."""
    with yanex.create_experiment(Path("t.py")) as exp:
        exp.log_metrics({"accuracy": 0.95})
        exp.log_metrics({"loss": 0.1}, step=0)
        exp_dir = exp.experiment_dir
    [entry] = _metrics(exp_dir)
    assert (entry["step"], entry["accuracy"], entry["loss"]) == (0, 0.95, 0.1)
    assert "last_updated" in entry


def test_readers_see_every_step_while_running() -> None:
    """While the experiment runs, the store's reader sees each step as soon as it returns."""
    with yanex.create_experiment(Path("t.py")) as exp:
        for i in range(50):
            yanex.log_metrics({"i": i})
            last = store.read_metrics(exp.experiment_dir)[-1]
            assert (last["step"], last["i"]) == (i, i)
        assert len(store.read_metrics(exp.experiment_dir)) == 50


def test_logging_from_worker_threads() -> None:
    """Threads started inside a with-block log into it; no step is lost or duplicated."""
    n_threads, per_thread = 4, 250
    with yanex.create_experiment(Path("t.py")) as exp:

        def work(tid: int) -> None:
            for i in range(per_thread):
                yanex.log_metrics({"tid": tid, "i": i})

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        exp_dir = exp.experiment_dir
    entries = _metrics(exp_dir)
    assert sorted(e["step"] for e in entries) == list(range(n_threads * per_thread))
    assert sorted((e["tid"], e["i"]) for e in entries) == [
        (t, i) for t in range(n_threads) for i in range(per_thread)
    ]


def test_threads_with_their_own_experiments() -> None:
    """Each thread's own with-block is the current experiment of that thread only."""
    ids: dict[int, tuple[str | None, str | None]] = {}

    def work(tid: int) -> None:
        with yanex.create_experiment(Path(f"t{tid}.py")) as exp:
            for i in range(100):
                yanex.log_metrics({"tid": tid, "i": i})
            ids[tid] = (exp.experiment_id, yanex.get_experiment_id())

    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tid, (exp_id, seen) in ids.items():
        assert exp_id == seen
        entries = _metrics(Path(os.environ["YANEX_EXPERIMENTS_DIR"]) / str(exp_id))
        assert [(e["tid"], e["step"]) for e in entries] == [(tid, i) for i in range(100)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_logs_without_losing_steps() -> None:
    """A child forked inside a with-block logs into the same experiment as its parent."""
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"who": "parent", "i": -1})  # the parent's writer exists before fork
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                for i in range(200):
                    yanex.log_metrics({"who": "child", "i": i})
                code = 0
            finally:
                os._exit(code)
        for i in range(200):
            yanex.log_metrics({"who": "parent", "i": i})
        _, status = os.waitpid(pid, 0)
        exp_dir = exp.experiment_dir
    assert os.waitstatus_to_exitcode(status) == 0
    entries = _metrics(exp_dir)
    assert sorted(e["step"] for e in entries) == list(range(401))
    assert sorted(e["i"] for e in entries if e["who"] == "child") == list(range(200))
    assert sorted(e["i"] for e in entries if e["who"] == "parent") == list(range(-1, 200))
    assert json.loads((exp_dir / "metadata.json").read_text())["status"] == "completed"


JOINER = """
import sys, yanex
exp_id, wid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with yanex.create_context(exp_id):
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for i in range(n):
        yanex.log_metrics({"w": wid, "i": i})
"""


def test_two_processes_create_context_lose_no_step(work_dir: Path) -> None:
    """Two processes logging into one experiment with create_context(id) lose no step."""
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"w": -1, "i": 0})
        exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
    (work_dir / "joiner.py").write_text(JOINER)
    n = 400
    argvs = [[sys.executable, "joiner.py", exp_id, str(w), str(n)] for w in range(2)]
    procs = start_together(argvs)
    for p in procs:
        assert p.wait(timeout=60) == 0
    entries = _metrics(exp_dir)
    assert entries == store.read_metrics(exp_dir)
    assert sorted(e["step"] for e in entries) == list(range(2 * n + 1))
    assert sorted((e["w"], e["i"]) for e in entries) == [(-1, 0)] + [
        (w, i) for w in range(2) for i in range(n)
    ]
    assert json.loads((exp_dir / "metadata.json").read_text())["status"] == "completed"


KILLED = """
import sys, yanex
with yanex.create_experiment("victim.py") as exp:
    print(exp.experiment_id, flush=True)
    step = 0
    while True:
        yanex.log_metrics({"v": step, "pad": "x" * (step % 700)})
        print(step, flush=True)
        step += 1
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_keeps_every_returned_step(work_dir: Path, seed: int) -> None:
    """After kill -9 at a random moment, every step whose call returned is readable."""
    (work_dir / "victim.py").write_text(KILLED)
    proc = subprocess.Popen([sys.executable, "victim.py"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    exp_id = proc.stdout.readline().strip()
    time.sleep(random.Random(seed).uniform(0.05, 0.4))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    returned = [int(line) for line in proc.stdout.read().split()]
    proc.stdout.close()
    assert returned, "the victim logged nothing before it was killed"
    exp_dir = Path(os.environ["YANEX_EXPERIMENTS_DIR"]) / exp_id
    entries = store.read_metrics(exp_dir)
    steps = [e["step"] for e in entries]
    assert steps == list(range(len(steps)))  # readable, in order, no torn entry
    assert set(returned) <= set(steps)
    assert all(e["v"] == e["step"] for e in entries)
    meta = store.read_metadata(exp_dir)
    assert lifecycle.is_stale(meta)  # its owner is gone: read as failed
    with yanex.create_context(exp_id):  # it can be resumed, and steps continue after it
        yanex.log_metrics({"v": "resumed"})
    after = _metrics(exp_dir)
    assert after[-1]["step"] == len(steps) and after[-1]["v"] == "resumed"
    assert after[:-1] == entries
