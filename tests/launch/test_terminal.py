"""A single `yanex run` in a terminal hands the terminal to the script, as a shell hands it
to `python`: the script is the foreground, `/dev/tty` works (getpass), Ctrl-C reaches the
script itself, and Ctrl-Z / `fg` stop and continue the whole job; on both launch paths."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import write_script
from tests.support.run import only

YANEX = [sys.executable, "-m", "yanex", "run"]


class Terminal:
    """A program on a pseudo-terminal: type into it, read what it shows."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child execs at once
            os.execvpe(argv[0], argv, env)
        self.seen = b""

    def expect(self, token: bytes, timeout: float = 20) -> bytes:
        deadline = time.monotonic() + timeout
        while token not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    break
        assert token in self.seen, self.seen.decode(errors="replace")
        return self.seen

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exit_code(self) -> int:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:  # keep draining, or a full terminal buffer would block the program
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.seen += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the program did not end")


SCRIPT = """
import getpass, json, os, sys, time
facts = {"foreground": os.tcgetpgrp(0) == os.getpgrp(), "tty": os.isatty(0)}
facts["password"] = getpass.getpass("password: ")
facts["name"] = input("name? ")
json.dump(facts, open("facts.json", "w"))
try:
    print("waiting", flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    open("interrupted", "w").close()
    raise
"""


@pytest.mark.parametrize("path", ["pool", "exec"])
def test_script_owns_the_terminal_and_ctrl_c_reaches_it(
    work_dir: Path, store_dir: Path, path: str
) -> None:
    """The script is the terminal's foreground, getpass reads /dev/tty without echo, input()
    reads the terminal; Ctrl-C raises KeyboardInterrupt in the script, which ends cancelled
    with yanex exiting 130 as python would."""
    write_script(work_dir / "s.py", SCRIPT)
    term = Terminal([*YANEX, "s.py"], dict(os.environ, YANEX_LAUNCH_PATH=path))
    term.expect(b"password: ")
    term.type(b"hunter2\n")
    term.expect(b"name? ")
    term.type(b"ada\n")
    term.expect(b"waiting")
    term.type(b"\x03")
    assert term.exit_code() == 130
    assert b"hunter2" not in term.seen  # not echoed: the script controlled the terminal
    facts = json.loads((work_dir / "facts.json").read_text())
    assert facts == {"foreground": True, "tty": True, "password": "hunter2", "name": "ada"}
    assert (work_dir / "interrupted").exists()
    meta = only(store_dir)
    assert meta["status"] == "cancelled"


@pytest.mark.parametrize("path", ["pool", "exec"])
def test_ctrl_z_and_fg_stop_and_continue_the_job(
    work_dir: Path, store_dir: Path, path: str
) -> None:
    """In an interactive shell, Ctrl-Z stops the job (the shell says Stopped and gets its
    prompt back) and `fg` continues the script where it was, to completion."""
    write_script(
        work_dir / "s.py",
        "import time\nfor i in range(8):\n    print('tick', i, flush=True)\n"
        "    time.sleep(0.2)\nprint('done', flush=True)\n",
    )
    env = dict(os.environ, YANEX_LAUNCH_PATH=path, PS1="$ ", HISTFILE="/dev/null")
    term = Terminal(["bash", "--norc", "--noprofile", "-i"], env)
    term.type(" ".join([*YANEX, "s.py"]).encode() + b"\n")
    term.expect(b"tick 1")
    term.type(b"\x1a")
    seen = term.expect(b"Stopped")
    time.sleep(0.5)  # stopped: no tick may come while it is
    ticks_when_stopped = term.seen.count(b"tick")
    assert term.seen.count(b"tick") == ticks_when_stopped
    assert b"done" not in seen
    term.type(b"fg\n")
    term.expect(b"done")
    term.expect(b"completed")
    term.type(b"exit\n")
    term.exit_code()
    assert only(store_dir)["status"] == "completed"
