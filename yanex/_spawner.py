"""The supervisor's side of the spawner process (``_spawnd``); used by ``_supervise`` only.

One spawner per supervisor process, started on first use and kept for the life of the
process (forgotten in a forked child, closed at exit). A ``Launch`` says exactly what to
start: argv, environment, working directory, umask and stdin, all taken from the caller at
the moment of its call. ``spawn()`` returns a ``Child`` with the read ends of its stdout and
stderr; its ``wait()`` reads the exit status the spawner reports. Signals go straight from
the supervisor to the child's process group (``os.killpg``).

Launch paths (``YANEX_LAUNCH_PATH``): ``pool`` (the default where it works) lets the spawner
start a Python script's interpreter ahead of need with ``prepare()``; ``exec`` starts every
child at the moment of ``spawn()``. Both run the script as ``python -u script args`` would
run; see ``_warm`` for how a prepared interpreter hides that it was prepared.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from yanex._context import ENV_LAUNCH_PATH
from yanex._spawnd import HEADER
from yanex._start import base_env
from yanex.errors import ConfigError, SpawnError

PATHS = ("pool", "exec")
_SOCKET_BUFFER = 4 * 1024 * 1024

_lock = threading.Lock()
_state: dict[str, Any] = {}


@dataclass
class Launch:
    """One child to start, exactly as the caller would start it at the moment of its call.

    ``stdin`` is a descriptor to give the child as its stdin (the caller's own, for a single
    ``yanex run``), or None for an empty stdin. ``python`` says ``argv`` is
    ``[python, "-u", script, *args]``, which the pool path may prepare ahead of need;
    ``ahead`` is how many more launches like this one the caller will ask for soon.
    ``foreground``: ``stdin`` is the terminal we are the foreground of; the child takes it
    over while it runs (see ``_spawnd``).
    """

    argv: list[str]
    env: dict[str, str]
    cwd: str
    umask: int
    stdin: int | None = None
    python: bool = False
    ahead: int = 0
    foreground: bool = False
    limits: list[tuple[int, int, int]] = field(default_factory=list)  # (resource, soft, hard)
    nice: int | None = None

    def key(self) -> str:
        """What a prepared interpreter must share with this launch to serve it."""
        stdin = None
        if self.stdin is not None:
            st = os.fstat(self.stdin)
            stdin = [st.st_dev, st.st_ino, st.st_rdev]
        env = sorted(base_env(self.env).items())
        blob = json.dumps(
            [self.argv, env, self.cwd, self.umask, stdin, self.foreground, self.limits, self.nice]
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def fields(self) -> dict[str, Any]:
        return {
            "argv": self.argv,
            "env": self.env,
            "cwd": self.cwd,
            "umask": self.umask,
            "foreground": self.foreground,
            "home": os.getpgrp(),
            "limits": self.limits,
            "nice": self.nice,
        }


def launch_path() -> str:
    """``exec`` (the default) or ``pool``, as ``$YANEX_LAUNCH_PATH`` says; ``pool`` where
    this system cannot have it is ``exec``.

    Why exec by default: measured on 2 cores (bench/README.md), preparing interpreters ahead
    saved nothing a user would notice (a single run: within 2 ms either way; a 32-run sweep
    at -j 2: the same for tracked scripts, 20% slower for empty ones, the cores being busy
    anyway), and exec is python itself, with nothing left to tell apart.
    """
    raw = os.environ.get(ENV_LAUNCH_PATH, "").strip().lower()
    if raw and raw not in PATHS:
        raise ConfigError(f"{ENV_LAUNCH_PATH} must be 'pool' or 'exec', not {raw!r}")
    if raw == "pool" and pool_supported():
        return "pool"
    return "exec"


def pool_supported() -> bool:
    """The pool needs its start-up hook as a real file (not inside a zip) and fd passing."""
    from yanex import _warm

    return hasattr(socket, "send_fds") and Path(_warm.BOOT_DIR, "sitecustomize.py").is_file()


class Child:
    """A child started by the spawner: its pid, its output pipes and, later, its exit."""

    def __init__(self, status: socket.socket) -> None:
        self._status = status
        self._buffer = b""
        self._fds: list[int] = []
        self.pid = 0
        self.via = ""
        self.returncode: int | None = None
        self.usage: dict[str, float] | None = None  # the kernel's account of it, once reaped

    async def _message(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            await anyio.wait_readable(self._status)
            try:
                data, fds, _flags, _addr = socket.recv_fds(self._status, 4096, 2)
            except BlockingIOError:
                continue
            self._fds += fds
            if not data:  # the spawner died: make sure the child's group died too
                if self.pid > 0:
                    with contextlib.suppress(OSError):
                        os.killpg(self.pid, signal.SIGKILL)
                return {"returncode": -signal.SIGKILL}
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return dict(json.loads(line))

    async def started(self) -> tuple[int, int]:
        """Wait until the child runs; returns the read ends of its stdout and stderr."""
        message = await self._message()
        if "error" in message:
            raise SpawnError(message["error"])
        self.pid = int(message["pid"])
        self.via = str(message.get("via", ""))
        if len(self._fds) != 2:
            raise SpawnError("the spawner sent no output pipes")
        out_r, err_r = self._fds
        self._fds = []
        for fd in (out_r, err_r):  # already enlarged by the spawner, which made them
            os.set_blocking(fd, False)
        return out_r, err_r

    async def wait(self) -> int:
        if self.returncode is None:
            message = await self._message()
            self.returncode = int(message["returncode"])
            usage = message.get("usage")
            if isinstance(usage, dict):
                self.usage = {k: float(v) for k, v in usage.items()}
        return self.returncode

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self._status.close()


def _start() -> dict[str, Any]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(OSError):
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
    proc = subprocess.Popen(
        [sys.executable, "-m", "yanex._spawnd", str(theirs.fileno())],
        pass_fds=(theirs.fileno(),),
        # not our stdout/stderr: a caller reading them to end-of-file must not wait for us
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # our session (a foreground child must be in the terminal's), not our process group
        # (the terminal's Ctrl-C and Ctrl-Z are not for the spawner)
        process_group=0,
    )
    theirs.close()
    return {"owner": os.getpid(), "control": ours, "proc": proc}


def _current() -> dict[str, Any]:
    with _lock:
        proc = _state.get("proc")
        if _state.get("owner") != os.getpid() or proc is None or proc.poll() is not None:
            _state.update(_start())
        return dict(_state)


def warm_up() -> None:
    """Start the spawner if this process has none (it starts while the caller works)."""
    _current()


def _close() -> None:
    with _lock:
        if _state.get("owner") != os.getpid():
            return
        # End-of-file tells the spawner to stop, killing anything it still holds.
        _state["control"].close()
        _state.clear()


def _forget_after_fork() -> None:
    # The spawner belongs to the parent. Our copy of its lifeline must go, or the spawner
    # would not see the parent die while this child lives. The lock may have been held by
    # a thread that did not come along.
    global _lock  # noqa: PLW0603  re-created in a forked child
    _lock = threading.Lock()
    control = _state.get("control")
    if control is not None:
        with contextlib.suppress(OSError):
            control.close()
    _state.clear()


atexit.register(_close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _send(request: dict[str, Any], fds: list[int]) -> None:
    body = json.dumps(request).encode()
    head = HEADER.pack(len(body), len(fds))
    for attempt in (1, 2):
        control = _current()["control"]
        try:
            with _lock:
                socket.send_fds(control, [head], fds)
                control.sendall(body)
            return
        except (BrokenPipeError, ConnectionError):  # the spawner died: start a new one, once
            with _lock:
                _state.clear()
            if attempt == 2:
                raise


def prepare(launch: Launch, count: int = 1, *, ensure: bool = False) -> None:
    """Ask for ``count`` more interpreters to be started for launches like ``launch`` (pool
    path); with ``ensure``, only as many as it takes to have ``count`` ready."""
    if count <= 0 or not launch.python or launch_path() != "pool":
        return
    fds = [] if launch.stdin is None else [launch.stdin]
    request = {"op": "prepare", "key": launch.key(), "count": count, "ensure": ensure}
    _send({**request, **launch.fields()}, fds)


def drop(launch: Launch) -> None:
    """Stop the interpreters prepared for launches like ``launch`` that were not used."""
    if launch.python and _state.get("owner") == os.getpid():
        with contextlib.suppress(OSError):
            _send({"op": "drop", "key": launch.key()}, [])


def resume() -> None:
    """We were continued after a stop (``fg``/``bg``): so are our stopped foreground children."""
    if _state.get("owner") == os.getpid():
        with contextlib.suppress(OSError):
            _send({"op": "resume"}, [])


async def spawn(launch: Launch) -> tuple[Child, int, int]:
    """Start ``launch``; returns the child and the read ends of its stdout and stderr."""
    if not Path(launch.cwd).is_dir():  # noqa: ASYNC240  one stat, not worth a thread hop
        raise SpawnError(f"working directory does not exist: {launch.cwd}")
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    mine.setblocking(False)
    pool = launch.python and launch_path() == "pool"
    request = {"op": "run", "key": launch.key(), "pool": pool, "ahead": launch.ahead}
    try:
        fds = [theirs.fileno()] + ([] if launch.stdin is None else [launch.stdin])
        _send({**request, **launch.fields()}, fds)
    except OSError:
        mine.close()
        raise
    finally:
        theirs.close()
    child = Child(mine)
    try:
        with anyio.CancelScope(shield=True):
            out_r, err_r = await child.started()
    except BaseException:
        child.close()
        raise
    return child, out_r, err_r
