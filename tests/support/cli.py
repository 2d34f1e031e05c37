"""Running the real CLI as a user would, and writing the scripts it runs.

``run_cli`` runs a command in this process, through asyncclick's ``CliRunner`` isolation
(stdin, stdout, stderr and environment swapped for the call) and yanex's own entry point
``yanex._cli.main``, so the error lines and exit codes are the ones a user gets. Whatever the
CLI keeps for the life of its process (``--verbose``, warned-once sets, the current
experiment) is reset around each call, as a fresh process would have it. The spawner process
is kept from one call to the next on the exec path, as a program calling the Run API keeps
it (it holds nothing between runs there and starting one costs 50 ms); after a call on the
pool path (which prepares interpreters in it) or with ``YANEX_PLATFORM`` set, it is stopped.
Commands that run an event loop (``yanex run``, ``open``, ``ui``, ``compare``) take their
backend from ``YANEX_ASYNC_BACKEND``: tests of them request the ``cli_backend`` fixture
(tests/conftest.py) to run on asyncio, uvloop and trio.

``run_cli_subprocess`` runs ``python -m yanex`` in a real process: for what only a process
shows (signals, SIGKILL, terminals, start-up and imports, exit on a crash) and for a few
end-to-end checks of ordinary commands.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NoReturn

from asyncclick.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent.parent

_RUNNER = CliRunner()
_stopping: list[subprocess.Popen[bytes]] = []  # spawners told to stop, not yet reaped


def run_cli_subprocess(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m yanex ARGS`` in its own process, as a user would, capturing its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "yanex", *args],
        cwd=cwd or Path.cwd(),
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``yanex ARGS`` in this process; the result reads like ``run_cli_subprocess``'s.

    ``env`` is applied to ``os.environ`` for the call, ``cwd`` is the working directory for
    the call, ``input`` is the stdin (of click's prompts and, through descriptor 0, of the
    scripts ``yanex run`` starts). ``timeout`` is left to pytest-timeout here."""
    del timeout
    from yanex._cli import main

    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("run_cli swaps this process's streams: call it from the main thread")
    _check_backend(args, env)

    code = 0
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        if input is not None:
            stack.enter_context(_stdin_descriptor(input))
        keep_spawner = [False]
        stack.callback(lambda: _reset_process_state(keep_spawner=keep_spawner[0]))
        _reset_process_state(keep_spawner=True)
        stack.enter_context(_RUNNER.isolation(input=input, env=env))
        output = stack.enter_context(_descriptors_captured())
        stack.enter_context(_no_hard_exit())
        try:
            main(list(args))
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # noqa: BLE001  uncaught: what the interpreter prints and does
            traceback.print_exc()
            code = 1
        keep_spawner[0] = _spawner_holds_nothing()
    return subprocess.CompletedProcess(["yanex", *args], code, output[1], output[2])


@contextlib.contextmanager
def _descriptors_captured() -> Iterator[dict[int, str]]:
    """Descriptors 1 and 2 (and ``sys.stdout``/``sys.stderr`` on them, unbuffered) go to two
    files for the call: the CLI copies a script's output straight to descriptors 1 and 2,
    and the order of its own lines among the script's is kept as a terminal would show it.
    Yields {1: stdout, 2: stderr}, filled in at the end."""
    output: dict[int, str] = {}
    streams = (sys.stdout, sys.stderr)
    for stream in streams:
        stream.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        files = {1: out, 2: err}
        saved = {fd: os.dup(fd) for fd in files}
        for fd, file in files.items():
            os.dup2(file.fileno(), fd)
        sys.stdout = _text_on(1, "strict")
        sys.stderr = _text_on(2, "backslashreplace")
        try:
            yield output
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            sys.stdout, sys.stderr = streams
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            output.update({fd: _read_text(file) for fd, file in files.items()})


def _text_on(fd: int, errors: str) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors=errors, write_through=True)


def _read_text(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode("utf-8", "replace")


# Tests of the CLI itself run its event-loop commands on every backend.
MATRIX_TESTS = ("tests/cli/", "tests/ui/")


def _check_backend(args: tuple[str, ...], env: dict[str, str] | None) -> None:
    from yanex._cli._runner import LOOP_COMMANDS, command_name

    test = os.environ.get("PYTEST_CURRENT_TEST", "")
    chosen = "YANEX_ASYNC_BACKEND" in os.environ or "YANEX_ASYNC_BACKEND" in (env or {})
    if test.startswith(MATRIX_TESTS) and command_name(list(args)) in LOOP_COMMANDS and not chosen:
        raise RuntimeError(
            f"yanex {command_name(list(args))} runs an event loop: the test requests the "
            "cli_backend fixture (or sets YANEX_ASYNC_BACKEND) to run on every backend"
        )


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # sys.exit("message"), as the interpreter does
    return 1


def _spawner_holds_nothing() -> bool:
    """Whether the spawner, as the call's environment has it, keeps nothing between runs
    and does not depend on that environment: the exec path, no ``YANEX_PLATFORM``."""
    from yanex import _spawner

    try:
        return _spawner.launch_path() == "exec" and not os.environ.get("YANEX_PLATFORM")
    except ValueError:  # a bad YANEX_LAUNCH_PATH (the ConfigError the CLI reported)
        return False


def _reset_process_state(*, keep_spawner: bool) -> None:
    """What a new ``yanex`` process starts without: state the CLI keeps per process."""
    from yanex import _context, _spawner
    from yanex._core import experiment, patchscan, trust

    if not keep_spawner:
        if _spawner._state.get("owner") == os.getpid():
            _stopping.append(_spawner._state["proc"])
        _spawner._close()  # the spawner and the pool's prepared interpreters end
    _stopping[:] = [proc for proc in _stopping if proc.poll() is None]  # reaped, not waited
    _context._process_stack.clear()
    experiment._env_experiment.clear()
    experiment._git_cache.clear()
    patchscan._memo.clear()
    patchscan._warned.clear()
    trust._warned.clear()


@contextlib.contextmanager
def _no_hard_exit() -> Iterator[None]:
    """``yanex run`` leaves with ``os._exit`` (skipping the interpreter's teardown); in this
    process it raises SystemExit with the same code instead."""
    from yanex._cli import run as run_command

    def exit_now(code: int) -> NoReturn:
        raise SystemExit(code)

    hard = run_command._exit_now
    run_command._exit_now = exit_now  # type: ignore[assignment]
    try:
        yield
    finally:
        run_command._exit_now = hard  # type: ignore[assignment]


@contextlib.contextmanager
def _stdin_descriptor(text: str) -> Iterator[None]:
    """Descriptor 0 reads ``text`` for the call (what a script started by the CLI reads)."""
    with tempfile.TemporaryFile() as source:
        source.write(text.encode())
        source.seek(0)
        saved = os.dup(0)
        os.dup2(source.fileno(), 0)
        try:
            yield
        finally:
            os.dup2(saved, 0)
            os.close(saved)


def write_script(path: Path, body: str) -> Path:
    path.write_text(body)
    return path
