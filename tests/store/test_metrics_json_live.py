"""metrics.json holds every step as soon as each log_metrics call returns (the documented
file, read by other tools and yanex 0.6), through merges, other processes logging into the
same experiment, SIGKILLs at any moment and torn files; readers see every step."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import yanex
import yanex.results as yr
from tests.support.cli import run_cli
from tests.support.run import start_together
from yanex._store import layout, metrics


def _file(exp_dir: Path) -> list[dict[str, Any]]:
    """metrics.json as any JSON reader sees it."""
    value: list[dict[str, Any]] = json.loads((exp_dir / layout.METRICS).read_bytes())
    return value


def _settled_file(exp_dir: Path) -> list[dict[str, Any]]:
    """metrics.json read while other processes write into it: a read that overlaps a write
    in place can see it half done (as with any file written in place), so read again."""
    for _ in range(50):
        try:
            return _file(exp_dir)
        except ValueError:
            time.sleep(0.001)
    return _file(exp_dir)


def _from_log(exp_dir: Path) -> list[dict[str, Any]]:
    """What the log (the source of truth) says the metrics are."""
    data = (exp_dir / layout.METRICS_LOG).read_bytes()
    return metrics.replay(metrics.decode_log(data))


def _strip_times(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ("timestamp", "last_updated")} for e in entries]


def test_every_call_is_in_metrics_json_when_it_returns() -> None:
    """A random mix of new steps, explicit steps, merges into the last and into older
    steps, shrinking and growing entries: after every call the file is valid JSON, equal
    to the log's replay, and to a model of the documented step rules."""
    rng = random.Random(7)
    model: dict[int, dict[str, Any]] = {}
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        for i in range(400):
            kind = rng.random()
            if kind < 0.5 or not model:
                data: dict[str, Any] = {"loss": rng.random(), "i": i}
                step = None
            elif kind < 0.7:
                step = max(model)  # merge into the last entry
                data = {"extra": "y" * rng.randint(0, 40)}  # grows and shrinks it
            elif kind < 0.85:
                step = rng.choice(list(model))  # merge into any entry
                data = {"acc": rng.randint(0, 10 ** rng.randint(0, 12)), "nested": {"a": [i]}}
            else:
                step = max(model) + rng.randint(1, 3)  # explicit, skipping steps
                data = {"jump": i}
            yanex.log_metrics(data, step=step)
            s = step if step is not None else (max(model) + 1 if model else 0)
            model.setdefault(s, {}).update(data)
            model[s]["step"] = s
            on_disk = _file(exp_dir)
            assert on_disk == _from_log(exp_dir)
            assert _strip_times(on_disk) == list(model.values())
        assert "last_updated" in on_disk[0] or len(on_disk) == 1
    final = _file(exp_dir)
    assert final == _from_log(exp_dir)
    assert _strip_times(final) == list(model.values())
    text = (exp_dir / layout.METRICS).read_text()
    assert text.startswith("[\n  {\n    ") and text.rstrip().endswith("}\n]")  # 2-space JSON


def test_readers_see_every_step_running_and_finished() -> None:
    with yanex.create_experiment(Path("t.py"), name="live-reader") as exp:
        for i in range(30):
            yanex.log_metrics({"v": i})
        yanex.log_metrics({"w": 1}, step=5)
        exp_id = exp.experiment_id
        running = yr.get_experiment(exp_id).get_metrics()
        shown = json.loads(run_cli("show", exp_id, "-F", "json").stdout)["metrics"]
        assert [m["v"] for m in running] == list(range(30)) == [m["v"] for m in shown]
        assert running[5]["w"] == 1 == shown[5]["w"]
        assert _file(exp.experiment_dir) == running
    finished = yr.get_experiment(exp_id).get_metrics()
    assert finished == running == _file(exp.experiment_dir)
    got = run_cli("get", "metrics.v", exp_id)
    assert got.returncode == 0 and got.stdout.strip().endswith("29")


CHILD = """
import sys, yanex
for i in range(int(sys.argv[1])):
    yanex.log_metrics({"who": "bash-child", "i": i})
"""


def test_bash_child_logs_into_the_same_experiment(work_dir: Path) -> None:
    """A script started with execute_bash_script logs into the experiment; the parent's
    steps continue after the child's, and metrics.json holds all of them in order."""
    (work_dir / "child.py").write_text(CHILD)
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        for i in range(3):
            yanex.log_metrics({"who": "parent", "i": i})
        res = yanex.execute_bash_script(
            f"{sys.executable} {work_dir / 'child.py'} 150", stream_output=False
        )
        assert res["exit_code"] == 0, res["stderr"]
        assert [e["step"] for e in _file(exp_dir)] == list(range(153))
        yanex.log_metrics({"who": "parent", "i": 3})  # our writer follows the child's work
        yanex.log_metrics({"late": True}, step=1)  # and can still merge into old steps
        on_disk = _file(exp_dir)
        assert on_disk == _from_log(exp_dir)
        assert [e["step"] for e in on_disk] == list(range(154))
        assert on_disk[153]["who"] == "parent" and on_disk[1]["late"] is True
        assert [e["i"] for e in on_disk[3:153]] == list(range(150))


WRITER = """
import sys, yanex
exp_id, wid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with yanex.create_context(exp_id):
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        yanex.log_metrics({"w": wid, "i": i})
        if i % 7 == 0:
            yanex.log_metrics({"merged": wid}, step=i)
"""


def test_concurrent_processes_keep_metrics_json_exact(work_dir: Path) -> None:
    """Three processes (and this one) log at the same time under the lock; metrics.json
    is the log's replay at the end and every step is there once."""
    (work_dir / "writer.py").write_text(WRITER)
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
        yanex.log_metrics({"w": -1, "i": 0})
        n = 150
        argvs = [[sys.executable, "writer.py", exp_id, str(w), str(n)] for w in range(3)]
        procs = start_together(argvs)
        for i in range(n):
            yanex.log_metrics({"w": 9, "i": i})
            if i % 10 == 0:  # readers see our steps while the others write
                seen = yr.get_experiment(exp_id).get_metrics()
                assert {(9, k) for k in range(i + 1)} <= {(e.get("w"), e.get("i")) for e in seen}
                assert len(_settled_file(exp_dir)) >= i + 1
        for p in procs:
            assert p.wait(timeout=120) == 0
        on_disk = _file(exp_dir)
        assert on_disk == _from_log(exp_dir)
    final = _file(exp_dir)
    assert final == _from_log(exp_dir)
    logged = sorted((e["w"], e["i"]) for e in final if "w" in e)
    assert len(logged) == len(set(logged))
    assert {(w, i) for w in (0, 1, 2, 9) for i in range(n)} <= set(logged)


VICTIM = """
import sys, yanex
exp_id = sys.argv[1]
step = int(sys.stdin.readline())  # started ahead, it waits here for its first step
with yanex.create_context(exp_id):
    while True:
        yanex.log_metrics({"v": step, "pad": "x" * (step * 37 % 5000)})
        if step % 3 == 0:
            yanex.log_metrics({"m": step}, step=step)  # a merge into the last entry
        print(step, flush=True)
        step += 1
"""


def test_sigkill_at_any_moment_leaves_metrics_json_complete(work_dir: Path) -> None:
    """Rounds of kill -9 of a process logging into one experiment (entries of up to 5 KB,
    so writes span pages): after each kill every returned step is read back by the API
    and the CLI, and metrics.json itself then parses and holds all of them. (Each round's
    process is started during the previous round's checks and told its first step then.)"""
    (work_dir / "victim.py").write_text(VICTIM)
    exp = yanex.create_experiment(Path("victim.py"), name="victim")
    exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
    rng = random.Random(11)
    returned: set[int] = set()
    next_step = 0

    def victim() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "victim.py", exp_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    proc = victim()
    for last in [False] * 7 + [True]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{next_step}\n")
        proc.stdin.close()
        first = proc.stdout.readline()  # it is logging
        assert first.strip().isdigit()
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        lines = (first + proc.stdout.read()).split("\n")
        proc.stdout.close()
        if not last:
            proc = victim()  # its start-up overlaps the checks below
        returned |= {int(x) for x in lines[:-1] if x.strip()}  # the last may be cut short
        seen = {e["v"] for e in yr.get_experiment(exp_id).get_metrics() if "v" in e}
        assert returned <= seen
        shown = json.loads(run_cli("show", exp_id, "-F", "json").stdout)["metrics"]
        assert returned <= {e["v"] for e in shown}
        on_disk = _file(exp_dir)  # parses (repaired by the reads if a write was torn)
        assert returned <= {e["v"] for e in on_disk}
        assert [e["step"] for e in on_disk] == sorted({e["step"] for e in on_disk})
        next_step = max(e["step"] for e in on_disk) + 1
    assert len(returned) > 8


def test_torn_metrics_json_is_repaired_from_the_log() -> None:
    """A metrics.json cut in the middle of an entry (a write torn by a kill): readers use
    the log, the file is rewritten, and a writer that was idle meanwhile rebuilds it."""
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        for i in range(20):
            yanex.log_metrics({"v": i})
        path = exp_dir / layout.METRICS
        data = path.read_bytes()
        with open(path, "r+b") as fh:  # in place, as a torn pwrite leaves it
            fh.truncate(len(data) - 30)
        with pytest.raises(ValueError):
            json.loads(path.read_bytes())
        assert [e["v"] for e in yr.get_experiment(exp.experiment_id).get_metrics()] == list(
            range(20)
        )
        assert [e["v"] for e in _file(exp_dir)] == list(range(20))  # repaired by the read
        with open(path, "r+b") as fh:
            fh.truncate(len(data) - 30)
        yanex.log_metrics({"v": 20})  # the live writer notices and rebuilds
        assert [e["v"] for e in _file(exp_dir)] == list(range(21))
    assert _file(exp_dir) == _from_log(exp_dir)


def test_resumed_published_experiment_keeps_its_steps(store_dir: Path) -> None:
    """An experiment written by yanex 0.6 (metrics.json only, no log) resumed with
    create_context: its steps stay, new ones follow, and the file is complete throughout."""
    with yanex.create_experiment(Path("t.py")) as exp:
        pass
    exp_dir = exp.experiment_dir
    old = [{"step": 0, "acc": 0.5, "timestamp": "2024-01-01T00:00:00Z"}, {"note": "loose"}]
    (exp_dir / layout.METRICS).write_text(json.dumps(old, indent=4))
    (exp_dir / layout.METRICS_LOG).unlink(missing_ok=True)
    with yanex.create_context(exp.experiment_id):
        yanex.log_metrics({"acc": 0.7})
        on_disk = _file(exp_dir)
        assert on_disk[:2] == [old[1], old[0]] or on_disk[:2] == old
        assert on_disk[-1]["step"] == 1 and on_disk[-1]["acc"] == 0.7
        yanex.log_metrics({"acc": 0.9}, step=0)
        assert next(e for e in _file(exp_dir) if e.get("step") == 0)["acc"] == 0.9
    assert _file(exp_dir) == _from_log(exp_dir)


ABANDONED = """
import os, signal, yanex
from pathlib import Path
with yanex.create_experiment(Path("gone.py"), name="gone") as exp:
    print(exp.experiment_id, flush=True)
    for i in range(40):
        yanex.log_metrics({"v": i, "pad": "x" * 3000})
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_dead_run_marked_failed_gets_a_whole_metrics_json(work_dir: Path, store_dir: Path) -> None:
    """A create_experiment process killed with its metrics.json torn (as a kill in the
    middle of a multi-page write leaves it): the next `yanex list` records it failed and
    rewrites metrics.json from the log, so a plain JSON reader sees every step."""
    (work_dir / "gone.py").write_text(ABANDONED)
    res = subprocess.run(
        [sys.executable, "gone.py"], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == -signal.SIGKILL
    exp_dir = store_dir / res.stdout.strip()
    path = exp_dir / layout.METRICS
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size - 2000)  # torn in the middle of the last entry
    listed = run_cli("list", "-g", "-F", "json")
    assert listed.returncode == 0, listed.stderr
    assert [e["status"] for e in json.loads(listed.stdout)] == ["failed"]
    assert [e["v"] for e in _file(exp_dir)] == list(range(40))


def test_full_disk_metrics_json_never_hides_a_stored_step(small_disk: Path) -> None:
    """Logging until the disk is full: every call that returned is read back (from
    metrics.json, or from the log while metrics.json could not grow); once there is room
    again, metrics.json is rebuilt (by a call a second later at the latest, or at the end)."""
    exp = yanex.create_experiment(Path("big.py"), name="big")
    exp_dir = exp.experiment_dir
    returned = 0
    with exp:
        with open(small_disk / "filler", "wb") as fh:
            st = os.statvfs(small_disk)
            fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 48 * 1024))
        with pytest.raises(OSError):
            while True:
                yanex.log_metrics({"i": returned, "pad": "y" * 300})
                returned += 1
                got = [e["i"] for e in yr.get_experiment(exp.experiment_id).get_metrics()]
                assert got == list(range(returned))
        assert returned > 0
        (small_disk / "filler").unlink()
        yanex.log_metrics({"i": returned})
        got = [e["i"] for e in yr.get_experiment(exp.experiment_id).get_metrics()]
        assert got == list(range(returned + 1))
    assert [e["i"] for e in _file(exp_dir)] == list(range(returned + 1))
    assert _file(exp_dir) == _from_log(exp_dir)


def test_nested_contexts_on_one_experiment_end_with_the_whole_file() -> None:
    """Two contexts of one process on the same experiment (the inner one joins): each
    writer follows the other's steps, and each end leaves metrics.json equal to the log."""
    with yanex.create_experiment(Path("t.py")) as outer:
        exp_dir = outer.experiment_dir
        yanex.log_metrics({"who": "outer"})
        with yanex.create_context(outer.experiment_id):
            yanex.log_metrics({"who": "inner"})
            yanex.log_metrics({"again": 1}, step=0)
        assert _file(exp_dir) == _from_log(exp_dir)
        outer.log_metrics({"who": "outer-2"})
        outer.log_metrics({"late": True}, step=1)
    final = _file(exp_dir)
    assert final == _from_log(exp_dir)
    assert [(e["step"], e["who"]) for e in final] == [(0, "outer"), (1, "inner"), (2, "outer-2")]
    assert final[0]["again"] == 1 and final[1]["late"] is True


def test_record_missing_from_metrics_json_within_one_clock_tick_is_seen() -> None:
    """A writer killed between its log append and its metrics.json write, both in the same
    clock tick (equal mtimes): readers notice the log's last record is not in the file,
    show it, and rewrite the file; a file that does hold it is read as it is."""
    with yanex.create_experiment(Path("t.py")) as exp:
        for i in range(5):
            yanex.log_metrics({"v": i})
    exp_dir = exp.experiment_dir
    log, path = exp_dir / layout.METRICS_LOG, exp_dir / layout.METRICS
    tick = log.stat().st_mtime_ns
    os.utime(path, ns=(tick, tick))
    inode = path.stat().st_ino
    assert [e["v"] for e in yr.get_experiment(exp.experiment_id).get_metrics()] == list(range(5))
    assert path.stat().st_ino == inode  # current: read as it is, not rewritten
    with open(log, "ab") as fh:  # the record of a call that never returned
        fh.write(b'[5,%f,{"v":5}]\n' % time.time())
    tick = log.stat().st_mtime_ns
    os.utime(path, ns=(tick, tick))
    got = [e["v"] for e in yr.get_experiment(exp.experiment_id).get_metrics()]
    assert got == list(range(6))
    assert [e["v"] for e in _file(exp_dir)] == list(range(6))  # and the file was repaired
    shown = json.loads(run_cli("show", exp.experiment_id, "-F", "json").stdout)["metrics"]
    assert [e["v"] for e in shown] == list(range(6))
