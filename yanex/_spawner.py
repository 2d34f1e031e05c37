"""The supervisor's side of the spawner process (``_zygote``); used by ``_supervise`` only.

One spawner per supervisor process, started on the first spawn and kept for the life of the
process (forgotten in a forked child, closed at exit). ``spawn()`` creates the stdout and
stderr pipes and a status socket, hands their far ends to the spawner, and returns a
``Child`` whose ``wait()`` reads the exit status the spawner reports. Signals go straight
from the supervisor to the child's process group (``os.killpg``); the spawner only forks and
reaps.

A Python script runs in a forked, pre-initialised interpreter only when the child's
``PYTHON*`` environment is the spawner's own (those variables shape an interpreter at start
up); otherwise, and for every other command, the fork ``exec``s it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio

_lock = threading.Lock()
_state: dict[str, Any] = {}
_PIPE_SIZE = 1024 * 1024
_SOCKET_BUFFER = 4 * 1024 * 1024
_CMDLINE_ROOM = 4096


class SpawnError(OSError):
    """The spawner could not start the child."""


class Child:
    """A child started by the spawner: its pid and, once it has ended, its return code."""

    def __init__(self, status: socket.socket) -> None:
        self._status = status
        self._buffer = b""
        self.pid = 0
        self.returncode: int | None = None

    async def _message(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            await anyio.wait_readable(self._status)
            try:
                data = self._status.recv(4096)
            except BlockingIOError:
                continue
            if not data:  # the spawner died: make sure the child's group died too
                if self.pid > 0:
                    with contextlib.suppress(OSError):
                        os.killpg(self.pid, signal.SIGKILL)
                return {"status": 9}
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return dict(json.loads(line))

    async def started(self) -> None:
        message = await self._message()
        if "error" in message:
            raise SpawnError(f"cannot start the child: {message['error']}")
        self.pid = int(message["pid"])

    async def wait(self) -> int:
        if self.returncode is None:
            message = await self._message()
            self.returncode = os.waitstatus_to_exitcode(int(message["status"]))
        return self.returncode

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._status.close()


def _python_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


def _start() -> dict[str, Any]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
    env = dict(os.environ)
    proc = subprocess.Popen(
        # the padding reserves room to show each child's own command line (see _zygote)
        [sys.executable, "-u", "-m", "yanex._zygote", str(theirs.fileno()), "-" * _CMDLINE_ROOM],
        pass_fds=(theirs.fileno(),),
        # not our stdout/stderr: a caller reading them to end-of-file must not wait for us
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    theirs.close()
    return {"owner": os.getpid(), "control": ours, "proc": proc, "python_env": _python_env(env)}


def _current() -> dict[str, Any]:
    with _lock:
        proc = _state.get("proc")
        if _state.get("owner") != os.getpid() or proc is None or proc.poll() is not None:
            _state.update(_start())
        return dict(_state)


def warm_up() -> None:
    """Start the spawner if this process has none (it imports while the caller works)."""
    _current()


def _close() -> None:
    with _lock:
        if _state.get("owner") != os.getpid():
            return
        # End-of-file tells the spawner to stop (killing any child left, there should be none).
        # Not waited for: it may still be importing, and it exits by itself once it reads EOF.
        _state["control"].close()
        _state.clear()


def _forget_after_fork() -> None:
    # The spawner belongs to the parent. Our copy of its lifeline must go, or the spawner
    # would not see the parent die while this child lives.
    control = _state.get("control")
    if control is not None:
        with contextlib.suppress(OSError):
            control.close()
    _state.clear()


atexit.register(_close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    os.set_blocking(read_end, False)
    return read_end, write_end


def _request(
    spawner: dict[str, Any], argv: list[str], env: dict[str, str], cwd: Path | None, python: bool
) -> tuple[socket.socket, int, int]:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    mine.setblocking(False)
    out_r, out_w = _pipe()
    err_r, err_w = _pipe()
    in_place = python and _python_env(env) == spawner["python_env"]
    request: dict[str, Any] = {
        "mode": "python" if in_place else "exec",
        "argv": argv[2:] if in_place else argv,
        "env": env,
        "cwd": str(cwd) if cwd is not None else None,
    }
    try:
        socket.send_fds(
            spawner["control"], [json.dumps(request).encode()], [theirs.fileno(), out_w, err_w]
        )
    except OSError:
        for fd in (out_r, err_r):
            os.close(fd)
        mine.close()
        raise
    finally:
        for fd in (out_w, err_w):
            os.close(fd)
        theirs.close()
    return mine, out_r, err_r


async def spawn(
    argv: list[str], *, env: dict[str, str], cwd: Path | None, python_script: bool
) -> tuple[Child, int, int]:
    """Start ``argv``; returns the child and the read ends of its stdout and stderr."""
    if cwd is not None and not Path(cwd).is_dir():
        raise SpawnError(f"working directory does not exist: {cwd}")
    try:
        status, out_r, err_r = _request(_current(), argv, env, cwd, python_script)
    except (BrokenPipeError, ConnectionError):  # the spawner died: start a new one, once
        with _lock:
            _state.clear()
        status, out_r, err_r = _request(_current(), argv, env, cwd, python_script)
    child = Child(status)
    try:
        with anyio.CancelScope(shield=True):
            await child.started()
    except BaseException:
        child.close()
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    return child, out_r, err_r
