"""Helpers for the query tests: experiments with chosen facts, written through the Run API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yanex

FIXTURE_061 = Path(__file__).resolve().parents[1] / "data" / "yanex061_store"


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def store_root() -> Path:
    return Path(os.environ["YANEX_EXPERIMENTS_DIR"])


def make(
    name: str | None = None,
    *,
    config: dict[str, Any] | None = None,
    tags: list[str] | tuple[str, ...] = (),
    metrics: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    script: str = "train.py",
    **facts: Any,
) -> str:
    """A completed experiment made with create_experiment; ``facts`` then overwrite its
    metadata (status, project, created/started/completed as datetimes, depends_on, ...)."""
    for _attempt in range(50):
        with yanex.create_experiment(Path(script), name=name, config=config or {}, tags=list(tags)):
            for entry in metrics:
                yanex.log_metrics(entry)
            exp_id = yanex.get_experiment_id()
        assert exp_id is not None
        # Tests name experiments "a", "b", "bad"...; selection takes a unique id prefix
        # before a name, so an id beginning with such a name would make a test pick the
        # wrong experiment one time in sixteen: test ids begin with a digit instead.
        if exp_id[0].isdigit():
            break
        shutil.rmtree(store_root() / exp_id)
    if facts:
        patch(exp_id, **facts)
    return exp_id


def patch(exp_id: str, **facts: Any) -> None:
    """Overwrite metadata fields of a stored experiment (test setup only)."""
    path = store_root() / exp_id / "metadata.json"
    meta = json.loads(path.read_text())
    aliases = {"created": "created_at", "started": "started_at", "ended": "completed_at"}
    for key, value in facts.items():
        meta[aliases.get(key, key)] = stamp(value) if isinstance(value, datetime) else value
    tmp = path.with_name(".metadata.json.test")
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(path)  # atomic, like the store's own writes: readers never see half a file


def write_output(exp_id: str, stream: str, text: str) -> None:
    path = store_root() / exp_id / "artifacts" / f"{stream}.txt"
    path.write_text(text)


def dead_pid() -> int:
    """The pid of a process that has already exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def mark_running(exp_id: str, pid: int) -> None:
    patch(exp_id, status="running", pid=pid, process_id=pid, host=socket.gethostname(),
          completed_at=None, heartbeat_at=None)  # fmt: skip


def copy_061_store() -> list[str]:
    """Put the experiments written by the published yanex 0.6.1 into the test store."""
    root = store_root()
    root.mkdir(parents=True, exist_ok=True)
    ids = []
    for src in sorted(FIXTURE_061.iterdir()):
        shutil.copytree(src, root / src.name)
        ids.append(src.name)
    return ids


def assert_error(res: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """The command failed with ``code`` and exactly one 'Error:' line, no traceback."""
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    assert len(errors) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for word in words:
        assert word in errors[0], errors[0]
