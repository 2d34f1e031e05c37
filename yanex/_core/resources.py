"""Resource usage of running experiments: samples of each one's process tree, and a summary.

While an experiment runs, its process tree (the child and every descendant) is sampled
every ``$YANEX_RESOURCE_INTERVAL`` seconds (default ``INTERVAL``; ``measure`` reads the tree
with psutil and NVML): CPU seconds
(user + system, what has exited and been reaped included), the sum of the resident sets,
and, where NVML is installed (``nvidia-ml-py``, imported on first use), the GPU memory the
tree's processes hold on each device and the device's utilisation. Each sample is a line
of the experiment's ``resources.jsonl``. When the child has been reaped, a final line and
the summary in metadata.json (``resources``: ``peak_rss_mb``, ``cpu_seconds``,
``gpu_mem_peak_mb``) take the larger of what was sampled and the kernel's account of the
child (``wait4``, reported by the spawner): a script that allocates and exits between two
samples still shows its peak.

One sampler serves every experiment of a supervisor: each experiment's ``follow`` task
wakes once per interval, and the first of them (the leader; another takes over when it
ends) samples all of them in one worker thread, with one scan of the process table for
all their trees (``bench/bench_resources.py`` measures the cost).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from yanex import _context
from yanex._store import store
from yanex._store.schema import ResourceSample
from yanex.errors import ConfigError

from . import measure
from .measure import MB

log = logging.getLogger(__name__)

INTERVAL = 2.0  # seconds between samples


def interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between samples: ``$YANEX_RESOURCE_INTERVAL`` (of ``env``, default ours) when
    set, else INTERVAL; None for ``0`` (no samples while running; the summary at the end is
    still written)."""
    raw = (os.environ if env is None else env).get(_context.ENV_RESOURCE_INTERVAL, "").strip()
    if not raw:
        return INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or math.isinf(value):
        raise ConfigError(
            f"{_context.ENV_RESOURCE_INTERVAL} must be a number of seconds, not {raw!r}"
        )
    return value or None


def gpu_slots(env: Mapping[str, str]) -> list[int] | None:
    """The GPU indices a child's ``CUDA_VISIBLE_DEVICES`` names, when they are all numbers."""
    raw = env.get("CUDA_VISIBLE_DEVICES", "").strip()
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


@dataclass
class Watch:
    """One experiment being sampled: where its samples go and what they added up to."""

    exp_dir: Path
    slots: list[int] | None = None  # its GPUs (CUDA_VISIBLE_DEVICES), None: any it uses
    every: float | None = INTERVAL  # seconds between samples (None: only the final line)
    pid: int | None = None  # the child, once started
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    gpu_mem_peak_mb: float | None = None
    samples: int = 0
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def summary(self) -> dict[str, Any]:
        """The ``resources`` entry of metadata.json, so far."""
        gpu = self.gpu_mem_peak_mb
        return {
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "gpu_mem_peak_mb": None if gpu is None else round(gpu, 1),
        }

    def add(self, sample: ResourceSample) -> None:
        """Count ``sample`` in (the tree's CPU time can drop when a process leaves it
        unreaped by the tree, so the total keeps its maximum)."""
        self.samples += 1
        self.cpu_seconds = max(self.cpu_seconds, sample.cpu_seconds)
        self.peak_rss_mb = max(self.peak_rss_mb, sample.rss_mb or 0.0)
        if sample.gpus:
            used = sum(g.mem_mb or 0.0 for g in sample.gpus)
            self.gpu_mem_peak_mb = max(self.gpu_mem_peak_mb or 0.0, used)


# --- sampling (blocking: run in a worker thread) -------------------------------------------


def sample(watches: list[Watch]) -> None:
    """Sample every watched tree once and append a line to each experiment's samples."""
    live = [w for w in watches if w.pid is not None and not w.done]
    if not live:
        return
    trees = measure.trees(w.pid for w in live if w.pid is not None)
    gpu = measure.nvml()
    for watch in live:
        tree = trees.get(watch.pid or 0) or []
        if not tree:
            continue
        cpu, rss, count = measure.totals(tree)
        pids = {p.pid for p in tree}
        gpus = gpu.measure(pids, watch.slots) if gpu is not None else []
        line = ResourceSample(
            time=round(time.time(), 3),
            cpu_seconds=round(cpu, 2),
            rss_mb=round(rss, 1),
            processes=count,
            gpus=gpus,
        )
        with watch.lock:
            if watch.done:
                continue
            watch.add(line)
            _append(watch, line)


def finish(watch: Watch, usage: Mapping[str, float] | None) -> dict[str, Any]:
    """The final line and summary of ``watch``, its child reaped; ``usage`` is the kernel's
    account of it (``cpu_seconds``, ``maxrss_bytes``) where known."""
    with watch.lock:
        watch.done = True
        if usage:
            watch.cpu_seconds = max(watch.cpu_seconds, usage.get("cpu_seconds", 0.0))
            watch.peak_rss_mb = max(watch.peak_rss_mb, usage.get("maxrss_bytes", 0.0) / MB)
        summary = watch.summary()
        if watch.pid is not None:
            line = ResourceSample(
                time=round(time.time(), 3),
                cpu_seconds=summary["cpu_seconds"],
                peak_rss_mb=summary["peak_rss_mb"],
                final=True,
            )
            _append(watch, line)
    return summary


def _append(watch: Watch, line: ResourceSample) -> None:
    """Append a sample; a store that cannot take it (full disk, removed folder) loses the
    line, never the experiment (the summary still goes into metadata.json)."""
    try:
        store.append_resource_sample(watch.exp_dir, line)
    except OSError as exc:
        log.warning("resource sample of %s not written: %s", watch.exp_dir.name, exc)


def sample_every(watch: Watch, stop: threading.Event) -> None:
    """Sample ``watch`` every ``watch.every`` seconds until ``stop`` is set (a thread's
    loop, for a supervisor without an event loop: a Slurm job)."""
    while watch.every is not None and not stop.wait(watch.every):
        sample([watch])


def children_usage(before: Any, after: Any) -> dict[str, float]:
    """The ``usage`` of one child, from ``resource.getrusage(RUSAGE_CHILDREN)`` taken before
    it started and after it was reaped (no other child reaped meanwhile): CPU time adds up;
    the peak RSS is the largest of any child, so it is this child's only if it grew."""
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    usage = {"cpu_seconds": cpu}
    if after.ru_maxrss > before.ru_maxrss:
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        usage["maxrss_bytes"] = float(after.ru_maxrss * scale)
    return usage


def _sample_safely(watches: list[Watch]) -> None:
    """``sample``, in the task that shares a task group with the experiments' children:
    whatever goes wrong in a sample is logged, it must not stop an experiment."""
    try:
        sample(watches)
    except Exception:  # a failed sample is a missing line, never a failed run
        log.warning("resource sampling failed", exc_info=True)


# --- the one sampler of a supervisor --------------------------------------------------------


class Monitor:
    """Every experiment this process supervises, sampled together by one leader task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: list[Watch] = []
        self._leader: Watch | None = None

    async def follow(self, watch: Watch) -> None:
        """Keep ``watch`` sampled until cancelled (when its child has ended)."""
        every = watch.every
        if every is None:
            await anyio.sleep_forever()
            return
        with self._lock:
            self._watches.append(watch)
        try:
            while True:
                await anyio.sleep(every)
                batch = self._batch(watch)
                if batch:
                    await anyio.to_thread.run_sync(_sample_safely, batch)
        finally:
            with self._lock:
                self._watches.remove(watch)
                if self._leader is watch:
                    self._leader = None

    def _batch(self, watch: Watch) -> list[Watch]:
        """What ``watch``'s task samples now: everything if it leads (or takes the lead of
        a sampler whose leader has gone), else nothing."""
        with self._lock:
            if self._leader is None:
                self._leader = watch
            return list(self._watches) if self._leader is watch else []

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._watches, self._leader = [], None


MONITOR = Monitor()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=MONITOR.after_fork)
