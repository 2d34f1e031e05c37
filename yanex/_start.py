"""How the spawner process starts one child: pipes, its session or foreground group, the
caller's resource limits and niceness, and the prepared interpreters of the pool path
(held by ``_warm`` until released). Used by the spawner process (``_spawnd``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yanex import _jobctl, _platform, _warm
from yanex._context import ENV_PREFIX  # per-experiment variables: set on release


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


def close(*fds: int) -> None:
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
        close(out_r, err_r)
        raise
    finally:
        close(out_w, err_w)
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
        close(ctl_w)
        raise
    finally:
        close(ctl_r)
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
        close(prepared.control)
    return True
