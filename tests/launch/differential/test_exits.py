"""Ways a script ends: its exit status, its last words on stderr, and how yanex records them."""

from __future__ import annotations

import re
import time

import pytest

from tests.launch.differential.harness import Case, Run, check, wait_for


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
def test_sys_exit_with_message(case: Case, via: str) -> None:
    """sys.exit("msg"): the message on stderr, exit status 1, recorded failed."""

    def expect(ref: Run) -> None:
        assert (ref.returncode, ref.stderr) == (1, b"giving up\n")

    check(
        case,
        """
        import sys
        print("before")
        sys.exit("giving up")
    """,
        via=via,
        expect=expect,
    )


def test_sys_exit_code(case: Case) -> None:
    """sys.exit(3) from inside a function, after a finally block printed."""

    def expect(ref: Run) -> None:
        assert (ref.returncode, ref.stdout) == (3, b"finally\n")

    check(
        case,
        """
        import sys
        def main():
            try:
                sys.exit(3)
            finally:
                print("finally")
        main()
    """,
        expect=expect,
    )


def test_sys_exit_256_is_success(case: Case) -> None:
    """The exit status is taken modulo 256: sys.exit(256) is a success for python."""

    def expect(ref: Run) -> None:
        assert ref.returncode == 0

    check(case, "import sys\nsys.exit(256)\n", expect=expect)


@pytest.mark.parametrize("args", [["--lr", "0.5"], ["--help"], ["--lr", "x", "--bogus"]])
def test_argparse_uses_argv(case: Case, args: list[str]) -> None:
    """argparse names the program after argv[0]: --help prints usage and exits 0; a bad
    argument prints usage and an error on stderr and exits 2."""

    def expect(ref: Run) -> None:
        assert b"s.py" in ref.stdout + ref.stderr or ref.stdout == b"lr=0.5\n"

    check(
        case,
        """
        import argparse
        parser = argparse.ArgumentParser(description="A tiny trainer.")
        parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
        print(f"lr={parser.parse_args().lr}")
        """,
        *args,
        expect=expect,
    )


def test_os_exit_skips_teardown(case: Case) -> None:
    """os._exit(4): no atexit, no flush of buffered files (the file stays empty)."""

    def expect(ref: Run) -> None:
        assert ref.returncode == 4 and ref.files["lost.txt"][2] == b""
        assert ref.stdout == b"unbuffered print\n"

    check(
        case,
        """
        import atexit, os
        atexit.register(print, "atexit must not run")
        lost = open("lost.txt", "w")
        lost.write("never flushed\\n")
        print("unbuffered print")
        os._exit(4)
    """,
        expect=expect,
    )


@pytest.mark.parametrize("via", ["cli", "run_multiple", "staged"])
def test_uncaught_exception_traceback(case: Case, via: str) -> None:
    """The traceback starts at the script: no launcher frames, same lines, exit 1."""

    def expect(ref: Run) -> None:
        assert ref.returncode == 1
        assert ref.stderr.startswith(b'Traceback (most recent call last):\n  File "')

    check(
        case,
        """
        def inner(values):
            return values["missing"]
        def outer():
            return inner({})
        print("working")
        outer()
    """,
        via=via,
        expect=expect,
    )


def test_keyboard_interrupt_raised_by_script(case: Case) -> None:
    """An uncaught KeyboardInterrupt: traceback, then python kills itself with SIGINT."""

    def expect(ref: Run) -> None:
        assert ref.returncode == -2 and ref.stderr.endswith(b"KeyboardInterrupt\n")

    check(
        case,
        """
        def stop():
            raise KeyboardInterrupt
        stop()
    """,
        expect=expect,
    )


# faulthandler prints the crashing thread's pthread address, which differs between any two
# runs of python itself.
def _thread_address(data: bytes) -> bytes:
    return re.sub(rb"(Current thread|Thread) 0x[0-9a-f]+", rb"\1 0xADDR", data)


def test_segfault_with_faulthandler(case: Case) -> None:
    """A crash in C code: death by SIGSEGV, recorded failed with the signal, faulthandler's
    report (the script's frames only) kept in stderr."""

    def expect(ref: Run) -> None:
        assert ref.returncode == -11 and b"Fatal Python error: Segmentation fault" in ref.stderr

    check(
        case,
        """
        import ctypes, faulthandler
        faulthandler.enable()
        print("about to crash")
        def crash():
            ctypes.string_at(0)
        crash()
    """,
        normalise=_thread_address,
        expect=expect,
    )


def test_segfault_without_faulthandler(case: Case) -> None:
    """Without faulthandler python prints nothing; the signal is still recorded."""

    def expect(ref: Run) -> None:
        assert (ref.returncode, ref.stderr) == (-11, b"")

    check(case, "import ctypes\nprint('crash')\nctypes.string_at(0)\n", expect=expect)


def test_syntax_error_in_the_script(case: Case) -> None:
    """A script that does not compile: python's SyntaxError report, exit status 1."""

    def expect(ref: Run) -> None:
        assert ref.returncode == 1 and ref.stderr.endswith(b"SyntaxError: invalid syntax\n")

    check(case, "print('fine')\ndef broken(:\n    pass\n", expect=expect)


def test_background_process_is_stopped_with_the_script(case: Case) -> None:
    """The one deliberate difference from ``python -u``: a process the script leaves running
    in its process group (here a background ``sh`` with its stdio on /dev/null) is stopped
    when the script ends, because a supervisor never leaves children behind (README, "How
    a script is run"). Under python it would finish its work; under yanex it never does,
    and nothing of it is left running."""
    case.write(
        "s.py",
        "import subprocess\n"
        "subprocess.Popen(['sh', '-c', 'sleep 0.5; echo finished > bg.txt'],\n"
        "                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,\n"
        "                 stderr=subprocess.DEVNULL)\n"
        "print('script done')\n",
    )
    ref = case.python("s.py")
    assert wait_for(case.path("bg.txt").exists, 10), "the reference's background job"
    case.path("bg.txt").unlink()
    got = case.run("cli", "s.py")
    assert got.stdout == ref.stdout == b"script done\n"
    time.sleep(1.0)  # twice the time the job would need
    assert not case.path("bg.txt").exists()
