"""Scripts run by the spawner behave as under `python -u script`: the same __main__,
argv, import path, exit codes, tracebacks, thread and atexit handling, fresh randomness
per experiment, and their own command line in `ps`; on both launch paths."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from tests.support.cli import run_cli_subprocess, write_script
from yanex import _supervise

SCRIPT = """
import atexit, os, random, sys, threading, time
import helper_mod
print(json_line := __import__("json").dumps({
    "name": __name__, "file": __file__, "argv": sys.argv, "path0": sys.path[0],
    "helper": helper_mod.VALUE, "random": random.random(), "pid": os.getpid(),
    "cmdline": open(f"/proc/{os.getpid()}/cmdline", "rb").read().decode().split("\\0"),
}))
def late():
    time.sleep(0.2)
    print("thread finished", flush=True)
threading.Thread(target=late).start()
atexit.register(lambda: print("atexit ran", flush=True))
"""


def _facts(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_script_sees_main_argv_path_and_fresh_randomness(work_dir: Path, store_dir: Path) -> None:
    """Each experiment of a sweep runs the script as __main__ with its own argv, its folder
    first on sys.path, a different random state, and its own command line."""
    (work_dir / "helper_mod.py").write_text("VALUE = 42\n")
    script = write_script(work_dir / "probe.py", SCRIPT)
    res = run_cli_subprocess("run", script.name, "--flag", "x", "-p", "i=range(3)", "-j", "2")
    assert res.returncode == 0, res.stderr
    facts = _facts("\n".join(line.split("] ", 1)[-1] for line in res.stdout.splitlines()))
    assert len(facts) == 3
    for fact in facts:
        assert fact["name"] == "__main__"
        assert fact["file"] == str(script)
        assert fact["argv"] == [script.name, "--flag", "x"]  # as given, as python does
        assert fact["path0"] == str(work_dir)
        assert fact["helper"] == 42
        cmdline = [w for w in fact["cmdline"] if w]  # type: ignore[union-attr]
        assert cmdline[1:] == ["-u", script.name, "--flag", "x"]
    assert len({f["random"] for f in facts}) == 3
    assert len({f["pid"] for f in facts}) == 3
    assert res.stdout.count("thread finished") == 3
    assert res.stdout.count("atexit ran") == 3
    assert res.stdout.rindex("thread finished") < res.stdout.rindex("atexit ran")


@pytest.mark.parametrize(
    ("body", "code", "stderr_has"),
    [
        ("import sys\nsys.exit(3)\n", 3, None),
        ("import sys\nsys.exit('bad things')\n", 1, "bad things"),
        ("def f():\n    raise ValueError('boom')\nf()\n", 1, "ValueError: boom"),
        ("raise SystemExit\n", 0, None),
    ],
)
def test_exit_codes_and_tracebacks_match_python(
    work_dir: Path, store_dir: Path, body: str, code: int, stderr_has: str | None
) -> None:
    """Exit codes, sys.exit messages and uncaught exceptions end the experiment as they
    would end `python script`; tracebacks start at the script, not in yanex."""
    script = write_script(work_dir / "ending.py", body)
    res = run_cli_subprocess("run", script.name)
    meta = json.loads(next(store_dir.glob("*/metadata.json")).read_text())
    assert meta["exit_code"] == code
    assert meta["status"] == ("completed" if code == 0 else "failed")
    stderr = (store_dir / meta["id"] / "artifacts" / "stderr.txt").read_text()
    if stderr_has:
        assert stderr_has in stderr
    if "Traceback" in stderr:
        first_frame = stderr.split("Traceback (most recent call last):\n")[1].splitlines()[0]
        assert str(script) in first_frame
        assert "runpy" not in stderr and "yanex" not in stderr
    assert res.returncode == (0 if code == 0 else 1)


@pytest.mark.anyio
async def test_commands_are_executed_with_their_own_environment(tmp_path: Path) -> None:
    """A command (not a Python script) is exec'd in the given directory and environment,
    with SIGPIPE at its default so shell pipelines end normally."""
    out: list[bytes] = []
    launch = _supervise.Caller.now().launch(
        ["bash", "-c", 'echo "$PWD $ONLY_HERE"; yes | head -n 2'],
        {"PATH": "/usr/bin:/bin", "ONLY_HERE": "set"},
    )
    launch.cwd = str(tmp_path)
    outcome = await _supervise.supervise(launch, stdout=[out.append])
    assert outcome.returncode == 0
    assert b"".join(out).decode().split("\n")[:3] == [f"{tmp_path} set", "y", "y"]


@pytest.mark.anyio
async def test_missing_working_directory_is_refused(tmp_path: Path) -> None:
    """A working directory that does not exist is refused before anything starts."""
    launch = _supervise.Caller.now().launch([sys.executable, "-c", "pass"])
    launch.cwd = str(tmp_path / "nope")
    with pytest.raises(OSError, match="does not exist"):
        await _supervise.supervise(launch)
    await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_a_killed_spawner_takes_its_children_with_it(tmp_path: Path) -> None:
    """If the spawner itself is killed, the running child's group is killed too and the
    child is reported as ended by SIGKILL, never left running."""
    import os
    import signal

    from yanex import _spawner

    started = tmp_path / "started"
    script = f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(600)\n"

    async def kill_spawner_when_started() -> None:
        while not started.exists():
            await anyio.sleep(0.02)
        os.kill(_spawner._state["proc"].pid, signal.SIGKILL)

    async with anyio.create_task_group() as tg:
        tg.start_soon(kill_spawner_when_started)
        with anyio.fail_after(30):
            launch = _supervise.Caller.now().launch([sys.executable, "-c", script])
            outcome = await _supervise.supervise(launch)
    assert outcome.returncode == -signal.SIGKILL
    assert outcome.pid is not None
    assert _dead_or_zombie(outcome.pid)


def _dead_or_zombie(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie (its new parent may be slow to reap it)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.02)
    return False
