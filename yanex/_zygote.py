"""The spawner process: one per supervisor, it forks every supervised child.

Starting a fresh interpreter per experiment (plus a watchdog interpreter to make it die with
its supervisor) cost more than the experiments themselves for short runs. Instead the
supervisor starts this process once; it imports the Run API ahead of time and then waits on
a control socket. For each request it forks a child that starts a new session (so signals
reach the child's whole process group), wires the given pipes to stdout and stderr, takes
the requested environment and working directory, and then either ``exec``s a command
(bash scripts, anything that is not a Python script) or runs a Python script in place with
``runpy`` the way ``python -u script`` would: ``sys.argv``, ``sys.path[0]``, ``__main__``,
exit codes, uncaught exceptions and KeyboardInterrupt behave the same, and tracebacks start
at the script as they would.

The control socket is the lifeline: when the supervisor dies, even by SIGKILL, the socket
reads end-of-file and this process kills every child's process group, then exits. Exit
statuses go back to the supervisor on a per-child status socket (``pid`` first, then the
raw wait status).

Protocol (``SOCK_SEQPACKET``, one request per message, three descriptors attached: the
status socket, the stdout and the stderr write ends): a JSON object with ``mode``
("exec" or "python"), ``argv``, ``env`` and ``cwd``.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import sys
from typing import Any

_MAX_REQUEST = 1 << 20


# Imported ahead of time, one by one between requests, so that a request that arrives
# while the spawner is still starting is served at once (its child imports what it needs).
PRELOAD = ("runpy", "traceback", "msgspec", "yanex._store.store", "yanex._api")


def set_cmdline(words: list[str]) -> None:
    """Show ``words`` as this process's command line (``ps``, ``/proc/PID/cmdline``).

    A forked child would otherwise show the spawner's command line. The kernel reads the
    command line from the argument area of the process's memory, whose bounds
    ``/proc/self/stat`` gives; the spawner is started with a padding argument so that the
    area is large enough. Longer command lines are cut.
    """
    import ctypes

    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])
    except (OSError, IndexError, ValueError):
        return
    size = end - start
    data = b"\0".join(os.fsencode(w) for w in words)[: size - 1]
    ctypes.memmove(start, data.ljust(size, b"\0"), size)


def _reset_child_signals(python: bool) -> None:
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    if python:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    else:  # a command starts with the dispositions a shell expects
        for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)


def _become_child(request: dict[str, Any], out_fd: int, err_fd: int) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.closerange(3, 65536)
    os.environ.clear()
    os.environ.update(request["env"])
    if request.get("cwd"):
        os.chdir(request["cwd"])


def _child_main(request: dict[str, Any], out_fd: int, err_fd: int) -> None:
    """In the forked child: never returns."""
    try:
        python = request["mode"] == "python"
        _reset_child_signals(python)
        _become_child(request, out_fd, err_fd)
        if python:
            set_cmdline([sys.executable, "-u", *request["argv"]])
            _run_python(request["argv"])
        argv = request["argv"]
        os.execvpe(argv[0], argv, request["env"])
    except OSError as exc:
        os.write(2, f"yanex: cannot start {request['argv'][0]}: {exc.strerror}\n".encode())
    except BaseException as exc:  # never fall back into the spawner's loop
        with contextlib.suppress(BaseException):
            os.write(2, f"yanex: cannot start the experiment: {exc!r}\n".encode())
    os._exit(127)


def _run_python(argv: list[str]) -> None:
    """Run ``argv[0]`` as ``__main__`` like ``python -u``; exits the process."""
    import runpy

    script = os.path.abspath(argv[0])  # noqa: PTH100  pathlib is not loaded before the script
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(script)  # noqa: PTH120
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = _exit_code(exc)
    except KeyboardInterrupt:
        _finalize()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # die by the signal, as python does
    except BaseException as exc:
        _print_from_script(exc, script)
        code = 1
    _finalize()
    os._exit(code)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _print_from_script(exc: BaseException, script: str) -> None:
    """The traceback without runpy's frames, as ``python script`` would print it."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


def _finalize() -> None:
    """What interpreter shutdown would do: join threads, run atexit, flush."""
    import atexit
    import threading

    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


class Spawner:
    """The request loop: fork on request, report exits, kill everything on EOF."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: dict[int, socket.socket] = {}
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._terminate)
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, "control")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")

    def serve(self) -> None:
        import importlib

        preload = list(PRELOAD)
        while True:
            events = self.selector.select(0 if preload else None)
            if not events and preload:
                importlib.import_module(preload.pop(0))
            for key, _ in events:
                if key.data == "control":
                    self._on_request()
                else:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                    self._reap()

    def _on_request(self) -> None:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(self.control, _MAX_REQUEST, 3)
        except OSError:
            msg, fds = b"", []
        if not msg:
            self._terminate()
        status = socket.socket(fileno=fds[0])
        try:
            pid = os.fork()
        except OSError as exc:
            status.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
            status.close()
            pid = -1
        if pid == 0:
            _child_main(json.loads(msg), fds[1], fds[2])
        for fd in fds[1:]:
            os.close(fd)
        if pid > 0:
            self.children[pid] = status
            with contextlib.suppress(OSError):
                status.sendall(f'{{"pid": {pid}}}\n'.encode())
            self._reap()

    def _reap(self) -> None:
        while self.children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            status = self.children.pop(pid, None)
            if status is not None:
                with contextlib.suppress(OSError):
                    status.sendall(f'{{"status": {wait_status}}}\n'.encode())
                status.close()

    def _terminate(self, *_args: object) -> None:
        """The supervisor is gone: no child may outlive it."""
        for pid in list(self.children):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        os._exit(0)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    set_cmdline([sys.executable, "-m", "yanex._zygote", "(yanex spawner)"])
    Spawner(control).serve()


if __name__ == "__main__":
    main()
