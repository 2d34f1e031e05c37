"""The spawner process: one per supervisor; it starts, holds and reaps every supervised child.

The supervisor (``_spawner``, used by ``_supervise`` only) starts this process once and sends
it requests over a Unix stream socket. Every child is started here with ``subprocess`` in a
new session (its process group is its pid, so signals reach a bash script's own children
too), with the stdin, environment, working directory and umask the request names, and its
stdout and stderr on fresh pipes whose read ends go back to the supervisor. Exit statuses go
back on a per-child status socket.

Two ways to start ``python -u script args`` (see ``_warm``):

- exec: start it at the moment of the request;
- pool: start it ahead of need (``prepare``), held at the end of its start-up, and release it
  when the request comes. A request that matches no prepared interpreter (another argv,
  environment, working directory, umask or stdin) falls back to exec.

Being the parent of every child makes this process the lifeline: when the supervisor dies,
even by SIGKILL, the control socket reads end-of-file and every child's process group is
killed before this process exits. It sets no signal to SIG_IGN and blocks none, because
children inherit both; it runs in a process group of its own, so the terminal's Ctrl-C
never reaches it.

A foreground launch (a single ``yanex run`` whose stdin is its terminal) gets the terminal
as a shell's job would: see ``_jobctl``.

Wire format: each request is a header (body length, number of descriptors, sent with the
descriptors attached) and a JSON body. Replies on the status socket are JSON lines: first
``{"pid": N, "via": "pool"|"exec"}`` with the stdout and stderr read ends attached (or
``{"error": "..."}``), then ``{"returncode": N}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yanex import _jobctl, _platform, _warm
from yanex._context import ENV_PREFIX  # per-experiment variables: set on release

HEADER = struct.Struct("!II")  # body length, descriptors attached
MAX_FDS = 4


@dataclass
class Prepared:
    """An interpreter held at the end of its start-up, waiting for its release."""

    proc: subprocess.Popen[bytes]
    control: int  # write end of the release pipe
    out_r: int
    err_r: int


def base_env(env: dict[str, str]) -> dict[str, str]:
    """The environment without the per-experiment ``YANEX_*`` variables."""
    return {k: v for k, v in env.items() if not k.startswith(ENV_PREFIX)}


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    _platform.enlarge_pipe(read_end)
    return read_end, write_end


def start(
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    umask: int,
    stdin: int | None,
    *,
    pass_fds: tuple[int, ...] = (),
    foreground: bool = False,
    take_terminal: bool = False,
    limits: list[tuple[int, int, int]] | None = None,
    nice: int | None = None,
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start ``argv`` in a new session (``foreground``: a new process group in our session,
    which with ``take_terminal`` makes itself the terminal's foreground before it starts);
    returns it and its stdout and stderr read ends. ``limits`` and ``nice`` are the
    caller's resource limits and priority, which the child takes if they are not ours."""
    out_r, out_w = _pipe()
    err_r, err_w = _pipe()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=out_w,
            stderr=err_w,
            env=env,
            cwd=cwd,
            umask=umask,
            start_new_session=not foreground,
            process_group=0 if foreground else None,
            preexec_fn=_before_exec(limits or [], nice, take_terminal),  # noqa: PLW1509  we have no threads
            pass_fds=pass_fds,
        )
    except BaseException:
        _close(out_r, err_r)
        raise
    finally:
        _close(out_w, err_w)
    return proc, out_r, err_r


def _before_exec(
    limits: list[tuple[int, int, int]], nice: int | None, take_terminal: bool
) -> Callable[[], None] | None:
    """What the child must do before it runs, if anything (None keeps vfork's speed)."""
    import resource

    changed = [lim for lim in limits if resource.getrlimit(lim[0]) != (lim[1], lim[2])]
    renice = nice is not None and nice != _platform.niceness()
    if not (changed or renice or take_terminal):
        return None

    def before() -> None:
        _platform.inherit(changed, nice if renice else None)
        if take_terminal:
            _jobctl.take_terminal()

    return before


def prepare(request: dict[str, Any], stdin: int | None) -> Prepared:
    """Start ``request``'s interpreter, to be held by the ``_boot`` hook until released."""
    env = base_env(request["env"])
    pythonpath = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _warm.BOOT_DIR + (os.pathsep + pythonpath if pythonpath else "")
    ctl_r, ctl_w = os.pipe()
    env[_warm.ENV_WARM_FD] = str(ctl_r)
    try:
        proc, out_r, err_r = start(
            request["argv"],
            env,
            request["cwd"],
            request["umask"],
            stdin,
            pass_fds=(ctl_r,),
            foreground=bool(request.get("foreground")),
            limits=[tuple(lim) for lim in request.get("limits", [])],
            nice=request.get("nice"),
        )
    except BaseException:
        _close(ctl_w)
        raise
    finally:
        _close(ctl_r)
    return Prepared(proc, ctl_w, out_r, err_r)


def release(prepared: Prepared, env: dict[str, str]) -> bool:
    """Let a prepared interpreter run its script with ``env``; False if it is gone."""
    if prepared.proc.poll() is not None:
        return False
    wanted = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    data = _warm.encode_release(wanted, [], env.get("PYTHONPATH"))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(prepared.control, view) :]
    except OSError:
        return False
    finally:
        _close(prepared.control)
    return True


class Server:
    """The request loop: start on request, report exits, kill everything on end-of-file."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: dict[int, tuple[subprocess.Popen[bytes], socket.socket]] = {}
        self.prepared: dict[str, list[Prepared]] = {}
        self.foreground: dict[int, _jobctl.Foreground] = {}
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self.terminate)
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, "control")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.data == "control":
                    self._on_request()
                else:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                    self._reap()

    def _receive(self) -> tuple[dict[str, Any], list[int]]:
        head, fds = b"", []
        while len(head) < HEADER.size:
            data, more, _flags, _addr = socket.recv_fds(
                self.control, HEADER.size - len(head), MAX_FDS
            )
            if not data:
                self.terminate()
            head += data
            fds += more
        length, _count = HEADER.unpack(head)
        body = b""
        while len(body) < length:
            data = self.control.recv(length - len(body))
            if not data:
                self.terminate()
            body += data
        return json.loads(body), fds

    def _on_request(self) -> None:
        request, fds = self._receive()
        op = request["op"]
        if op == "prepare":
            stdin = fds[0] if fds else None
            for _ in range(int(request.get("count", 1))):
                self._prepare(request, stdin)
            _close(*fds)
        elif op == "drop":
            for prepared in self.prepared.pop(request["key"], []):
                self._discard(prepared)
        elif op == "resume":
            self._resume()
        else:
            status = socket.socket(fileno=fds[0])
            try:
                self._run(request, status, fds[1] if len(fds) > 1 else None)
            finally:
                _close(*fds[1:])

    def _prepare(self, request: dict[str, Any], stdin: int | None) -> None:
        try:
            prepared = prepare(request, stdin)
        except OSError:
            return  # the request itself will fall back to exec and report the error
        self.prepared.setdefault(request["key"], []).append(prepared)

    def _run(self, request: dict[str, Any], status: socket.socket, stdin: int | None) -> None:
        key = request["key"]
        tty = stdin if request.get("foreground") else None
        started = self._take(key, request["env"], tty) if request.get("pool") else None
        try:
            if started is None:
                started = start(
                    request["argv"],
                    request["env"],
                    request["cwd"],
                    request["umask"],
                    stdin,
                    foreground=tty is not None,
                    take_terminal=tty is not None,
                    limits=[tuple(lim) for lim in request.get("limits", [])],
                    nice=request.get("nice"),
                )
                via = "exec"
            else:
                via = "pool"
        except OSError as exc:
            with contextlib.suppress(OSError):
                status.sendall(json.dumps({"error": _describe(exc, request)}).encode() + b"\n")
            status.close()
            return
        proc, out_r, err_r = started
        self.children[proc.pid] = (proc, status)
        if tty is not None:
            self.foreground[proc.pid] = _jobctl.Foreground(os.dup(tty), int(request["home"]))
        reply = json.dumps({"pid": proc.pid, "via": via}).encode() + b"\n"
        with contextlib.suppress(OSError):
            socket.send_fds(status, [reply], [out_r, err_r])
        _close(out_r, err_r)
        ahead = int(request.get("ahead", 0))
        if request.get("pool") and ahead > len(self.prepared.get(key, [])):
            for _ in range(ahead - len(self.prepared.get(key, []))):
                self._prepare(request, stdin)
        self._reap()

    def _take(
        self, key: str, env: dict[str, str], tty: int | None
    ) -> tuple[subprocess.Popen[bytes], int, int] | None:
        pool = self.prepared.get(key, [])
        while pool:
            prepared = pool.pop(0)
            if tty is not None:
                _jobctl.give_terminal(tty, prepared.proc.pid)
            if release(prepared, env):
                return prepared.proc, prepared.out_r, prepared.err_r
            self._discard(prepared)
        return None

    def _discard(self, prepared: Prepared) -> None:
        _close(prepared.control, prepared.out_r, prepared.err_r)
        with contextlib.suppress(OSError):
            os.killpg(prepared.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            prepared.proc.wait(1)

    def _reap(self) -> None:
        for pid, (proc, status) in list(self.children.items()):
            if not self._ended(proc):
                continue
            del self.children[pid]
            with contextlib.suppress(OSError):
                status.sendall(json.dumps({"returncode": proc.returncode}).encode() + b"\n")
            status.close()
        for key, pool in list(self.prepared.items()):
            for prepared in [p for p in pool if p.proc.poll() is not None]:
                pool.remove(prepared)
                _close(prepared.control, prepared.out_r, prepared.err_r)
            if not pool:
                del self.prepared[key]

    def _ended(self, proc: subprocess.Popen[bytes]) -> bool:
        """Has ``proc`` exited (a foreground child that stopped hands the terminal back)."""
        fg = self.foreground.get(proc.pid)
        if fg is None:
            return proc.poll() is not None
        if not _jobctl.ended(fg, proc):
            return False
        del self.foreground[proc.pid]
        return True

    def _resume(self) -> None:
        """The supervisor was continued: so is each stopped foreground child."""
        _jobctl.resume(self.foreground)

    def terminate(self, *_args: object) -> None:
        """The supervisor is gone: no child may outlive it."""
        procs = [proc for proc, _status in self.children.values()]
        procs += [p.proc for pool in self.prepared.values() for p in pool]
        for proc in procs:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        os._exit(0)


def _describe(exc: OSError, request: dict[str, Any]) -> str:
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(request["cwd"]):  # noqa: PTH112
        return f"working directory does not exist: {request['cwd']}"
    return f"cannot start {request['argv'][0]}: {exc.strerror or exc}"


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    Server(control).serve()


if __name__ == "__main__":
    main()
