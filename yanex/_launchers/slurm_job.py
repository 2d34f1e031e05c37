"""What runs inside a Slurm job: one experiment's script, as ``python -u script args``.

submitit unpickles a ``Task`` on the node and calls ``run(task)``. It moves the experiment
to running (pid and host of this job process, the job's id, array index and node), starts
the script with the caller's argv, working directory, environment and umask plus the
``YANEX_*`` protocol, appends its stdout and stderr to the experiment's files on the
shared store, beats the heartbeat, enforces ``--timeout`` (SIGTERM, grace, SIGKILL) and
records how the script ended, exactly as a local run does (``child._final``).

When Slurm itself stops the job (scancel, time limit, node failure, OOM) the script gets
SIGTERM from slurmd; this process records nothing then: the submitting side, or ``list``
and ``show`` later, settle the experiment from Slurm's accounting with Slurm's state.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from yanex import _context
from yanex._core import resources
from yanex._models import Status
from yanex._sinks import Tail
from yanex._store import layout, store
from yanex._store.clock import now_iso
from yanex.errors import ConfigError

from .slurm import Task

TAIL_BYTES = 64 * 1024  # of stderr.txt, for the error message of a failed script


def job_facts() -> dict[str, Any]:
    """This job's id (``ARRAY_INDEX`` form for an array member), array index and node."""
    env = os.environ
    array, index = env.get("SLURM_ARRAY_JOB_ID"), env.get("SLURM_ARRAY_TASK_ID")
    facts: dict[str, Any] = {"node": env.get("SLURMD_NODENAME") or os.uname().nodename}
    if array and index:
        facts.update(job_id=f"{array}_{index}", array_job_id=array, array_index=int(index))
    else:
        facts["job_id"] = env.get("SLURM_JOB_ID")
    return facts


def _start(exp_dir: Path) -> bool:
    """Mark the experiment running here; False when it is no longer waiting to run."""
    from yanex._core import lifecycle

    with store.editing_metadata(exp_dir) as meta:
        if meta.status not in (Status.CREATED, Status.STAGED, Status.PENDING):
            return False
        lifecycle.apply(meta, Status.RUNNING)
        meta.heartbeat_at = now_iso()
        meta.launcher = "slurm"
        meta.slurm = {**(meta.slurm or {}), **job_facts(), "state": "RUNNING"}
    return True


def _beat(exp_dir: Path, usage: dict[str, Any] | None = None) -> None:
    with store.editing_metadata(exp_dir) as meta:
        if meta.status == Status.RUNNING:
            meta.heartbeat_at = now_iso()
            if usage is not None:  # the resources used so far
                meta.resources = usage


def _environment(task: Task) -> dict[str, str]:
    env = dict(task.env)
    env[_context.ENV_EXPERIMENT_ID] = task.exp_id
    env[_context.ENV_EXPERIMENTS_DIR] = task.store
    env[_context.ENV_CLI_ACTIVE] = "1"
    env[_context.ENV_CLI_ARGS] = _json(task.cli_args)
    env[_context.ENV_SUPERVISOR_PID] = str(os.getpid())
    return env


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, 0o644)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class _Script:
    """The script's process, its heartbeat and its stop signals."""

    def __init__(self, task: Task, exp_dir: Path) -> None:
        self.task, self.exp_dir = task, exp_dir
        self.stopped_by_slurm = False
        self.timed_out = False
        self.watch: resources.Watch | None = None  # its samples, for the heartbeat
        artifacts = exp_dir / layout.ARTIFACTS
        out, err = _open(artifacts / "stdout.txt"), _open(artifacts / "stderr.txt")
        try:
            self.proc = subprocess.Popen(
                task.argv,
                cwd=task.cwd,
                env=_environment(task),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                umask=task.umask,
            )
        finally:
            os.close(out)
            os.close(err)

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """Slurm stops the job: pass it on to the script's group (slurmd signals it too)."""
        self.stopped_by_slurm = True
        _signal_group(self.proc.pid, signal.SIGTERM)

    def wait(self) -> int:
        from yanex._core import lifecycle

        deadline = None if self.task.timeout is None else time.monotonic() + self.task.timeout
        while True:
            left = lifecycle.HEARTBEAT_INTERVAL
            if deadline is not None:
                left = max(0.0, min(left, deadline - time.monotonic()))
            try:
                return self.proc.wait(timeout=left)
            except subprocess.TimeoutExpired:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                self.timed_out = True
                return self._stop()
            usage = self.watch.summary() if self.watch and self.watch.samples else None
            threading.Thread(target=_beat, args=(self.exp_dir, usage), daemon=True).start()

    def _stop(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            _signal_group(self.proc.pid, sig)
            try:
                code = self.proc.wait(timeout=self.task.grace)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            code = self.proc.wait()
        _signal_group(self.proc.pid, signal.SIGKILL)
        return code


def _stderr_tail(exp_dir: Path) -> str:
    tail = Tail()
    try:
        with open(exp_dir / layout.ARTIFACTS / "stderr.txt", "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - TAIL_BYTES))
            tail(fh.read())
    except OSError:
        return ""
    return tail.text()


def _watch(task: Task, exp_dir: Path) -> resources.Watch:
    """What samples the script's process tree here (``resources``), as a local run does."""
    try:
        every = resources.interval(task.env)
    except ConfigError:  # refused where it was submitted; here it cannot be reported
        every = resources.INTERVAL
    return resources.Watch(exp_dir, resources.gpu_slots(task.env), every=every)


def run(task: Task) -> str:
    """Run the experiment (the function submitit calls in the job); its final status."""
    from yanex import _supervise
    from yanex._core import child

    exp_dir = Path(task.store) / task.exp_id
    if not _start(exp_dir):
        return "skipped"
    started = time.monotonic()
    watch, stop = _watch(task, exp_dir), threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    script = _Script(task, exp_dir)
    watch.pid, script.watch = script.proc.pid, watch
    sampler = threading.Thread(target=resources.sample_every, args=(watch, stop), daemon=True)
    sampler.start()
    signal.signal(signal.SIGTERM, script.on_sigterm)
    # submitit's warning before the time limit (USR2) would requeue or checkpoint a
    # function; a script is neither: the limit itself ends the job, settled as TIMEOUT
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    code = script.wait()
    stop.set()
    sampler.join()
    usage = resources.children_usage(before, resource.getrusage(resource.RUSAGE_CHILDREN))
    if script.stopped_by_slurm:
        return "stopped by Slurm"  # settled from the accounting (``slurm_accounting``)
    outcome = _supervise.Outcome(
        returncode=code,
        duration=time.monotonic() - started,
        timed_out=script.timed_out,
        stderr_tail=_stderr_tail(exp_dir),
    )
    status, message = child._final(exp_dir, outcome, task.timeout)
    child._finish(exp_dir, status, message, code, watch=watch, usage=usage)
    with store.editing_metadata(exp_dir) as meta:  # the job function returns: it completes
        meta.slurm = {**(meta.slurm or {}), "state": "COMPLETED"}
    return str(status)
