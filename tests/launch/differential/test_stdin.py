"""stdin: a single ``yanex run`` hands its stdin to the script (a file, a pipe, a terminal),
so input() and pdb work; experiments of a sweep or of run_multiple read an empty stdin."""

from __future__ import annotations

import fcntl
import os
import subprocess
import termios
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.launch.differential.harness import (
    TIMEOUT,
    Case,
    Run,
    assert_same,
    base_env,
    check,
    kill_session,
    wait_for,
    with_dump,
)


def _cli_shows(case: Case, ref: Run, stdin: bytes) -> None:
    """The terminal of ``yanex run`` shows the script's stdout as it comes (the user's view)."""
    proc = case.popen_cli("s.py", stdin=subprocess.PIPE)
    runs, out, _err = case.finish_cli(proc, stdin)
    _terminal_shows(runs, ref.stdout, out)
    assert_same(ref, runs)


def _terminal_shows(runs: list[Run], wanted: bytes, shown: bytes) -> None:
    """Note on the run when the CLI's own stdout lacks what the script wrote."""
    if wanted not in shown:
        runs[0].notes.append(f"the CLI printed {shown!r}, the script wrote {wanted!r}")


def test_stdin_redirected_from_a_file(case: Case) -> None:
    """``yanex run s.py < input.bin``: the script reads the file itself (binary, 200 kB), as
    a seekable regular file on fd 0."""
    data = bytes(range(256)) * 800 + b"\r\nlast line without newline"
    source = case.root / "input.bin"
    source.write_bytes(data)
    case.write(
        "s.py",
        with_dump(
            """
            import hashlib, os, stat, sys
            st = os.fstat(0)
            data = sys.stdin.buffer.read()
            with open("got.bin", "wb") as f:
                f.write(data)
            print(len(data), hashlib.sha256(data).hexdigest())
            obs = {"regular_file": stat.S_ISREG(st.st_mode), "seekable": sys.stdin.seekable(),
                   "isatty": sys.stdin.isatty()}
            """
        ),
    )
    with source.open("rb") as stdin:
        ref = case.finish_python(case.popen_python("s.py", stdin=stdin))
    assert ref.files["got.bin"][2] == data and ref.obs["obs.json"]["regular_file"]
    with source.open("rb") as stdin:
        runs, out, _err = case.finish_cli(case.popen_cli("s.py", stdin=stdin))
    _terminal_shows(runs, ref.stdout, out)
    assert_same(ref, runs)


def test_input_reads_lines_from_a_pipe(case: Case) -> None:
    """input() twice from a pipe: the prompts go to stdout, the answers come from stdin."""
    stdin = b"alice\n42\nnot read\n"

    def expect(ref: Run) -> None:
        assert ref.stdout == b"name? age? alice is 42\n", ref.stderr

    ref, _ = check(
        case,
        """
        name = input("name? ")
        age = input("age? ")
        print(name, "is", age)
        """,
        stdin=stdin,
        expect=expect,
    )
    _cli_shows(case, ref, stdin)


def test_breakpoint_driven_through_stdin(case: Case) -> None:
    """breakpoint() stops in pdb, which reads its commands from stdin (``p x + 1``, ``c``)."""
    stdin = b"p x + 1\nc\n"

    def expect(ref: Run) -> None:
        assert b"(Pdb) 42\n(Pdb) done 41\n" in ref.stdout, ref.stdout + ref.stderr

    ref, _ = check(
        case,
        """
        x = 41
        breakpoint()
        print("done", x)
        """,
        stdin=stdin,
        expect=expect,
    )
    _cli_shows(case, ref, stdin)


EMPTY_STDIN = """
import os, sys
print(repr(sys.stdin.read()), os.path.realpath("/proc/self/fd/0"))
"""


@pytest.mark.parametrize("via", ["sweep-j2", "run_multiple", "aio_as_completed"])
def test_experiments_of_a_sweep_read_empty_stdin(case: Case, via: str) -> None:
    """Experiments of a parallel sweep (and of run_multiple) get /dev/null on stdin, even
    when the caller's stdin has data."""
    case.write("s.py", EMPTY_STDIN)
    ref = case.python("s.py")  # stdin: /dev/null
    assert ref.stdout == b"'' /dev/null\n"
    if via == "sweep-j2":
        runs = case.cli("s.py", options=["-p", "i=list(1, 2)", "-j", "2"], stdin=b"secret\n")
    else:
        runs = case.drive([["run", [["s.py", []], ["s.py", []]], 2]], via, stdin=b"secret\n")
    assert len(runs) == 2
    assert_same(ref, runs)


# --- a terminal ----------------------------------------------------------------------------

TERMINAL = with_dump(
    """
    import os, sys
    try:  # is the terminal this process's controlling terminal, with its group in front?
        foreground = os.tcgetpgrp(0) == os.getpgrp()
    except OSError as exc:
        foreground = f"tcgetpgrp: {exc.strerror}"
    try:  # getpass and pagers open /dev/tty, the controlling terminal
        os.close(os.open("/dev/tty", os.O_RDWR))
        dev_tty = "opens"
    except OSError as exc:
        dev_tty = exc.strerror
    obs = {"stdin_isatty": sys.stdin.isatty(), "foreground": foreground, "dev_tty": dev_tty}
    open("ready", "w").close()
    obs["line"] = input("name? ")
    print("hello", obs["line"])
    """
)


class Terminal:
    """A pseudo-terminal whose slave is the controlling terminal of a new session."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: every slave descriptor is closed
                return
            if not chunk:
                return
            self.output += chunk

    def popen_kwargs(self, outputs_on_tty: bool) -> dict[str, Any]:
        def make_controlling() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        tty = {"stdin": self.slave, "start_new_session": True, "preexec_fn": make_controlling}
        if outputs_on_tty:
            tty.update(stdout=self.slave, stderr=self.slave)
        return tty

    def started(self) -> None:
        os.close(self.slave)
        self._reader.start()

    def type_line(
        self, proc: subprocess.Popen[bytes], ready: Path, line: bytes, prompt: bytes
    ) -> list[str]:
        """Wait for the script to be at input(), then type ``line``; problems seen."""
        problems = []
        wait_for(lambda: ready.exists() or proc.poll() is not None, TIMEOUT / 2)
        if not ready.exists():
            return ["the script never reached input()"]
        if not wait_for(lambda: prompt in self.output, 5):
            problems.append(f"prompt {prompt!r} not shown on the terminal: {bytes(self.output)!r}")
        os.write(self.master, line)
        return problems

    def close(self) -> None:
        self._reader.join(timeout=5)
        os.close(self.master)


def _stopped_processes(sid: int) -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        try:
            stat = Path(entry.path, "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if entry.name.isdigit() and int(fields[3]) == sid and fields[0] in "tT":
            found.append(stat.split(")")[0] + ")")
    return found


def _wait_in_session(proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        stopped = _stopped_processes(proc.pid)
        kill_session(proc.pid)
        proc.wait()
        pytest.fail(f"{what} did not finish after the line was typed; stopped: {stopped}")


def test_input_from_a_terminal(case: Case) -> None:
    """``yanex run s.py`` in a terminal: the script reads the line typed on the terminal.

    Under yanex the script's stdout and stderr are captured, so they are not the terminal:
    input() then writes its prompt to stdout and reads stdin without readline, and the
    bytes on the terminal differ (no echo handling by readline, no CRLF of the tty). So the
    byte-exact reference is ``python -u s.py`` with stdin on the terminal and stdout/stderr
    on pipes; a second reference with everything on the terminal checks the line received.
    The prompt must reach the terminal before the user types (yanex streams it). As under
    a shell, the terminal is the script's controlling terminal with the script's process
    group in the foreground (``/dev/tty`` opens: getpass and pagers use it)."""
    case.write("s.py", TERMINAL)
    line = b"alice\n"

    full = Terminal()  # python -u entirely on the terminal: what a user sees without yanex
    proc = case.popen_python("s.py", **full.popen_kwargs(True))
    full.started()
    problems = full.type_line(proc, case.path("ready"), line, b"name? ")
    _wait_in_session(proc, "python -u")
    full.close()
    assert not problems, problems
    assert b"hello alice" in full.output and proc.returncode == 0, bytes(full.output)

    term = Terminal()  # the byte-exact reference: stdin on the terminal, outputs on pipes
    proc = case.popen_python("s.py", **term.popen_kwargs(False))
    term.started()
    assert not term.type_line(proc, case.path("ready"), line, b"")
    ref = case.finish_python(proc)
    term.close()
    want = {"stdin_isatty": True, "foreground": True, "dev_tty": "opens", "line": "alice"}
    assert ref.obs["obs.json"] == want

    term = Terminal()  # yanex run with stdin, stdout and stderr on the terminal
    proc = case.popen_cli("s.py", **term.popen_kwargs(True))
    term.started()
    problems = term.type_line(proc, case.path("ready"), line, b"name? ")
    _wait_in_session(proc, "yanex run")
    term.close()
    runs = case.experiments(f"yanex run [{case.launch_path}] in a terminal")
    if b"hello alice" not in term.output:
        problems.append(f"the terminal does not show the script's output: {bytes(term.output)!r}")
    runs[0].notes.extend(problems)
    assert_same(ref, runs)


def test_grandchild_reads_the_same_stdin(case: Case) -> None:
    """A process the script starts inherits stdin too: ``cat`` copies the rest of it."""
    stdin = b"first\nsecond\nthird\n"

    def expect(ref: Run) -> None:
        assert ref.stdout == b"script read 'first\\n'\nsecond\nthird\ndone\n"

    check(
        case,
        textwrap.dedent(
            """
            import os, subprocess, sys
            first = os.read(0, 6)  # exactly "first\\n", nothing buffered beyond it
            print("script read", repr(first.decode()))
            subprocess.run(["cat"], check=True)
            print("done")
            """
        ),
        stdin=stdin,
        env=base_env(),
        expect=expect,
    )
