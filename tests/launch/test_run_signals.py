"""The supervisor under stress, through the real CLI: Ctrl-C, SIGTERM and SIGKILL of
`yanex run` during a parallel sweep whose scripts start grandchildren, a child that ignores
SIGTERM, a timeout, and a child writing 100 MB. No process may survive, no experiment may
stay 'running'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.cli import run_cli_subprocess, write_script
from tests.support.run import (
    experiments,
    no_process_left,
    pids_with,
    start_cli,
    wait_for,
)

GRACE = "0.3"  # YANEX_KILL_GRACE for these tests: seconds from SIGINT to SIGTERM to SIGKILL

# Starts two grandchildren that ignore SIGINT and SIGTERM (a python sleeper and a bash job),
# signals readiness, then sleeps. With "stubborn" the script ignores them too.
SPAWNER = """
import os, signal, subprocess, sys, time, yanex
marker, ready, mode = sys.argv[1], sys.argv[2], sys.argv[3]
deaf = "import signal, time; [signal.signal(s, signal.SIG_IGN) for s in (2, 15)]; time.sleep(600)"
subprocess.Popen([sys.executable, "-c", deaf, marker])
subprocess.Popen(["bash", "-c", f"trap '' INT TERM; exec -a {marker}-sleep sleep 600 & wait"])
if mode == "stubborn":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:  # leave a trace that SIGINT arrived first, then exit as Python would
    def on_sigint(*_):
        open(os.path.join(ready, yanex.get_experiment_id() + ".sigint"), "w").close()
        sys.exit(130)
    signal.signal(signal.SIGINT, on_sigint)
open(os.path.join(ready, yanex.get_experiment_id()), "w").close()
time.sleep(600)
"""


@pytest.fixture
def sweep(work_dir: Path) -> tuple[Path, Path, str]:
    """(script, readiness directory, unique marker) for a grandchild-spawning sweep."""
    ready = work_dir / "ready"
    ready.mkdir()
    return write_script(work_dir / "spawner.py", SPAWNER), ready, f"yxm-{uuid.uuid4().hex}"


def _start_sweep(
    sweep: tuple[Path, Path, str], mode: str, backend: str = "", grace: str = GRACE
) -> subprocess.Popen:
    script, ready, marker = sweep
    env = {"YANEX_KILL_GRACE": grace}
    if backend:
        env["YANEX_ASYNC_BACKEND"] = backend
    proc = start_cli("run", script.name, marker, str(ready), mode, "-p", "i=range(4)", "-j", "2",
                     env=env)
    # two experiments running, each with its script and both grandchildren
    started = wait_for(lambda: len(os.listdir(ready)) == 2, timeout=20)
    assert started, proc.communicate(timeout=10) if proc.poll() is not None else "not ready"
    assert wait_for(lambda: len(pids_with(marker)) >= 1 + 2 * 3, timeout=10)
    return proc


@pytest.mark.parametrize("backend", ["asyncio", "uvloop", "trio"])
def test_ctrl_c_cancels_parallel_sweep_and_leaves_no_process(
    backend: str, sweep: tuple[Path, Path, str], store_dir: Path
) -> None:
    """SIGINT to `yanex run -j 2`: every child group is stopped (grandchildren that ignore
    SIGINT/SIGTERM included), the running experiments end cancelled, the rest never start,
    and yanex exits 130, on each event-loop backend."""
    marker = sweep[2]
    proc = _start_sweep(sweep, "plain", backend)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 10
    assert proc.returncode == 130, err
    assert no_process_left(marker), pids_with(marker)
    metas = experiments(store_dir)
    assert [m["status"] for m in metas] == ["cancelled", "cancelled"]
    assert all(m["cancellation_reason"] for m in metas)
    assert all((sweep[1] / f"{m['id']}.sigint").exists() for m in metas)  # SIGINT came first
    assert "2 cancelled" in out and "2 not started" in out
    # the scripts' own KeyboardInterrupt tracebacks are shown (tagged with their ids), as
    # a terminal would show them; yanex itself prints none
    assert not any(line.startswith("Traceback") for line in err.splitlines()), err


def test_sigterm_stops_stubborn_children_and_leaves_no_process(
    sweep: tuple[Path, Path, str], store_dir: Path
) -> None:
    """SIGTERM to `yanex run`: scripts that ignore SIGINT and SIGTERM are SIGKILLed after the
    grace periods, are recorded cancelled, and yanex exits 143."""
    marker = sweep[2]
    proc = _start_sweep(sweep, "stubborn")
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert no_process_left(marker), pids_with(marker)
    assert [m["status"] for m in experiments(store_dir)] == ["cancelled", "cancelled"]
    assert "SIGTERM" in err


def test_second_ctrl_c_kills_at_once(sweep: tuple[Path, Path, str], store_dir: Path) -> None:
    """A second SIGINT does not wait for the grace periods: the children are killed now."""
    marker = sweep[2]
    proc = _start_sweep(sweep, "stubborn", grace="30")  # only a second signal ends it quickly
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    proc.communicate(timeout=30)
    assert time.monotonic() - start < 5
    assert proc.returncode == 130
    assert no_process_left(marker)
    assert [m["status"] for m in experiments(store_dir)] == ["cancelled", "cancelled"]


def test_sigkill_of_yanex_leaves_no_process_and_no_running_experiment(
    sweep: tuple[Path, Path, str], store_dir: Path, work_dir: Path
) -> None:
    """SIGKILL of `yanex run`: the spawner kills every child group; the orphaned experiments
    are recognised (pid gone): the next reader reports them failed and records that, with
    the reason."""
    marker = sweep[2]
    proc = _start_sweep(sweep, "stubborn")
    proc.kill()
    proc.wait(timeout=10)
    assert no_process_left(marker), pids_with(marker)
    orphans = experiments(store_dir)
    assert [m["status"] for m in orphans] == ["running", "running"]  # as left on disk
    for orphan in orphans:  # readers already see through it: the pid is gone
        got = run_cli_subprocess("get", "status", orphan["id"])
        assert (got.returncode, got.stdout.strip()) == (0, "failed"), got.stderr
    by_id = {m["id"]: m for m in experiments(store_dir)}
    for orphan in orphans:
        assert by_id[orphan["id"]]["status"] == "failed"
        assert by_id[orphan["id"]]["error_message"]
        assert "supervisor" in by_id[orphan["id"]]["error_message"]


def test_child_ignoring_sigterm_is_killed_on_timeout(store_dir: Path, work_dir: Path) -> None:
    """--timeout stops a child that ignores SIGINT and SIGTERM (SIGKILL after the grace
    periods), its grandchild too, and fails it with a timeout message; exit code 1."""
    marker = f"yxm-{uuid.uuid4().hex}"
    write_script(work_dir / "deaf.py", """
import signal, subprocess, sys, time
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", sys.argv[1]])
print("started", flush=True)
time.sleep(600)
""")
    start = time.monotonic()
    res = run_cli_subprocess(
        "run", "deaf.py", marker, "--timeout", "1", env={"YANEX_KILL_GRACE": GRACE}
    )
    elapsed = time.monotonic() - start
    assert res.returncode == 1
    assert 1 <= elapsed < 10
    meta = experiments(store_dir)[0]
    assert meta["status"] == "failed"
    assert "timed out after 1 s" in meta["error_message"]
    assert "started" in res.stdout
    assert no_process_left(marker), pids_with(marker)


def test_timeout_does_not_touch_quick_experiments(store_dir: Path, work_dir: Path) -> None:
    """In a sweep with --timeout only the slow point fails; the quick ones complete."""
    write_script(work_dir / "t.py", "import time, yanex\ntime.sleep(yanex.get_param('s'))\n")
    res = run_cli_subprocess("run", "t.py", "-p", "s=0,30", "--timeout", "1", "-j", "2",
                             env={"YANEX_KILL_GRACE": GRACE})
    assert res.returncode == 1
    by_sleep = {m["name"]: m for m in experiments(store_dir)}
    assert by_sleep["s=0"]["status"] == "completed"
    assert by_sleep["s=30"]["status"] == "failed"
    assert "timed out" in by_sleep["s=30"]["error_message"]


def test_hundred_megabytes_of_output_captured_with_bounded_memory(
    store_dir: Path, work_dir: Path
) -> None:
    """A child writing 100 MB to stdout: all of it reaches artifacts/stdout.txt and the
    terminal, while the supervisor's peak RSS stays under 80 MB."""
    write_script(work_dir / "big.py", """
import sys
line = b"x" * 1023 + b"\\n"
block = line * 1024
for _ in range(100):
    sys.stdout.buffer.write(block)
""")
    proc = start_cli("run", "big.py")
    hwm = 0
    total = 0
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 1 << 20):
        total += len(chunk)
        hwm = max(hwm, _vm_hwm_kb(proc.pid))
    proc.wait(timeout=60)
    assert proc.returncode == 0
    assert total == 100 * 1024 * 1024
    meta = experiments(store_dir)[0]
    assert (store_dir / meta["id"] / "artifacts" / "stdout.txt").stat().st_size == total
    assert 0 < hwm < 80 * 1024, f"supervisor VmHWM {hwm} KiB"


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def test_children_started_from_a_thread_die_with_a_sigkilled_supervisor() -> None:
    """Children started from a worker thread that then ends (trio starts processes from
    worker threads) keep running while their supervisor lives, and their whole group dies
    when the supervisor is SIGKILLed."""
    marker = f"yxm-{uuid.uuid4().hex}"
    code = f"""
import functools, sys, threading, time
import anyio
from yanex import _supervise
argv = ["bash", "-c", "(exec -a {marker}-a sleep 600) & exec -a {marker}-b sleep 600"]
def spawn():
    launch = _supervise.Caller.now().launch(argv)
    anyio.run(functools.partial(_supervise.supervise, launch), backend="trio")
threading.Thread(target=spawn, daemon=True).start()
print("spawned", flush=True)
time.sleep(600)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    group = lambda: set(pids_with(marker)) - {proc.pid}  # noqa: E731  the two sleepers
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "spawned\n"
        assert wait_for(lambda: len(group()) == 2)
        time.sleep(0.3)
        assert len(group()) == 2
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert wait_for(lambda: not pids_with(marker), timeout=10), pids_with(marker)
