"""The spawner process: one per supervisor; it starts, holds and reaps every supervised child.

The supervisor (``_spawner``, used by ``_supervise`` only) starts this process once and sends
it requests over a Unix stream socket. Every child is started here with ``subprocess`` in a
new session (its process group is its pid, so signals reach a bash script's own children
too), with the stdin, environment, working directory and umask the request names, and its
stdout and stderr on fresh pipes whose read ends go back to the supervisor. Exit statuses go
back on a per-child status socket. How one child is started is ``_start``'s business.

Two ways to start ``python -u script args`` (see ``_warm``):

- exec: start it at the moment of the request;
- pool: start it ahead of need (``_start.prepare``), held at the end of its start-up, and
  release it when the request comes. A request that matches no prepared interpreter (another argv,
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
``{"error": "..."}``), then ``{"returncode": N, "usage": {...}}``: the kernel's account of
the child and the descendants it waited for (``wait4``), ``cpu_seconds`` (user + system)
and ``maxrss_bytes``, or no ``usage`` when it is not known.
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
from typing import Any

from yanex import _jobctl, _start

HEADER = struct.Struct("!II")  # body length, descriptors attached
MAX_FDS = 4


class Server:
    """The request loop: start on request, report exits, kill everything on end-of-file."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: dict[int, tuple[subprocess.Popen[bytes], socket.socket]] = {}
        self.prepared: dict[str, list[_start.Prepared]] = {}
        self.foreground: dict[int, _jobctl.Foreground] = {}
        self.usage: dict[int, Any] = {}  # pid -> its rusage, from reaping it (wait4)
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
            count = int(request.get("count", 1))
            if request.get("ensure"):  # up to count, counting those already there
                count -= len(self.prepared.get(request["key"], []))
            for _ in range(count):
                self._prepare(request, stdin)
            _start.close(*fds)
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
                _start.close(*fds[1:])

    def _prepare(self, request: dict[str, Any], stdin: int | None) -> None:
        try:
            prepared = _start.prepare(request, stdin)
        except OSError:
            return  # the request itself will fall back to exec and report the error
        self.prepared.setdefault(request["key"], []).append(prepared)

    def _run(self, request: dict[str, Any], status: socket.socket, stdin: int | None) -> None:
        key = request["key"]
        tty = stdin if request.get("foreground") else None
        started = self._take(key, request["env"], tty) if request.get("pool") else None
        try:
            if started is None:
                started = _start.start(
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
        _start.close(out_r, err_r)
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
            if _start.release(prepared, env):
                return prepared.proc, prepared.out_r, prepared.err_r
            self._discard(prepared)
        return None

    def _discard(self, prepared: _start.Prepared) -> None:
        _start.close(prepared.control, prepared.out_r, prepared.err_r)
        with contextlib.suppress(OSError):
            os.killpg(prepared.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            prepared.proc.wait(1)

    def _reap(self) -> None:
        for pid, (proc, status) in list(self.children.items()):
            if not self._ended(proc):
                continue
            del self.children[pid]
            reply = {"returncode": proc.returncode, **_usage(self.usage.pop(pid, None))}
            with contextlib.suppress(OSError):
                status.sendall(json.dumps(reply).encode() + b"\n")
            status.close()
        for key, pool in list(self.prepared.items()):
            for prepared in [p for p in pool if p.proc.poll() is not None]:
                pool.remove(prepared)
                _start.close(prepared.control, prepared.out_r, prepared.err_r)
            if not pool:
                del self.prepared[key]

    def _ended(self, proc: subprocess.Popen[bytes]) -> bool:
        """Has ``proc`` exited (a foreground child that stopped hands the terminal back)."""
        fg = self.foreground.get(proc.pid)
        if fg is None:
            return self._waited(proc)
        if not _jobctl.ended(fg, proc):
            return False
        del self.foreground[proc.pid]
        self.usage[proc.pid] = fg.usage
        return True

    def _waited(self, proc: subprocess.Popen[bytes]) -> bool:
        """Reap ``proc`` if it has exited, keeping the kernel's account of it (``wait4``:
        what ``Popen.poll`` does, plus the resource usage)."""
        if proc.returncode is not None:
            return True
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            return proc.poll() is not None  # reaped elsewhere: Popen knows what became of it
        if pid == 0:
            return False
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.usage[proc.pid] = usage
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


def _usage(usage: Any) -> dict[str, Any]:
    """The ``usage`` field of an exit reply, from a ``resource.struct_rusage`` (or None)."""
    if usage is None:
        return {}
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    cpu = usage.ru_utime + usage.ru_stime
    return {"usage": {"cpu_seconds": cpu, "maxrss_bytes": usage.ru_maxrss * scale}}


def _describe(exc: OSError, request: dict[str, Any]) -> str:
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(request["cwd"]):  # noqa: PTH112
        return f"working directory does not exist: {request['cwd']}"
    return f"cannot start {request['argv'][0]}: {exc.strerror or exc}"


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    Server(control).serve()


if __name__ == "__main__":
    main()
