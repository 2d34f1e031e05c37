"""Resource usage of an experiment run as a Slurm job: the job samples the script's process
tree and records the summary, as a local supervisor does (against the real single-node
Slurm; skipped without one, as tests/slurm/test_slurm.py is)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.slurm.test_slurm import REASON, ids_in, meta
from tests.support.cli import run_cli, write_script

pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
    pytest.mark.timeout(240),
]

ALLOC = """\
import time
block = bytearray(200 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
t = time.process_time()
while time.process_time() - t < 0.5:
    pass
time.sleep(0.5)
"""


def test_a_slurm_job_records_the_resources_of_its_script(
    work_dir: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script holding 200 MB and busy for 0.5 s of CPU, run through Slurm, shows a peak
    RSS of at least 200 MB and its CPU time, with samples taken while it ran."""
    monkeypatch.setenv("YANEX_RESOURCE_INTERVAL", "0.2")
    write_script(work_dir / "alloc.py", ALLOC)
    res = run_cli("run", "alloc.py", "--launcher", "slurm", "--launcher-opt", "mem_gb=1")
    assert res.returncode == 0, res.stderr
    (exp_id,) = ids_in(store_dir)
    usage = meta(store_dir, exp_id)["resources"]
    assert usage["peak_rss_mb"] >= 200 and usage["cpu_seconds"] > 0.3
    lines = (store_dir / exp_id / "resources.jsonl").read_text().splitlines()
    samples = [json.loads(line) for line in lines]
    assert samples[-1]["final"] is True and len(samples) >= 2
    assert max(s.get("rss_mb", 0) for s in samples) >= 200
