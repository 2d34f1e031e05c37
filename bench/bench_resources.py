"""The cost of sampling the resource usage of running experiments (target: 8 running
experiments cost at most 1% of one core).

Usage: python bench/bench_resources.py [--seconds S] [--repeat N]

- end to end: ``yanex.run_multiple`` of 8 experiments at ``parallel=8``, each a script that
  starts a child of its own (a tree of 2 processes) and sleeps S seconds; the supervisor's
  own CPU time (user + system of all its threads, its children excluded) with sampling at
  the default interval, and with sampling off (``YANEX_RESOURCE_INTERVAL=0``: only the
  final line). The difference over the wall time is the sampler's share of one core. Each
  figure is from a fresh driver process; on and off alternate; medians of N.
- the sampler alone: CPU time of one ``resources.sample`` call over 8 such trees, and what
  that is per second at the default interval. The process-table scan it makes once per
  call grows with the number of processes on the machine, which is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, save

EXPERIMENTS = 8

SCRIPT = """\
import subprocess, sys, time
seconds = float(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
time.sleep(seconds)
child.wait()
"""

DRIVER = r"""
import json, resource, sys, time
from pathlib import Path
import yanex
script, seconds = sys.argv[1], sys.argv[2]
specs = [
    yanex.ExperimentSpec(script_path=Path(script), script_args=[seconds], config={"i": i})
    for i in range(int(sys.argv[3]))
]
before = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
results = yanex.run_multiple(specs, parallel=len(specs))
wall = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF)
assert all(r.status == "completed" for r in results), results
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print("RESULT " + json.dumps({"wall": wall, "cpu": cpu}), file=sys.stderr)
"""


def end_to_end(work: Path, seconds: float, interval: str) -> dict[str, float]:
    """One run_multiple in a fresh driver; its wall time and its own CPU time."""
    env = {**os.environ, "YANEX_EXPERIMENTS_DIR": str(work / "store")}
    env.pop("YANEX_RESOURCE_INTERVAL", None)
    if interval:
        env["YANEX_RESOURCE_INTERVAL"] = interval
    res = subprocess.run(
        [sys.executable, "-c", DRIVER, str(work / "sleeper.py"), str(seconds), str(EXPERIMENTS)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in res.stderr.splitlines() if x.startswith("RESULT "))
    out: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return out


def sampler_alone(work: Path, calls: int = 200) -> dict[str, float]:
    """CPU seconds of one sample() of 8 trees of 2 processes, in this process."""
    sys.path.insert(0, str(REPO))
    from yanex._core import resources

    trees = [
        subprocess.Popen([sys.executable, str(work / "sleeper.py"), "60"])
        for _ in range(EXPERIMENTS)
    ]
    try:
        time.sleep(1.0)  # each has started its own child
        watches = []
        for i, proc in enumerate(trees):
            (work / f"w{i}").mkdir(exist_ok=True)
            watches.append(resources.Watch(work / f"w{i}", pid=proc.pid))
        resources.sample(watches)  # psutil's import
        start = time.process_time()
        for _ in range(calls):
            resources.sample(watches)
        per_call = (time.process_time() - start) / calls
        processes = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit())
        tree_sizes = [_last_sample(w.exp_dir)["processes"] for w in watches]
    finally:
        for proc in trees:
            proc.kill()
            proc.wait()
    return {
        "per_call_ms": per_call * 1000,
        "share_of_core_at_default_interval": per_call / resources.INTERVAL,
        "processes_on_machine": processes,
        "tree_sizes": tree_sizes,
    }


def _last_sample(exp_dir: Path) -> dict[str, float]:
    lines = (exp_dir / "resources.jsonl").read_text().splitlines()
    out: dict[str, float] = json.loads(lines[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "sleeper.py").write_text(SCRIPT)
        alone = sampler_alone(work)
        runs: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
        for _ in range(args.repeat):
            runs["on"].append(end_to_end(work, args.seconds, ""))
            runs["off"].append(end_to_end(work, args.seconds, "0"))
    on_cpu = statistics.median(r["cpu"] for r in runs["on"])
    off_cpu = statistics.median(r["cpu"] for r in runs["off"])
    wall = statistics.median(r["wall"] for r in runs["on"])
    save(
        "resources",
        {
            "experiments": EXPERIMENTS,
            "seconds": args.seconds,
            "load_average": os.getloadavg()[0],
            "supervisor_cpu_sampling_on": on_cpu,
            "supervisor_cpu_sampling_off": off_cpu,
            "wall": wall,
            "sampling_share_of_one_core": (on_cpu - off_cpu) / wall,
            "sampler_alone": alone,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
