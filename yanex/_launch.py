"""Watchdog that every supervised child is started through: ``python -S _launch.py ARGV...``.

It exists so that no process outlives its supervisor, even a SIGKILLed one. The watchdog is
the leader of the child's new process group. It asks the kernel for a signal when its parent
(the supervisor) dies (``PR_SET_PDEATHSIG``), forks, and the fork ``exec``s the real command.
The watchdog then only waits: signals sent to the group (SIGINT, SIGTERM) reach the command,
the watchdog ignores them and keeps waiting, and exits with the command's status (re-raising
the command's fatal signal on itself). If the supervisor dies, the watchdog kills the whole
group with SIGKILL, grandchildren included.

This file is run by path with ``-S`` and imports only the standard library: it adds a few
milliseconds to a start, not an interpreter's worth of imports.
"""

from __future__ import annotations

import _signal as signal  # type: ignore[import-not-found]  # C module: `signal` costs ~8 ms
import ctypes
import os
import sys

_PR_SET_PDEATHSIG = 1
_DEATH_SIGNAL = signal.SIGUSR2


def _kill_group(*_args: object) -> None:
    os.killpg(0, signal.SIGKILL)


def _arm_parent_death(expected_parent: int) -> None:
    """Kill the group when the supervisor process dies.

    The kernel sends the death signal when the *thread* that forked us exits, not the
    process: trio (and a blocking portal) start children from worker threads that come and
    go. We are then reparented to another thread of the same supervisor, so ``getppid()``
    is unchanged: re-arm instead of killing, and kill only once the supervisor is gone.
    """

    def on_death_signal(*_args: object) -> None:
        _arm()
        if os.getppid() != expected_parent:
            _kill_group()

    signal.signal(_DEATH_SIGNAL, on_death_signal)
    _arm()
    if os.getppid() != expected_parent:  # the supervisor died before prctl took effect
        _kill_group()


def _arm() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(_DEATH_SIGNAL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the supervisor's own cleanup must do
        pass


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    # os._exit: nothing is buffered here, and interpreter teardown costs milliseconds per child
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 1)


def main(argv: list[str]) -> None:
    _arm_parent_death(int(os.environ.get("YANEX_SUPERVISOR_PID", os.getppid())))
    pid = os.fork()
    if pid == 0:
        for sig in (_DEATH_SIGNAL, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE; shells expect it
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"yanex: cannot start {argv[0]}: {exc.strerror}\n".encode())
            os._exit(127)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            sys.exit(1)
    _exit_like(status)


if __name__ == "__main__":
    main(sys.argv[1:])
