"""execute_bash_script through the blocking face: result, environment, artifacts, log, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import yanex
from yanex.errors import ExperimentContextError, ScriptFailedError, ScriptTimeoutError


def _runs(exp_dir: Path) -> list[dict]:
    return json.loads((exp_dir / "script_runs.json").read_text())


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a busy or absent reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_result_dict_has_documented_keys_and_exact_output(store_dir: Path) -> None:
    """The result holds exit code, exact stdout/stderr, time, command and working directory."""
    command = "printf 'one\\ntwo\\n'; printf 'warn\\n' >&2; exit 0"
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        result = yanex.execute_bash_script(command, stream_output=False)
    assert set(result) == {
        "exit_code", "stdout", "stderr", "execution_time", "command", "working_directory",
    }  # fmt: skip
    assert result["exit_code"] == 0
    assert result["stdout"] == "one\ntwo\n"
    assert result["stderr"] == "warn\n"
    assert result["command"] == command
    assert 0 < result["execution_time"] < 30
    assert result["working_directory"] == str(store_dir / exp_id)


def test_nonzero_exit_is_returned_without_raise_on_error() -> None:
    """A failing command returns its exit code when raise_on_error is False."""
    with yanex.create_experiment(Path("train.py")):
        result = yanex.execute_bash_script("echo bad >&2; exit 7", stream_output=False)
    assert result["exit_code"] == 7
    assert result["stderr"] == "bad\n"


def test_raise_on_error_raises_called_process_error(store_dir: Path) -> None:
    """raise_on_error=True raises subprocess.CalledProcessError carrying code and output,
    and the failed run is still logged."""
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        with pytest.raises(subprocess.CalledProcessError) as info:
            yanex.execute_bash_script(
                "echo out; echo err >&2; exit 3", raise_on_error=True, stream_output=False
            )
    assert isinstance(info.value, ScriptFailedError)
    assert info.value.returncode == 3
    assert info.value.cmd == "echo out; echo err >&2; exit 3"
    assert info.value.output == "out\n"
    assert info.value.stderr == "err\n"
    assert _runs(store_dir / exp_id)[0]["exit_code"] == 3


def test_environment_has_experiment_id_and_params(store_dir: Path, monkeypatch) -> None:
    """The command sees YANEX_EXPERIMENT_ID and the parameters as YANEX_PARAM_* (top-level
    as yanex 0.6 wrote them, nested leaves joined with '_'), not stale inherited ones."""
    monkeypatch.setenv("YANEX_PARAM_stale", "old")
    config = {"learning_rate": 0.01, "epochs": 3, "name": "run a", "flag": True,
              "model": {"depth": 4, "act": {"kind": "relu"}}, "layers": [1, 2]}  # fmt: skip
    with yanex.create_experiment(Path("train.py"), config=config) as exp:
        exp_id = exp.experiment_id
        result = yanex.execute_bash_script("env | grep ^YANEX_ | sort", stream_output=False)
    env = dict(line.split("=", 1) for line in result["stdout"].splitlines())
    assert env["YANEX_EXPERIMENT_ID"] == exp_id
    assert env["YANEX_EXPERIMENTS_DIR"] == str(store_dir)
    assert env["YANEX_PARAM_learning_rate"] == "0.01"
    assert env["YANEX_PARAM_epochs"] == "3"
    assert env["YANEX_PARAM_name"] == "run a"
    assert env["YANEX_PARAM_flag"] == "True"
    assert json.loads(env["YANEX_PARAM_model"]) == config["model"]
    assert env["YANEX_PARAM_model_depth"] == "4"
    assert env["YANEX_PARAM_model_act_kind"] == "relu"
    assert json.loads(env["YANEX_PARAM_layers"]) == [1, 2]
    assert "YANEX_PARAM_stale" not in env


def test_working_dir_argument_and_missing_dir(tmp_path: Path, store_dir: Path) -> None:
    """working_dir sets the command's directory (relative to ours); a missing one raises
    before anything runs."""
    (tmp_path / "work" / "sub").mkdir()
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        result = yanex.execute_bash_script("pwd", working_dir="sub", stream_output=False)
        with pytest.raises(FileNotFoundError):
            yanex.execute_bash_script("touch made", working_dir=tmp_path / "nope")
    assert result["stdout"].strip() == str(tmp_path / "work" / "sub")
    assert result["working_directory"] == str(tmp_path / "work" / "sub")
    assert len(_runs(store_dir / exp_id)) == 1  # the refused call ran and logged nothing
    assert not list(tmp_path.rglob("made"))


def test_output_saved_as_artifacts_appended_per_call(store_dir: Path) -> None:
    """stdout and stderr are appended to script_stdout.txt / script_stderr.txt on each call;
    a stream with no output leaves no file."""
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        yanex.execute_bash_script("echo first", stream_output=False)
        yanex.execute_bash_script("echo second; echo oops >&2", stream_output=False)
        names = yanex.list_artifacts()
    arts = store_dir / exp_id / "artifacts"
    assert (arts / "script_stdout.txt").read_text() == "first\nsecond\n"
    assert (arts / "script_stderr.txt").read_text() == "oops\n"
    assert {"script_stdout.txt", "script_stderr.txt"} <= set(names)

    with yanex.create_experiment(Path("train.py")) as quiet:
        quiet_id = quiet.experiment_id
        yanex.execute_bash_script("true", stream_output=False)
    assert not (store_dir / quiet_id / "artifacts" / "script_stderr.txt").exists()


def test_script_runs_json_has_one_entry_per_call(store_dir: Path) -> None:
    """Each call adds an entry with command, exit code, time, line counts, directory and
    ISO timestamps."""
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        yanex.execute_bash_script("printf 'a\\nb\\nc'", stream_output=False)
        yanex.execute_bash_script("echo e >&2; exit 2", stream_output=False)
    runs = _runs(store_dir / exp_id)
    assert [r["command"] for r in runs] == ["printf 'a\\nb\\nc'", "echo e >&2; exit 2"]
    assert [r["exit_code"] for r in runs] == [0, 2]
    assert (runs[0]["stdout_lines"], runs[0]["stderr_lines"]) == (3, 0)
    assert (runs[1]["stdout_lines"], runs[1]["stderr_lines"]) == (0, 1)
    for run in runs:
        assert run["execution_time"] > 0
        assert run["working_directory"] == str(store_dir / exp_id)
        assert run["timestamp"].endswith("Z") and run["recorded_at"] >= run["timestamp"]
        assert run["timed_out"] is False


def test_timeout_stops_process_group_and_raises_timeout_expired(store_dir: Path) -> None:
    """On timeout the command and its background children are stopped and
    subprocess.TimeoutExpired is raised with the output so far; the run is logged."""
    command = "sleep 30 & echo $! > bg.pid; echo started; sleep 30"
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        start = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired) as info:
            yanex.execute_bash_script(command, timeout=0.5, stream_output=False)
        elapsed = time.monotonic() - start
    assert isinstance(info.value, ScriptTimeoutError)
    assert info.value.timeout == 0.5
    assert info.value.output == "started\n"
    assert elapsed < 5
    bg_pid = int((store_dir / exp_id / "bg.pid").read_text())
    time.sleep(0.05)
    assert not _alive(bg_pid)
    run = _runs(store_dir / exp_id)[0]
    assert run["timed_out"] is True and "timed out" in run["error"]


def test_outside_an_experiment_raises_and_runs_nothing(tmp_path: Path) -> None:
    """Without an active experiment the call raises ExperimentContextError and the command
    never runs."""
    marker = tmp_path / "ran"
    with pytest.raises(ExperimentContextError):
        yanex.execute_bash_script(f"touch {marker}")
    assert not marker.exists()


def test_stream_output_prints_live_and_false_is_silent(capfd) -> None:
    """stream_output=True copies the command's stdout/stderr to ours; False prints nothing."""
    with yanex.create_experiment(Path("train.py")):
        yanex.execute_bash_script("echo to-out; echo to-err >&2")
        loud = capfd.readouterr()
        yanex.execute_bash_script("echo quiet-out; echo quiet-err >&2", stream_output=False)
        quiet = capfd.readouterr()
    assert "to-out" in loud.out and "to-err" in loud.err
    assert quiet.out == "" and quiet.err == ""


def test_large_output_is_complete_in_result_and_artifact(store_dir: Path) -> None:
    """Several megabytes of output arrive whole, in order, in the result and the artifact."""
    command = "seq 1 600000"
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        result = yanex.execute_bash_script(command, stream_output=False)
    expected = "".join(f"{i}\n" for i in range(1, 600001))
    assert result["stdout"] == expected
    artifact = store_dir / exp_id / "artifacts" / "script_stdout.txt"
    assert artifact.stat().st_size == len(expected)
    assert _runs(store_dir / exp_id)[0]["stdout_lines"] == 600000


def test_python_child_logs_metrics_into_the_same_experiment(store_dir: Path) -> None:
    """A Python script started by the command logs into the experiment (YANEX_EXPERIMENT_ID)
    and its auto-numbered steps interleave with ours without any being lost."""
    script = Path("child.py")
    script.write_text(
        "import yanex\n"
        "for i in range(3):\n"
        "    yanex.log_metrics({'child': i})\n"
        "print(yanex.get_experiment_id(), yanex.get_params()['lr'])\n"
    )
    with yanex.create_experiment(Path("train.py"), config={"lr": 0.5}) as exp:
        exp_id = exp.experiment_id
        yanex.log_metrics({"parent": 0})
        result = yanex.execute_bash_script(f"{sys.executable} {script.resolve()}")
        yanex.log_metrics({"parent": 1})
    assert result["stdout"].split() == [exp_id, "0.5"]
    metrics = json.loads((store_dir / exp_id / "metrics.json").read_text())
    assert [m["step"] for m in metrics] == [0, 1, 2, 3, 4]
    assert [m.get("parent", m.get("child")) for m in metrics] == [0, 0, 1, 2, 1]


def test_bound_method_on_experiment_context_blocks_and_returns(store_dir: Path) -> None:
    """exp.execute_bash_script(...) in a with-block runs the command in that experiment."""
    with yanex.create_experiment(Path("train.py")) as exp:
        exp_id = exp.experiment_id
        result = exp.execute_bash_script("echo $YANEX_EXPERIMENT_ID", stream_output=False)
    assert result["stdout"].strip() == exp_id
    assert len(_runs(store_dir / exp_id)) == 1


def test_threads_each_run_in_their_own_experiment(store_dir: Path) -> None:
    """Two threads, each inside its own experiment, log their commands to their own one."""
    seen: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def work(tag: str) -> None:
        with yanex.create_experiment(Path("train.py"), name=tag) as exp:
            exp_id = exp.experiment_id
            barrier.wait()  # both experiments are open before either command runs
            out = yanex.execute_bash_script("echo $YANEX_EXPERIMENT_ID", stream_output=False)
            seen[exp_id] = out["stdout"].strip()
            barrier.wait()

    threads = [threading.Thread(target=work, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 2
    for exp_id, reported in seen.items():
        assert reported == exp_id
        assert len(_runs(store_dir / exp_id)) == 1


def test_inside_a_yanex_run_experiment(store_dir: Path, work_dir: Path) -> None:
    """A script run by `yanex run` can call execute_bash_script: the command sees that
    experiment and its parameters, and the run is logged there."""
    from tests.support.cli import run_cli

    (work_dir / "job.py").write_text(
        "import yanex\n"
        "r = yanex.execute_bash_script('echo id=$YANEX_EXPERIMENT_ID lr=$YANEX_PARAM_lr')\n"
        "assert r['exit_code'] == 0\n"
    )
    proc = run_cli("run", "job.py", "--param", "lr=0.3", cwd=work_dir)
    assert proc.returncode == 0, proc.stderr
    (exp_id,) = [d.name for d in store_dir.iterdir() if (d / "metadata.json").exists()]
    assert f"id={exp_id} lr=0.3" in proc.stdout
    assert [r["command"] for r in _runs(store_dir / exp_id)] == [
        "echo id=$YANEX_EXPERIMENT_ID lr=$YANEX_PARAM_lr"
    ]
    stdout_artifact = store_dir / exp_id / "artifacts" / "script_stdout.txt"
    assert stdout_artifact.read_text() == f"id={exp_id} lr=0.3\n"
