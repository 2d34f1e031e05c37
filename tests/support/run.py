"""Helpers for the ``yanex run`` tests: reading experiments, finding leftover processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def experiments(store: Path) -> list[dict[str, Any]]:
    """Metadata of every experiment in the store, oldest first."""
    if not store.exists():
        return []
    metas = [
        json.loads((d / "metadata.json").read_text())
        for d in store.iterdir()
        if (d / "metadata.json").is_file()
    ]
    return sorted(metas, key=lambda m: m["created_at"])


def config(store: Path, exp_id: str) -> dict[str, Any]:
    return json.loads((store / exp_id / "config.json").read_text())


def only(store: Path) -> dict[str, Any]:
    metas = experiments(store)
    assert len(metas) == 1, metas
    return metas[0]


def artifact(store: Path, exp_id: str, name: str) -> str:
    return (store / exp_id / "artifacts" / name).read_text()


def store_is_empty(store: Path) -> bool:
    return not store.exists() or not any(store.iterdir())


def pids_with(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``marker``."""
    found = []
    needle = marker.encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; its last truth value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def no_process_left(marker: str, timeout: float = 5.0) -> bool:
    return wait_for(lambda: not pids_with(marker), timeout)


def start_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -m yanex ARGS`` in the background (for signal tests)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "yanex", *args],
        cwd=cwd or Path.cwd(),
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def start_together(argvs: list[list[str]]) -> list[subprocess.Popen[str]]:
    """Start each command, wait until every one has printed ``ready`` (its first line), then
    write ``go`` to each one's stdin, so that they run their work at the same time."""
    procs = [
        subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for argv in argvs
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs
