"""Terminal job control for a foreground child, done as a shell does it (stdlib only).

A foreground launch (a single ``yanex run`` whose stdin is its terminal, as ``python`` in
a terminal would be) gets its own process group in the terminal's session and the
terminal's foreground, so Ctrl-C, Ctrl-Z, ``/dev/tty`` and ``tcgetpgrp`` reach and concern
the script as they would under ``python``. When the child stops (Ctrl-Z), the terminal goes
back to the supervisor's group, which is stopped too, so the shell sees its job stopped;
when the supervisor is continued (``fg``), the child gets the terminal back (if the
supervisor has it) and SIGCONT. When the child ends, the terminal goes back to the
supervisor. Used by the spawner process (``_spawnd``), which is the parent of the child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Any


@dataclass
class Foreground:
    """A child that holds the terminal ``tty`` for the supervisor's process group ``home``."""

    tty: int
    home: int
    stopped: bool = False
    usage: Any = None  # the child's resource.struct_rusage, once reaped (wait4)


def give_terminal(tty: int, pgrp: int) -> bool:
    """Make ``pgrp`` the foreground of the terminal ``tty``, as a shell does (SIGTTOU, which a
    background caller would get, is held back meanwhile; never ignored: children inherit
    that)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        os.tcsetpgrp(tty, pgrp)
    except OSError:
        return False
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return True


def take_terminal() -> None:
    """In a foreground child, before it runs: the terminal on its stdin is now its own."""
    give_terminal(0, os.getpgrp())


def ended(fg: Foreground, proc: subprocess.Popen[bytes]) -> bool:
    """Has the foreground child ``proc`` exited? A stop (Ctrl-Z) stops the whole job, as in
    a shell: the terminal goes back to ``fg.home``, which gets SIGTSTP. On exit the terminal
    goes back to ``fg.home`` and ``fg.tty`` is closed."""
    try:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG | os.WUNTRACED)
    except ChildProcessError:
        pid, status, usage = proc.pid, 9, None  # reaped elsewhere: report it as killed
    if pid == 0:
        return False
    if os.WIFSTOPPED(status):
        fg.stopped = True
        give_terminal(fg.tty, fg.home)
        with contextlib.suppress(OSError):
            os.killpg(fg.home, signal.SIGTSTP)
        return False
    proc.returncode = os.waitstatus_to_exitcode(status)
    fg.usage = usage
    with contextlib.suppress(OSError):
        if os.tcgetpgrp(fg.tty) == proc.pid:
            give_terminal(fg.tty, fg.home)
    with contextlib.suppress(OSError):
        os.close(fg.tty)
    return True


def resume(foreground: dict[int, Foreground]) -> None:
    """The supervisor was continued: so is each stopped foreground child (pid -> state),
    with the terminal if the supervisor has it (``fg``), without it otherwise (``bg``)."""
    for pid, fg in foreground.items():
        if not fg.stopped:
            continue
        fg.stopped = False
        with contextlib.suppress(OSError):
            if os.tcgetpgrp(fg.tty) == fg.home:
                give_terminal(fg.tty, pid)
            os.killpg(pid, signal.SIGCONT)
