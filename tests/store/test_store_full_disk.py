"""A full disk: the call that cannot be stored fails loudly, and every experiment (the one
being written included) stays readable with everything that was stored before."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import yanex
from tests.support.cli import run_cli
from yanex._store import store


def test_full_disk_loses_nothing_stored_and_keeps_experiments_readable(small_disk: Path) -> None:
    """Logging until the disk is full: the failing call raises OSError, every step whose
    call returned is read back, the finished experiment next to it is untouched, the
    running one stays readable, and once space is freed it takes more steps and its
    metrics.json is compacted complete."""
    with yanex.create_experiment(Path("done.py"), name="done", config={"lr": 0.1}) as exp:
        yanex.log_metrics({"acc": 0.5})
    done_dir = exp.experiment_dir
    before = {p.name: p.read_bytes() for p in done_dir.iterdir() if p.is_file()}

    filler = small_disk / "filler"
    logged = 0
    ctx = yanex.create_experiment(Path("big.py"), name="big")
    with pytest.raises(OSError), ctx:  # the failing log call, or the final status write
        with open(filler, "wb") as fh:  # leave only a little room
            free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
            fh.write(b"\0" * max(0, free - 64 * 1024))
        big_dir = ctx.experiment_dir
        while True:
            yanex.log_metrics({"step_payload": "x" * 200, "i": logged})
            logged += 1
    assert logged > 0

    after = {p.name: p.read_bytes() for p in done_dir.iterdir() if p.is_file()}
    assert after == before
    meta = json.loads((big_dir / "metadata.json").read_text())
    assert meta["status"] in ("running", "failed")
    steps = store.read_metrics(big_dir)
    assert [s["i"] for s in steps] == list(range(logged))

    filler.unlink()
    with yanex.create_context(meta["id"]):
        yanex.log_metrics({"i": logged})
    final = json.loads((big_dir / "metrics.json").read_text())
    assert [s["i"] for s in final] == list(range(logged + 1))
    # its creator (this process) is alive, so the context joined it rather than resuming it
    assert json.loads((big_dir / "metadata.json").read_text())["status"] in ("running", "failed")
    res = run_cli("list", "-g", "-F", "json")
    assert res.returncode == 0, res.stderr
    assert {e["name"] for e in json.loads(res.stdout)} == {"done", "big"}
