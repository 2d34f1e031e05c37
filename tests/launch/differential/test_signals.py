"""Signals: a SIGTERM handler the script installs runs on ``--timeout`` and on Ctrl-C (after
the SIGINT it survives), its files are kept, and the recorded statuses say what happened."""

from __future__ import annotations

import re
import signal
import time

import pytest

from tests.launch.differential.harness import Case, Run, assert_same, check, wait_for

GRACE = "1"  # YANEX_KILL_GRACE: seconds between SIGINT, SIGTERM and SIGKILL

# Writes "ready" when its handlers are in place; on SIGTERM writes term.txt and exits 7.
# A buffered file is left open: it must be flushed by the exit the handler starts.
HANDLER = """
import signal, sys, time
def log(event):
    with open("events.txt", "a") as f:
        f.write(event + "\\n")
def on_term(signum, frame):
    log("handler ran for " + signal.Signals(signum).name)
    print("cleaning up")
    sys.exit(7)
signal.signal(signal.SIGTERM, on_term)
partial = open("partial.txt", "w")
partial.write("partial results\\n")
"""

TIMEOUT_SCRIPT = (
    HANDLER
    + """
open("ready", "w").close()
time.sleep(60)
"""
)

CATCHES_CTRL_C = (
    HANDLER
    + """
try:
    open("ready", "w").close()  # inside the try: a SIGINT right after it is caught too
    time.sleep(60)
except KeyboardInterrupt:
    log("KeyboardInterrupt caught, carrying on")
    print("interrupted, carrying on")
    time.sleep(60)
"""
)

IGNORES_CTRL_C = (
    HANDLER
    + """
signal.signal(signal.SIGINT, signal.SIG_IGN)
open("ready", "w").close()
time.sleep(60)
"""
)


def _reference(case: Case, script: str, *signals: signal.Signals, after_first: str = "") -> Run:
    """python -u started by the test, sent ``signals`` once it is ready (the second one
    once ``events.txt`` shows ``after_first``)."""
    proc = case.popen_python("s.py")
    assert wait_for(case.path("ready").exists), proc.communicate(timeout=10)
    for number, signum in enumerate(signals):
        if number == 1 and after_first:
            assert wait_for(lambda: after_first in _events(case)), _events(case)
        proc.send_signal(signum)
    ref = case.finish_python(proc)
    assert ref.returncode == 7 and "handler ran for SIGTERM" in _events(case), ref.stderr
    return ref


def _events(case: Case) -> str:
    path = case.path("events.txt")
    return path.read_text() if path.exists() else ""


def _status(run: Run, status: str, message: str) -> None:
    """Note on ``run`` unless it was recorded with ``status`` and ``message`` (a regex)."""
    assert run.meta is not None
    text = str(run.meta.get("error_message") or run.meta.get("cancellation_reason") or "")
    if run.meta["status"] != status or not re.search(message, text, re.IGNORECASE):
        run.notes.append(f"status: want {status} ({message}), yanex recorded "
                         f"{run.meta['status']!r}: {text!r}")  # fmt: skip


def test_timeout_runs_the_sigterm_handler(case: Case) -> None:
    """``yanex run --timeout``: SIGTERM reaches the script's handler, whose output and files
    are kept; the experiment is recorded failed with a timeout message."""
    case.write("s.py", TIMEOUT_SCRIPT)
    ref = _reference(case, TIMEOUT_SCRIPT, signal.SIGTERM)
    start = time.monotonic()
    proc = case.popen_cli("s.py", options=["--timeout", "2.5"], control={"YANEX_KILL_GRACE": GRACE})
    runs, _out, err = case.finish_cli(proc)
    assert time.monotonic() - start < 15, err
    assert len(runs) == 1
    if "ready" not in runs[0].files:
        pytest.fail(f"the script was not ready within the timeout:\n{err.decode()}", pytrace=False)
    _status(runs[0], "failed", r"time(d)?[ -]?out")
    assert_same(ref, runs, status=False)


@pytest.mark.parametrize("script", ["catches", "ignores"])
def test_ctrl_c_then_sigterm_handler(case: Case, script: str) -> None:
    """Ctrl-C (SIGINT to ``yanex run``): the script survives SIGINT (catching
    KeyboardInterrupt, or ignoring SIGINT), then the SIGTERM after the grace period runs
    its handler; files kept, experiment cancelled, yanex exits 130."""
    source = CATCHES_CTRL_C if script == "catches" else IGNORES_CTRL_C
    case.write("s.py", source)
    caught = "KeyboardInterrupt caught" if script == "catches" else ""
    ref = _reference(case, source, signal.SIGINT, signal.SIGTERM, after_first=caught)
    proc = case.popen_cli("s.py", control={"YANEX_KILL_GRACE": GRACE})
    ready = wait_for(lambda: case.path("ready").exists() or proc.poll() is not None)
    assert ready and proc.poll() is None, proc.communicate(timeout=10)
    proc.send_signal(signal.SIGINT)
    runs, _out, err = case.finish_cli(proc)
    assert len(runs) == 1
    if proc.returncode != 130:
        runs[0].notes.append(f"yanex run exited {proc.returncode}, not 130: {err.decode()!r}")
    _status(runs[0], "cancelled", r".")
    assert_same(ref, runs, status=False)


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
def test_signals_the_script_sends_itself(case: Case, via: str) -> None:
    """Handlers for SIGTERM and SIGUSR1 run for signals the script sends itself; an
    unhandled SIGUSR2 then kills it, recorded with the signal's name."""
    source = """
        import os, signal
        got = []
        for signum in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(signum, lambda number, frame: got.append(number))
            os.kill(os.getpid(), signum)
        print("handled", got)
        os.kill(os.getpid(), signal.SIGUSR2)
        print("not reached")
        """

    def expect(ref: Run) -> None:
        assert (ref.returncode, ref.stdout) == (-signal.SIGUSR2, b"handled [15, 10]\n")

    check(case, source, via=via, expect=expect)
