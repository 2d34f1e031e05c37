"""Helpers for the run_multiple tests: a configurable child script and readers of its traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yanex

# A child experiment driven by its parameters: it records its pid at once (pid.txt), then
# sleeps, optionally ignores signals, tries nested experiments, and exits with a code. Its
# record.json (written at the end) holds what it saw: argv, params, start and end times.
CHILD = """\
import json, os, signal, sys, time
import yanex

params = yanex.get_params()
arts = yanex.get_artifacts_dir()
(arts / "pid.txt").write_text(str(os.getpid()))
for name in params.get("ignore", []):
    signal.signal(getattr(signal, "SIG" + name), signal.SIG_IGN)
record = {"argv": sys.argv[1:], "params": params, "start": time.time()}
if params.get("say"):
    print(params["say"], flush=True)
    print("to stderr", file=sys.stderr, flush=True)
if params.get("nested"):
    record["nested"] = {}
    for name, call in (
        ("run_multiple", lambda: yanex.run_multiple([yanex.ExperimentSpec(script_path=__file__)])),
        ("create_experiment", lambda: yanex.create_experiment(__file__).__enter__()),
    ):
        try:
            call()
            record["nested"][name] = "ran"
        except Exception as exc:
            record["nested"][name] = type(exc).__name__
time.sleep(params.get("sleep", 0))
record["end"] = time.time()
(arts / "record.json").write_text(json.dumps(record))
sys.exit(params.get("exit", 0))
"""


def child_script(directory: Path) -> Path:
    path = directory / "child.py"
    if not path.exists():
        path.write_text(CHILD)
    return path


def spec(directory: Path, **params: Any) -> yanex.ExperimentSpec:
    """A spec of the child script with ``params`` as its config."""
    return yanex.ExperimentSpec(script_path=child_script(directory), config=params)


def record(store: Path, exp_id: str) -> dict[str, Any]:
    return json.loads((store / exp_id / "artifacts" / "record.json").read_text())


def metadata(store: Path, exp_id: str) -> dict[str, Any]:
    return json.loads((store / exp_id / "metadata.json").read_text())


def experiment_ids(store: Path) -> set[str]:
    if not store.exists():
        return set()
    return {d.name for d in store.iterdir() if (d / "metadata.json").is_file()}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals running at one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = best = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
