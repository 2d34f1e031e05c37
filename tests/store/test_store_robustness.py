"""Honest, store-wide robustness: a corrupt file affects only its own experiment, a folder
without metadata is listed as broken, an experiment nothing runs any more is recorded as
failed with the reason, and a bash timeout caused by a background process says so.
Through the CLI and ``import yanex``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import pytest

import yanex
import yanex.results as yr
from tests.support.cli import run_cli, write_script
from tests.support.query import ago, assert_error, dead_pid, make, patch, stamp, store_root
from tests.support.run import pids_with, start_cli, wait_for
from yanex.errors import CorruptExperimentWarning, ScriptTimeoutError

# --- one corrupt file, one experiment -----------------------------------------------------


def _corrupt(exp_id: str, name: str) -> None:
    exp_dir = store_root() / exp_id
    if name == "params.yaml":  # a yanex 0.6 experiment: params.yaml is the only config
        (exp_dir / "config.json").unlink()
        (exp_dir / name).write_text("lr: [0.1, unclosed\n")
    elif name == "metrics.json":  # an ended experiment read from metrics.json alone
        (exp_dir / "metrics.log.jsonl").unlink()
        (exp_dir / name).write_text('[{"step": 0, "loss": ')
    else:
        (exp_dir / name).write_text('{"id": "x", "status": ')


CORRUPT = [
    ("config.json", "params.lr"),
    ("params.yaml", "params.lr"),
    ("metrics.json", "metrics.loss"),
    ("metadata.json", "status"),
]


@pytest.fixture
def three() -> tuple[str, str, str]:
    """Two good experiments around one that will be damaged."""
    made = [
        make(f"e{i}", config={"lr": i / 10}, metrics=[{"loss": 1.0 - i / 10}]) for i in range(3)
    ]
    return made[0], made[1], made[2]


def _warnings_about(stderr: str, exp_id: str) -> list[str]:
    return [line for line in stderr.splitlines() if exp_id in line]


@pytest.mark.parametrize(("name", "field"), CORRUPT)
def test_cli_goes_on_past_one_corrupt_file(
    three: tuple[str, str, str], name: str, field: str
) -> None:
    """list, compare -g and get with filters: exit 0, the others shown, one warning line."""
    good1, bad, good2 = three
    _corrupt(bad, name)
    for args in (["list", "-g"], ["compare", "-g"], ["get", field, "-g", "-n", "e*"]):
        res = run_cli(*args)
        assert res.returncode == 0, (args, res.stderr)
        assert "Traceback" not in res.stderr
        assert good1 in res.stdout and good2 in res.stdout, (args, res.stdout)
        warned = _warnings_about(res.stderr, bad)
        if args[0] == "list" and name != "metadata.json":
            assert bad in res.stdout and warned == []  # list reads metadata only
            continue
        assert len(warned) == 1 and warned[0].startswith("Warning:"), (args, res.stderr)
        assert name in warned[0]
        if args[0] != "list":
            assert bad not in res.stdout


@pytest.mark.parametrize(("name", "field"), CORRUPT)
def test_cli_names_the_bad_file_when_that_experiment_is_asked_for(
    three: tuple[str, str, str], name: str, field: str
) -> None:
    _good, bad, _other = three
    _corrupt(bad, name)
    res = run_cli("show", bad) if name == "metadata.json" else run_cli("get", field, bad)
    assert_error(res, 1, name)


@pytest.mark.parametrize(("name", "field"), CORRUPT)
def test_results_loops_go_on_past_one_corrupt_file(
    three: tuple[str, str, str], name: str, field: str
) -> None:
    good1, bad, good2 = three
    _corrupt(bad, name)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        seen = {}
        for exp in yr.get_experiments():
            seen[exp.id] = (exp.get_params().get("lr"), exp.get_metric("loss"))
        frame = yr.compare()
        series = yr.get_metrics(as_dataframe=False)  # metrics only: a bad config is no matter
        long = yr.get_metrics()
        best = yr.get_best("loss", maximize=True)
    assert seen[good1] == (0.0, 1.0) and seen[good2] == (0.2, 0.8)
    assert set(frame.index) == {good1, good2}
    metrics_readable = name in ("config.json", "params.yaml")
    assert set(series) == {good1, good2} | ({bad} if metrics_readable else set())
    assert set(long["experiment_id"]) == {good1, good2}
    assert best is not None and best.id == good1
    messages = [str(w.message) for w in record if w.category is CorruptExperimentWarning]
    assert messages and all(bad in m and name in m for m in messages), messages
    assert {w.filename for w in record if w.category is CorruptExperimentWarning} == {__file__}
    if name != "metadata.json":
        key = "lr" if field.startswith("params") else "loss"
        empty = seen[bad][0] if key == "lr" else seen[bad][1]
        assert empty is None  # read as empty, with the warning


# --- folders without metadata -------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_folder_without_metadata_is_listed_as_broken() -> None:
    good = make("good")
    broken = make("lost", metrics=[{"loss": 0.5}])
    (store_root() / broken / "metadata.json").unlink()
    _age(store_root() / broken, 3600)
    res = run_cli("list")
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line.split() for line in res.stdout.splitlines()[1:]}
    assert good in rows and rows[broken][:3] == [broken, "-", "broken"]
    assert len(_warnings_about(res.stderr, broken)) == 1
    assert "no metadata.json" in res.stderr
    items = json.loads(run_cli("list", "-F", "json").stdout)
    entry = next(i for i in items if i["id"] == broken)
    assert entry["status"] == "broken" and entry["experiment_dir"].endswith(broken)
    assert "no metadata.json" in entry["error_message"]
    assert (store_root() / broken / "metrics.json").exists()  # nothing removed
    assert_error(run_cli("show", broken), 1, "no metadata.json", broken)
    with pytest.warns(CorruptExperimentWarning, match=broken):
        assert [e.id for e in yr.get_experiments()] == [good]


def test_broken_folder_not_listed_under_a_status_filter() -> None:
    make("good")
    broken = make("lost")
    (store_root() / broken / "metadata.json").unlink()
    _age(store_root() / broken, 3600)
    res = run_cli("list", "-s", "completed")
    assert res.returncode == 0 and "broken" not in res.stdout


def test_folder_being_created_is_not_broken() -> None:
    """A fresh folder without metadata yet (a creation under way) is neither listed nor warned."""
    make("good")
    fresh = store_root() / "0123abcd"
    (fresh / "artifacts").mkdir(parents=True)
    res = run_cli("list")
    assert res.returncode == 0 and "0123abcd" not in res.stdout + res.stderr


# --- experiments nothing runs any more ----------------------------------------------------


def _meta(exp_id: str) -> dict[str, object]:
    return json.loads((store_root() / exp_id / "metadata.json").read_text())


def _running(exp_id: str, **facts: object) -> None:
    base = {"status": "running", "completed_at": None, "started": ago(hours=1)}
    patch(exp_id, **{**base, **facts})


def test_running_with_dead_supervisor_is_failed_with_reason_and_persisted() -> None:
    exp = make("zombie")
    pid = dead_pid()
    _running(exp, pid=pid, host=socket.gethostname(), heartbeat_at=stamp(ago(minutes=50)))
    res = run_cli("list")
    assert res.returncode == 0 and "failed" in res.stdout
    meta = _meta(exp)
    assert meta["status"] == "failed"
    assert meta["error_message"] == (
        f"supervisor gone (process {pid} on {socket.gethostname()} no longer exists)"
    )
    ended = datetime.fromisoformat(str(meta["completed_at"]).replace("Z", "+00:00"))
    assert abs((ended - ago(minutes=50)).total_seconds()) < 60  # last sign of life, not now
    assert 590 < float(meta["duration"]) < 660  # type: ignore[arg-type]
    out = run_cli("get", "error_message", exp)
    assert out.stdout.strip() == meta["error_message"]


@pytest.mark.parametrize("reader", ["show", "get", "results"])
def test_every_reader_settles_a_stale_experiment(reader: str) -> None:
    exp = make("stale")
    _running(exp, pid=dead_pid(), host=socket.gethostname())
    if reader == "show":
        res = run_cli("show", exp)
        assert "failed" in res.stdout and "supervisor gone" in res.stdout
    elif reader == "get":
        assert run_cli("get", "status", exp).stdout.strip() == "failed"
    else:
        got = yr.get_experiment(exp)
        assert got.status == "failed" and "supervisor gone" in (got.error_message or "")
    assert _meta(exp)["status"] == "failed"


def test_created_by_an_exited_process_is_failed() -> None:
    exp = make("never-started")
    pid = dead_pid()
    patch(exp, status="created", completed_at=None, started_at=None, pid=pid)
    res = run_cli("list", "-F", "json")
    item = next(i for i in json.loads(res.stdout) if i["id"] == exp)
    assert item["status"] == "failed"
    assert item["error_message"].startswith("supervisor gone before the experiment started")
    assert _meta(exp)["status"] == "failed"


def test_created_or_running_in_a_live_process_is_left_alone() -> None:
    """A 'created' record of a live process (ours, or another one) is never marked failed."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = make("mine")
        theirs = make("theirs")
        running = make("running")
        patch(mine, status="created", completed_at=None, pid=os.getpid())
        patch(theirs, status="created", completed_at=None, pid=sleeper.pid)
        _running(running, pid=sleeper.pid, host=socket.gethostname())
        res = run_cli("list", "-F", "json")
        status = {i["id"]: i["status"] for i in json.loads(res.stdout)}
        assert status == {mine: "created", theirs: "created", running: "running"}
        assert yr.get_experiment(theirs).status == "created"
        sleeper.kill()
        sleeper.wait()
        status = {e.id: e.status for e in yr.get_experiments()}
        assert status == {mine: "created", theirs: "failed", running: "failed"}
    finally:
        sleeper.kill()
        sleeper.wait()


def test_remote_host_judged_by_heartbeat() -> None:
    fresh = make("fresh")
    old = make("old")
    _running(fresh, pid=1, host="elsewhere", heartbeat_at=stamp(ago(seconds=20)))
    _running(old, pid=1, host="elsewhere", heartbeat_at=stamp(ago(minutes=10)))
    status = {e.id: e.status for e in yr.get_experiments()}
    assert status == {fresh: "running", old: "failed"}
    assert str(_meta(old)["error_message"]).startswith(
        "supervisor gone (no heartbeat from elsewhere since"
    )
    assert _meta(fresh)["status"] == "running"


def test_disk_full_is_named_in_the_reason() -> None:
    exp = make("full")
    (store_root() / exp / "artifacts" / "stderr.txt").write_text(
        "Traceback ...\nOSError: [Errno 28] No space left on device\n"
    )
    _running(exp, pid=dead_pid(), host=socket.gethostname())
    assert yr.get_experiment(exp).status == "failed"
    assert str(_meta(exp)["error_message"]).endswith(": no space left on device")


def test_killed_yanex_run_is_failed_at_the_next_list(work_dir: Path) -> None:
    """SIGKILL the supervisor of a real run: the next list records why, persistently."""
    marker = "stale-marker-4711"
    write_script(
        work_dir / "slow.py",
        "import sys, time, yanex\nyanex.log_metrics({'a': 1})\ntime.sleep(60)\n",
    )
    proc = start_cli("run", "slow.py", "--", marker)
    try:
        assert wait_for(lambda: bool(pids_with(marker)) and _one_status() == "running", 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        exp = next(d.name for d in store_root().iterdir() if not d.name.startswith("."))
        res = run_cli("list")
        assert res.returncode == 0
        assert "failed" in res.stdout, res.stdout
        meta = _meta(exp)
        assert meta["status"] == "failed"
        assert f"supervisor gone (process {proc.pid} on " in str(meta["error_message"])
    finally:
        proc.kill()
        proc.wait()
        for pid in pids_with(marker):
            os.kill(pid, signal.SIGKILL)


def _one_status() -> str | None:
    metas = [d / "metadata.json" for d in store_root().iterdir()] if store_root().exists() else []
    found = [json.loads(m.read_text())["status"] for m in metas if m.exists()]
    return found[0] if len(found) == 1 else None


# --- a background process holding a bash command's output --------------------------------


def _background_call(command: str, timeout: float) -> str:
    """What execute_bash_script says of a command that exits at once but leaves a
    background process holding its output: 'OK' or the error's text."""
    try:
        result = yanex.execute_bash_script(command, timeout=timeout, stream_output=False)
    except ScriptTimeoutError as exc:
        return str(exc)
    assert result["exit_code"] == 0 and "started" in result["stdout"]
    return "OK"


def test_bash_timeout_is_never_blamed_on_a_command_that_exited() -> None:
    """The command exited at once; a background process it started held its output past the
    timeout. The call either ends normally (the leftover process stopped) or fails saying
    exactly that, never with a plain timeout; a command that really overruns still gets
    the plain timeout."""
    with yanex.create_experiment(Path("t.py")) as ctx:
        said = _background_call("sleep 7.13 & echo started", timeout=0.5)
        if said != "OK":
            assert "timed out after 0.5 seconds" in said
            assert "exited (code 0)" in said and "background process" in said
        with pytest.raises(ScriptTimeoutError) as plain:
            yanex.execute_bash_script("sleep 7.14", timeout=0.5)
        assert "background" not in str(plain.value)
        runs = json.loads((ctx.experiment_dir / "script_runs.json").read_text())
    assert runs[0]["exit_code"] == 0
    assert runs[0]["error"] is None or "background process" in runs[0]["error"]
    assert "background" not in runs[1]["error"]
    assert wait_for(lambda: not pids_with("7.13") and not pids_with("7.14"), 5)


def test_bash_background_timeout_through_the_cli(work_dir: Path) -> None:
    write_script(
        work_dir / "bg.py",
        """import yanex
try:
    r = yanex.execute_bash_script("sleep 7.15 & echo started", timeout=0.5, stream_output=False)
    print("OK", r["exit_code"])
except Exception as exc:
    print("ERROR", exc)
""",
    )
    res = run_cli("run", "bg.py")
    assert res.returncode == 0, res.stderr
    if not res.stdout.startswith("OK 0"):
        assert "ERROR Command 'sleep 7.15 & echo started' timed out" in res.stdout
        assert "background process it started still held its stdout/stderr open" in res.stdout
    assert wait_for(lambda: not pids_with("sleep 7.15"), 5)


def test_stale_on_a_full_disk_is_reported_with_the_cause(small_disk: Path) -> None:
    """A supervisor that died on a full disk left 'running': list reports it failed with
    "no space left on device" even though the record cannot be rewritten yet, and records it
    once there is room again."""
    exp = make("on-full-disk")
    _running(exp, pid=dead_pid(), host=socket.gethostname())
    filler = small_disk / "filler"
    with open(filler, "wb") as fh, pytest.raises(OSError):
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    res = run_cli("list", "-F", "json")
    assert res.returncode == 0, res.stderr
    (item,) = json.loads(res.stdout)
    assert item["status"] == "failed"
    assert item["error_message"].endswith(": no space left on device")
    assert _meta(exp)["status"] == "running"  # could not be written: nothing half-done
    filler.unlink()
    assert yr.get_experiment(exp).status == "failed"
    assert _meta(exp)["status"] == "failed"


def test_create_experiment_record_lives_with_its_process(work_dir: Path) -> None:
    """yanex.create_experiment() stores a 'created' record at once: it stays 'created' while
    the creating process lives (this one, or another), and is failed once that one is gone."""
    mine = yanex.create_experiment(Path("t.py"), name="mine").experiment_id
    write_script(
        work_dir / "holder.py",
        "import sys, yanex\nfrom pathlib import Path\n"
        "ctx = yanex.create_experiment(Path('t.py'), name='held')\n"
        "print(ctx.experiment_id, flush=True)\nsys.stdin.read()\n",
    )
    holder = subprocess.Popen(
        [sys.executable, "holder.py"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        held = holder.stdout.readline().strip()
        status = {i["id"]: i["status"] for i in json.loads(run_cli("list", "-F", "json").stdout)}
        assert status == {mine: "created", held: "created"}
        holder.kill()
        holder.wait()
        res = run_cli("show", held)
        assert "failed" in res.stdout and "supervisor gone before the experiment started" in (
            res.stdout
        )
        assert _meta(held)["status"] == "failed" and _meta(mine)["status"] == "created"
    finally:
        holder.kill()
        holder.wait()


def test_graph_compare_goes_on_past_one_corrupt_file() -> None:
    """ExperimentGraph.compare leaves out a node whose metrics cannot be read, with a warning."""
    a = make("a", config={"lr": 0.1}, metrics=[{"loss": 1.0}])
    b = make("b", config={"lr": 0.2}, metrics=[{"loss": 0.5}], depends_on=[f"data={a}"])
    c = make("c", config={"lr": 0.3}, metrics=[{"loss": 0.2}], depends_on=[f"model={b}"])
    _corrupt(b, "metrics.json")
    with pytest.warns(CorruptExperimentWarning, match=b):
        frame = yr.get_graph(c).compare()
    assert set(frame.index) == {a, c}


def test_export_goes_on_past_a_broken_experiment(tmp_path: Path) -> None:
    good = make("good", tags=["t"])
    broken = make("broken", tags=["t"])
    (store_root() / broken / "metadata.json").write_text("{")
    out = tmp_path / "export.json"
    with pytest.warns(CorruptExperimentWarning, match=broken):
        yr.export_experiments(out, format="json", tags=["t"])
    assert [e["id"] for e in json.loads(out.read_text())] == [good]


def test_export_goes_on_past_a_corrupt_script_runs_file(tmp_path: Path) -> None:
    good = make("good", tags=["t"])
    bad = make("bad", tags=["t"])
    (store_root() / bad / "script_runs.json").write_text("[{")
    out = tmp_path / "export.json"
    with pytest.warns(CorruptExperimentWarning, match=bad):
        yr.export_experiments(out, format="json", tags=["t"])
    exported = {e["id"]: e for e in json.loads(out.read_text())}
    assert set(exported) == {good, bad} and exported[bad]["script_runs"] == []


def test_joining_an_abandoned_created_record_starts_it_afresh() -> None:
    """create_context on a 'created' record whose creator has gone runs it, with a start."""
    exp = make("abandoned")
    patch(exp, status="created", completed_at=None, started_at=None, pid=dead_pid())
    with yanex.create_context(exp):
        yanex.log_metrics({"x": 1})
    meta = _meta(exp)
    assert meta["status"] == "completed" and meta["started_at"] is not None
    assert meta["error_message"] is None


def test_held_output_rule() -> None:
    """The rule behind the message: a timeout with no signal sent to the command (it had
    already exited) is the background process's doing; any other timeout is the command's."""
    from yanex._core.scripts import held_output
    from yanex._supervise import Outcome

    exited = Outcome(returncode=0, duration=0.6, timed_out=True)
    assert held_output(exited) is not None and "exited (code 0)" in str(held_output(exited))
    overran = Outcome(returncode=-15, duration=0.6, timed_out=True, signals_sent=["SIGTERM"])
    assert held_output(overran) is None
    assert held_output(Outcome(returncode=0, duration=0.1)) is None


def test_yanex06_running_experiment_of_a_dead_process_is_failed() -> None:
    """A record written by yanex 0.6 (process_id, hostname under environment.system) left
    'running' by a process of this host that has gone is failed like our own."""
    from tests.support.query import copy_061_store

    exp = copy_061_store()[0]
    path = store_root() / exp / "metadata.json"
    meta = json.loads(path.read_text())
    meta.update(status="running", completed_at=None, process_id=dead_pid())
    meta.setdefault("environment", {}).setdefault("system", {})["hostname"] = socket.gethostname()
    meta.pop("host", None)
    path.write_text(json.dumps(meta))
    res = run_cli("list", "-g", "-F", "json")
    item = next(i for i in json.loads(res.stdout) if i["id"] == exp)
    assert item["status"] == "failed" and "supervisor gone" in item["error_message"]
