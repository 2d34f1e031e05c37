"""The two launch paths: a prepared interpreter leaves no trace a script can see, unused
ones are stopped, the path can be forced, and the portable fallbacks work on Linux too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import anyio
import pytest

from tests.support.cli import run_cli_subprocess, write_script
from tests.support.run import only, pids_with, wait_for
from yanex import _supervise

PROBE = """
import json, os, sys
json.dump({
    "pythonpath": os.environ.get("PYTHONPATH"),
    "warm_fd": os.environ.get("YANEX_WARM_FD"),
    "path": sys.path,
    "sitecustomize": getattr(sys.modules.get("sitecustomize"), "MARK", None)
        if "sitecustomize" in sys.modules else "absent",
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "frames": len(__import__("inspect").stack()),
}, open(sys.argv[1], "w"))
"""


def _python(script: Path, out: str, env: dict[str, str]) -> dict[str, object]:
    subprocess.run([sys.executable, "-u", script.name, out], env=env, check=True)
    return dict(json.loads(Path(out).read_text()))


@pytest.mark.parametrize("path", ["pool", "exec"])
@pytest.mark.parametrize("user_site", [False, True])
def test_prepared_interpreter_leaves_no_trace(
    work_dir: Path, store_dir: Path, path: str, user_site: bool
) -> None:
    """What the script sees of its environment, import path, sitecustomize, open
    descriptors and stack is what `python -u` gives it, with and without a PYTHONPATH of
    the caller's that holds a sitecustomize of its own (which runs exactly once)."""
    env = dict(os.environ, YANEX_LAUNCH_PATH=path)
    if user_site:
        site = work_dir / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(
            "import pathlib, sys\nMARK = 'user'\n"
            "with pathlib.Path('site-runs').open('a') as f: f.write(sys.argv[0] + '\\n')\n"
        )
        env["PYTHONPATH"] = str(site)
    script = write_script(work_dir / "probe.py", "import yanex\n" + PROBE)
    expected = _python(script, "python.json", env)
    res = run_cli_subprocess("run", script.name, "yanex.json", env=env)
    assert res.returncode == 0, res.stderr
    got = json.loads((work_dir / "yanex.json").read_text())
    assert got == expected
    assert got["warm_fd"] is None
    if user_site:
        assert got["sitecustomize"] == "user"
        runs = (work_dir / "site-runs").read_text().splitlines()
        assert runs.count("probe.py") == 2  # once under python, once here


def test_unknown_launch_path_is_one_error_line(work_dir: Path, store_dir: Path) -> None:
    """YANEX_LAUNCH_PATH with a value that names no path: one Error line, exit 2, no
    experiment created."""
    write_script(work_dir / "s.py", "pass\n")
    res = run_cli_subprocess("run", "s.py", env={"YANEX_LAUNCH_PATH": "fork"})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "Error: YANEX_LAUNCH_PATH must be 'pool' or 'exec', not 'fork'"
    ]
    assert not store_dir.exists() or not any(store_dir.iterdir())


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["pool", "exec"])
async def test_supervise_reports_the_path_it_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A prepared launch is served by the pool path (exec when forced); a launch that
    matches nothing prepared (another argv) falls back to exec."""
    monkeypatch.setenv("YANEX_LAUNCH_PATH", path)
    script = write_script(tmp_path / "s.py", "print('ran')\n")
    caller = _supervise.Caller.now()
    launch = caller.launch([sys.executable, "-u", str(script)])
    launch.python = True
    _supervise.prepare(launch)
    out: list[bytes] = []
    outcome = await _supervise.supervise(launch, stdout=[out.append])
    assert (outcome.returncode, b"".join(out), outcome.via) == (0, b"ran\n", path)
    other = caller.launch([sys.executable, "-u", str(script), "other"])
    other.python = True
    outcome = await _supervise.supervise(other)
    assert (outcome.returncode, outcome.via) == (0, "exec")


def test_unused_prepared_interpreters_are_stopped(work_dir: Path, store_dir: Path) -> None:
    """A sweep stopped early by a failing timeout leaves no prepared interpreter behind
    once `run_multiple` returns, and none is left after the driver exits."""
    marker = f"yxw-{uuid.uuid4().hex}"
    write_script(work_dir / "s.py", "import sys, time\ntime.sleep(0.05)\n")
    driver = write_script(
        work_dir / "driver.py",
        "import os, sys, yanex\n"
        f"specs = [yanex.ExperimentSpec(script_path='s.py', script_args=['{marker}', str(i)])"
        " for i in range(4)]\n"
        "yanex.run_multiple(specs, parallel=2)\n"
        "print(len([p for p in os.listdir('/proc') if p.isdigit() and "
        f"b'{marker}' in open(f'/proc/{{p}}/cmdline', 'rb').read()]), flush=True)\n",
    )
    res = subprocess.run(
        [sys.executable, str(driver)], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "0"
    assert wait_for(lambda: not pids_with(marker))


def test_portable_fallbacks_run_a_sweep(work_dir: Path, store_dir: Path) -> None:
    """With every Linux-only call switched off (YANEX_PLATFORM=portable), a `-j 0` sweep
    runs every experiment and the script's umask is the caller's."""
    script = write_script(work_dir / "s.py", "import os\nprint('umask', oct(os.umask(0)))\n")
    res = run_cli_subprocess(
        "run", script.name, "-p", "i=range(3)", "-j", "0", env={"YANEX_PLATFORM": "portable"}
    )
    assert res.returncode == 0, res.stderr
    mask = os.umask(0)
    os.umask(mask)
    assert res.stdout.count(f"umask {oct(mask)}\n") == 3


def test_single_run_reads_the_callers_stdin(work_dir: Path, store_dir: Path) -> None:
    """`yanex run s.py < file` gives the script the file as stdin, as python does."""
    write_script(work_dir / "s.py", "import sys\nprint(repr(sys.stdin.read()))\n")
    (work_dir / "in.txt").write_text("line one\nline two\n")
    with (work_dir / "in.txt").open() as stdin:
        res = subprocess.run(
            [sys.executable, "-m", "yanex", "run", "s.py"],
            stdin=stdin, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert res.returncode == 0, res.stderr
    meta = only(store_dir)
    assert (store_dir / meta["id"] / "artifacts" / "stdout.txt").read_text() == (
        "'line one\\nline two\\n'\n"
    )


@pytest.mark.anyio
async def test_timeout_sends_sigterm_first(tmp_path: Path) -> None:
    """On timeout the child's group gets SIGTERM (a handler the script installed runs and
    its file is kept), then SIGKILL only if it is still there after the grace period."""
    script = write_script(
        tmp_path / "s.py",
        "import signal, sys, time, pathlib\n"
        "def bye(*_):\n    pathlib.Path('bye').write_text('term')\n    sys.exit(5)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "pathlib.Path('ready').touch()\n"
        "time.sleep(60)\n",
    )
    launch = _supervise.Caller.now().launch([sys.executable, "-u", str(script)])
    launch.cwd = str(tmp_path)
    with anyio.fail_after(30):
        outcome = await _supervise.supervise(launch, timeout=1, grace=5)
    assert outcome.timed_out
    assert outcome.signals_sent == ["SIGTERM"]
    assert outcome.returncode == 5
    assert (tmp_path / "bye").read_text() == "term"


@pytest.mark.parametrize("body", ["", "import yanex\n"])
def test_modules_of_a_script_that_calls_no_yanex_function(
    work_dir: Path, store_dir: Path, body: str
) -> None:
    """A script that calls nothing of yanex (none, or a bare `import yanex`) finds exactly
    the modules python gives it on the pool path: nothing is preloaded for it, and the
    start-up hook leaves nothing behind."""
    script = write_script(
        work_dir / "mods.py",
        body + "import json, sys\njson.dump(sorted(sys.modules), open(sys.argv[1], 'w'))\n",
    )
    env = dict(os.environ, YANEX_LAUNCH_PATH="pool")
    subprocess.run([sys.executable, "-u", script.name, "python.json"], env=env, check=True)
    res = run_cli_subprocess("run", script.name, "yanex.json", env=env)
    assert res.returncode == 0, res.stderr
    expected = json.loads((work_dir / "python.json").read_text())
    assert json.loads((work_dir / "yanex.json").read_text()) == expected
