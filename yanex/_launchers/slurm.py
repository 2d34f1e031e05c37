"""The Slurm launcher: submit experiments as one job array through submitit, read Slurm's
accounting, cancel, and wake on the experiments' files while waiting.

The experiments' records are ``_core``'s (``_core/cluster.py``): this module only talks to
Slurm (``submitit.SlurmExecutor``, ``sacct``, ``scancel``) and watches files. The function
the jobs run is ``slurm_job.run``, given one ``Task`` each.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from yanex import _platform
from yanex._store import layout
from yanex.errors import ConfigError, YanexError

from . import slurm_options

ACCOUNTING_EVERY = 5.0  # seconds between two sacct looks while waiting (files wake us first)
POLL_EVERY = 1.0  # seconds between looks at the files where inotify is missing
TIME_MARGIN = 60.0  # seconds of job time beyond --timeout, so yanex records the timeout
ENDED = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
     "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}
)  # fmt: skip


class SubmissionError(YanexError):
    """sbatch refused the submission (an unknown partition, a limit): nothing was queued."""


@dataclass
class Task:
    """One experiment to run in a job (pickled by submitit, run by ``slurm_job.run``)."""

    exp_id: str
    store: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    umask: int
    cli_args: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    grace: float = 5.0


@dataclass(frozen=True)
class JobState:
    """One job's line of ``sacct``: its state (``CANCELLED``), as Slurm wrote it
    (``CANCELLED by 0``), its reason and node."""

    state: str
    raw: str
    reason: str
    node: str
    exit_code: str

    @property
    def ended(self) -> bool:
        return self.state in ENDED


def available() -> bool:
    """sbatch, sacct and scancel are on PATH."""
    return all(shutil.which(cmd) for cmd in ("sbatch", "sacct", "scancel"))


def executor(
    options: dict[str, Any], *, workers: int, timeout: float | None, grace: float, folder: Path
) -> Any:
    """A submitit SlurmExecutor with the launcher's options; ConfigError if submitit refuses
    them (nothing is submitted yet)."""
    submitit = slurm_options.submitit()
    if not available():
        raise ConfigError("no Slurm here: sbatch, sacct or scancel is not on PATH")
    try:
        ex = submitit.SlurmExecutor(folder=folder / "%j", max_num_timeout=0)
    except RuntimeError as exc:  # no srun
        raise ConfigError(f"no Slurm here: {exc}") from None
    shared = {k: v for k, v in options.items() if k in slurm_options.SHARED}
    params = ex._convert_parameters(shared)  # timeout_min -> time, mem_gb -> mem, ...
    params.update({k: v for k, v in options.items() if k not in slurm_options.SHARED})
    params.setdefault("job_name", "yanex")
    if "time" not in params:  # no time given: --timeout's, or the partition's default
        params["time"] = None if timeout is None else job_minutes(timeout, grace)
    params["array_parallelism"] = workers
    # submitit asks Slurm for USR2 before the time limit (--signal USR2@90), for its own
    # checkpointing; Slurm sends it to every process of the job, the script too, which
    # python would never get. An ignored signal to the batch shell alone takes its place.
    extra = dict(params.get("additional_parameters") or {})
    extra.setdefault("signal", "B:URG@1")
    params["additional_parameters"] = extra
    try:
        ex.update_parameters(**params)
    except (ValueError, TypeError, NameError, AssertionError) as exc:
        raise ConfigError(f"Slurm launcher options refused by submitit: {exc}") from None
    return ex


def job_minutes(timeout: float, grace: float) -> int:
    """The job's time limit for ``--timeout``: yanex stops the script first, then records."""
    return max(1, math.ceil((timeout + 2 * grace + TIME_MARGIN) / 60))


def submit(ex: Any, tasks: Sequence[Task]) -> list[str]:
    """Submit the tasks as one job array (one plain job for one task); the job ids."""
    from . import slurm_job

    try:  # submitit prints sbatch's complaint to stderr as well: kept for the one error line
        with contextlib.redirect_stderr(io.StringIO()):
            jobs = ex.map_array(slurm_job.run, list(tasks))
    except Exception as exc:  # noqa: BLE001  submitit wraps sbatch's refusal in several types
        raise SubmissionError(f"sbatch refused the submission: {_sbatch_error(exc)}") from None
    return [str(job.job_id) for job in jobs]


def _sbatch_error(exc: BaseException) -> str:
    text = str(exc)
    found = re.findall(r"sbatch: error: ([^\n]+)", text)
    if found:
        return str(found[0]).strip()
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else type(exc).__name__


def array_ids(job_ids: Sequence[str]) -> list[str]:
    """The distinct array (or plain job) ids of ``job_ids``: what scancel and sacct take."""
    return list(dict.fromkeys(j.split("_", 1)[0] for j in job_ids))


def cancel(job_ids: Sequence[str]) -> None:
    """Cancel these jobs (every member of their arrays), queued or running."""
    ids = array_ids(job_ids)
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, check=False)


def accounting(job_ids: Sequence[str]) -> dict[str, JobState] | None:
    """Slurm's accounting for these jobs (array members by ``ARRAY_INDEX`` id); None when
    sacct cannot answer (no accounting, no Slurm here)."""
    ids = array_ids(job_ids)
    if not ids:
        return {}
    fields = "JobID,State,Reason,NodeList,ExitCode"
    try:
        res = subprocess.run(
            ["sacct", "-n", "-P", "-X", "-o", fields, "-j", ",".join(ids)],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    out: dict[str, JobState] = {}
    for line in res.stdout.splitlines():
        parts = line.split("|")
        if len(parts) != 5:
            continue
        job, raw, reason, node, code = parts
        state = JobState(raw.split(" ", 1)[0].rstrip("+"), raw, reason, node, code)
        for one in _expand(job):
            out[one] = state
    return out


def _expand(job: str) -> list[str]:
    """``12_[2-4,7%2]`` (sacct's form of queued array members) -> 12_2, 12_3, 12_4, 12_7."""
    match = re.fullmatch(r"(\d+)_\[([^\]]+)\]", job)
    if match is None:
        return [job]
    base, spec = match.group(1), match.group(2).split("%", 1)[0]
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += [f"{base}_{i}" for i in range(int(lo), int(hi or lo) + 1)]
    return out


class Watch:
    """Wakes when a file of the watched experiments changes (inotify), else every second."""

    def __init__(self) -> None:
        self._watch = _platform.file_watch()
        self._owners: dict[int, int] = {}  # inotify watch -> experiment index

    def add(self, index: int, exp_dir: Path) -> None:
        if self._watch is None:
            return
        for folder in (exp_dir, exp_dir / layout.ARTIFACTS):
            folder.mkdir(exist_ok=True)
            wd = self._watch.add(str(folder))
            if wd >= 0:
                self._owners[wd] = index

    async def changed(self, timeout: float, everyone: set[int]) -> set[int]:
        """The experiments whose files changed within ``timeout`` seconds (all of
        ``everyone`` without inotify, after a poll interval)."""
        if self._watch is None:
            await anyio.sleep(min(timeout, POLL_EVERY))
            return set(everyone)
        with anyio.move_on_after(timeout):
            await anyio.wait_readable(self._watch.fd)
            await anyio.sleep(0.05)  # let a burst of writes land: one look for all of them
        return {self._owners[wd] for wd, _ in self._watch.events() if wd in self._owners}

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
