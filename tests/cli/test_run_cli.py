"""``yanex run`` of one script through the real CLI: help, script arguments, captured output,
statuses, metadata, get_cli_args() in the child, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess, write_script
from tests.support.run import artifact, only, start_cli

ECHO = """
import sys, json, yanex
print("out-line")
print("err-line", file=sys.stderr)
print(json.dumps({"argv": sys.argv[1:], "params": yanex.get_params(),
                  "cli": yanex.get_cli_args(), "id": yanex.get_experiment_id()}))
"""


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.usefixtures("cli_backend")
def test_help_and_version() -> None:
    """`yanex --help`, `--version` and `yanex run --help` describe the command."""
    top = run_cli("--help")
    assert top.returncode == 0 and "run" in top.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and "yanex" in version.stdout
    helped = run_cli("run", "--help")
    assert helped.returncode == 0
    for flag in ("--param", "--config", "--clone-from", "--parallel", "--stage", "--staged",
                 "--timeout", "--dry-run", "--depends-on", "--project", "--tag"):
        assert flag in helped.stdout, flag


def test_single_run_streams_captures_and_completes(store_dir: Path, work_dir: Path) -> None:
    """The script's stdout/stderr reach the terminal unchanged and artifacts/*.txt; it completes.
    End to end: a real `yanex` process."""
    write_script(work_dir / "echo.py", ECHO)
    res = run_cli_subprocess("run", "echo.py")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("out-line\n")
    assert "err-line" in res.stderr
    meta = only(store_dir)
    assert meta["status"] == "completed"
    assert meta["exit_code"] == 0
    assert meta["pid"] and meta["host"]
    assert meta["script_path"] == str((work_dir / "echo.py").resolve())
    assert f"{meta['id']} completed" in res.stderr
    assert artifact(store_dir, meta["id"], "stdout.txt").startswith("out-line\n")
    assert artifact(store_dir, meta["id"], "stderr.txt") == "err-line\n"
    assert _last_json(res.stdout)["id"] == meta["id"]


@pytest.mark.usefixtures("cli_backend")
def test_script_arguments_reach_sys_argv(work_dir: Path) -> None:
    """Unknown options and arguments after the script, and all after `--`, go to sys.argv."""
    write_script(work_dir / "echo.py", ECHO)
    res = run_cli("run", "echo.py", "--data-exp", "abc", "-p", "lr=1", "--fold=2", "pos",
                  "--", "--name", "x")
    assert res.returncode == 0, res.stderr
    out = _last_json(res.stdout)
    assert out["argv"] == ["--data-exp", "abc", "--fold=2", "pos", "--name", "x"]
    assert out["params"] == {"lr": 1}


@pytest.mark.usefixtures("cli_backend")
def test_get_cli_args_returns_documented_dict(store_dir: Path, work_dir: Path) -> None:
    """get_cli_args() in the child holds the parsed yanex flags, not the script's arguments."""
    write_script(work_dir / "echo.py", ECHO)
    res = run_cli("run", "echo.py", "--tag", "ml", "-p", "lr=0.01", "-n", "nm", "-j", "3",
                  "--script-flag")
    assert res.returncode == 0, res.stderr
    cli = _last_json(res.stdout)["cli"]
    assert cli["script"] == "echo.py"
    assert cli["parallel"] == 3
    assert cli["tag"] == ["ml"]
    assert cli["param"] == ["lr=0.01"]
    assert cli["name"] == "nm"
    assert cli["config"] == [] and cli["clone_from"] is None and cli["description"] is None
    assert cli["dry_run"] is False and cli["stage"] is False and cli["staged"] is False
    assert "script_args" not in cli and "ignore_dirty" not in cli
    assert only(store_dir)["cli_args"] == cli


@pytest.mark.usefixtures("cli_backend")
def test_metadata_flags_are_recorded(store_dir: Path, work_dir: Path) -> None:
    """--name, --tag (repeatable), --description and --project land in metadata (-D: see
    test_dependencies_cli.py)."""
    write_script(work_dir / "s.py", "pass\n")
    res = run_cli("run", "s.py", "-n", "first", "-t", "a", "--tag", "b", "-d", "about",
                  "--project", "proj")
    assert res.returncode == 0, res.stderr
    meta = only(store_dir)
    assert meta["name"] == "first"
    assert meta["tags"] == ["a", "b"]
    assert meta["description"] == "about"
    assert meta["project"] == "proj"
    assert meta["depends_on"] == []


@pytest.mark.usefixtures("cli_backend")
def test_project_defaults_to_git_repository_name(store_dir: Path, work_dir: Path) -> None:
    """Without --project, the project is the enclosing git repository's folder name."""
    repo = work_dir / "myrepo"
    repo.mkdir()
    write_script(repo / "s.py", "pass\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "s.py"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    res = run_cli("run", "s.py", cwd=repo)
    assert res.returncode == 0, res.stderr
    meta = only(store_dir)
    assert meta["project"] == "myrepo"
    assert meta["git_commit"]


@pytest.mark.usefixtures("cli_backend")
def test_failing_script_is_failed_with_exit_code_and_stderr_tail(
    store_dir: Path, work_dir: Path
) -> None:
    """A non-zero exit marks the experiment failed with its code and last stderr lines."""
    write_script(work_dir / "bad.py", "import sys\nprint('boom happened', file=sys.stderr)\n"
                 "sys.exit(3)\n")
    res = run_cli("run", "bad.py")
    assert res.returncode == 1
    meta = only(store_dir)
    assert meta["status"] == "failed"
    assert meta["exit_code"] == 3
    assert "code 3" in meta["error_message"]
    assert "boom happened" in meta["error_message"]
    assert "failed" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.usefixtures("cli_backend")
def test_exception_in_script_fails_and_yanex_fail_is_honoured(
    store_dir: Path, work_dir: Path
) -> None:
    """An uncaught exception fails the run; yanex.cancel() in the child records cancelled."""
    write_script(work_dir / "raise.py", "raise ValueError('bad value 42')\n")
    res = run_cli("run", "raise.py")
    assert res.returncode == 1
    assert "bad value 42" in only(store_dir)["error_message"]
    write_script(work_dir / "cancel.py", "import yanex\nyanex.cancel('not today')\n")
    res = run_cli("run", "cancel.py", "-n", "c")
    assert res.returncode == 1
    cancelled = [m for m in (json.loads(p.read_text()) for p in store_dir.glob("*/metadata.json"))
                 if m["name"] == "c"]
    assert cancelled[0]["status"] == "cancelled"
    assert "not today" in cancelled[0]["cancellation_reason"]


def test_heartbeat_pid_and_host_while_running(store_dir: Path, work_dir: Path) -> None:
    """While the child runs, its experiment is 'running' with pid, host and a heartbeat, and
    its output is already on the terminal (streamed live, not at the end)."""
    gate = work_dir / "gate"
    write_script(work_dir / "wait.py", f"""
import os, time
print("ready", flush=True)
while not os.path.exists({str(gate)!r}):
    time.sleep(0.02)
""")
    proc = start_cli("run", "wait.py")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # arrives before the child ends
        meta = only(store_dir)
        assert meta["status"] == "running"
        assert meta["pid"] == proc.pid
        assert meta["host"] and meta["heartbeat_at"]
    finally:
        gate.touch()
        proc.wait(timeout=30)
    assert only(store_dir)["status"] == "completed"
