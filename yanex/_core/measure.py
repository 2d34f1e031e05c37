"""What a process tree uses now: psutil for CPU time and resident memory, NVML for GPUs.

Blocking calls (``resources.sample`` runs them in a worker thread); nothing here knows about
experiments or writes the store. ``trees`` finds every watched tree in one scan of the process
table; ``totals`` adds up one tree; ``nvml`` gives the GPU meter where ``nvidia-ml-py`` is
installed and a driver answers (imported on first use, tried once per process).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

from yanex._store.schema import GpuSample

MB = 1024 * 1024


def trees(roots: Iterable[int]) -> dict[int, list[Any]]:
    """root pid -> the processes of its tree (itself included), from one scan of the process
    table: every child runs under this process (its spawner's, or its own, child)."""
    import psutil

    wanted = set(roots)
    found: dict[int, list[Any]] = {root: [] for root in wanted}
    try:
        everyone = psutil.Process().children(recursive=True)
    except psutil.Error:
        everyone = []
    parent: dict[int, int] = {}
    procs = {}
    for proc in everyone:
        try:
            parent[proc.pid] = proc.ppid()
        except psutil.Error:
            continue
        procs[proc.pid] = proc
    for pid, proc in procs.items():
        root = _root_of(pid, parent, wanted)
        if root is not None:
            found[root].append(proc)
    for root, tree in found.items():
        if not tree:  # not under this process after all: its own scan
            tree.extend(_tree_of(root))
    return found


def _root_of(pid: int, parent: dict[int, int], roots: set[int]) -> int | None:
    seen = 0
    while pid not in roots:
        if pid not in parent or seen > len(parent):
            return None
        pid, seen = parent[pid], seen + 1
    return pid


def _tree_of(root: int) -> list[Any]:
    import psutil

    try:
        proc = psutil.Process(root)
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return []


def totals(tree: list[Any]) -> tuple[float, float, int]:
    """(CPU seconds, RSS in MB, processes) of a tree; processes that vanish are skipped."""
    import psutil

    cpu = rss = 0.0
    count = 0
    for proc in tree:
        try:
            with proc.oneshot():
                times = proc.cpu_times()
                mem = proc.memory_info().rss
        except psutil.Error:
            continue
        cpu += times.user + times.system + times.children_user + times.children_system
        rss += mem
        count += 1
    return cpu, rss / MB, count


# --- GPUs (NVML, optional) ------------------------------------------------------------------


class Nvml:
    """NVML through ``pynvml`` (the ``nvidia-ml-py`` package), initialised once."""

    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        self.count = int(nvml.nvmlDeviceGetCount())

    def measure(self, pids: set[int], slots: list[int] | None) -> list[GpuSample]:
        """Per device: the memory ``pids`` hold on it and its utilisation; every slot of
        ``slots``, or (None) each device the processes use."""
        out = []
        for index in slots if slots is not None else range(self.count):
            try:
                handle = self.nvml.nvmlDeviceGetHandleByIndex(index)
                used = self.nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                mem = sum(p.usedGpuMemory or 0 for p in used if p.pid in pids) / MB
                if slots is None and not any(p.pid in pids for p in used):
                    continue
                util = float(self.nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except self.nvml.NVMLError:
                continue
            out.append(GpuSample(index=index, mem_mb=round(mem, 1), util_percent=util))
        return out


_nvml_state: list[Nvml | None] = []
_nvml_lock = threading.Lock()


def nvml() -> Nvml | None:
    """NVML where ``nvidia-ml-py`` is installed and a driver answers; else None (tried once)."""
    with _nvml_lock:
        if not _nvml_state:
            _nvml_state.append(_load_nvml())
        return _nvml_state[0]


def _load_nvml() -> Nvml | None:
    try:
        import pynvml  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        return Nvml(pynvml)
    except pynvml.NVMLError:
        return None


def _after_fork() -> None:
    global _nvml_lock  # noqa: PLW0603  re-created in a forked child
    _nvml_lock = threading.Lock()
    _nvml_state.clear()  # NVML handles do not survive a fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
