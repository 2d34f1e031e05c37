"""Run API benchmarks: ``import yanex`` time, ``log_metrics`` per call from 1,000 to 100,000
steps, and reading 100,000 steps back from the store; the published yanex 0.6.1 is measured
in its own virtualenv in the same run.

Usage: python bench/bench_api.py [--quick] [--published-max-steps N] [--published-budget S]

Each measurement runs in a fresh interpreter: log_metrics workers time every call with
perf_counter_ns (the metrics dict is built outside the timed region) and print a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, machine, ours_bin, published_bin, save

WORKER = r"""
import json, statistics, sys, time
from pathlib import Path
import yanex

steps, budget, read_back = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1"
clock = time.perf_counter_ns
times = []
start = time.perf_counter()
with yanex.create_experiment(Path("bench.py"), name="bench") as exp:
    exp_dir = Path(yanex.get_experiment_dir())
    for i in range(steps):
        data = {"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 0.001, "epoch": i // 100, "gn": 0.5}
        t0 = clock()
        yanex.log_metrics(data)
        times.append(clock() - t0)
        if time.perf_counter() - start > budget:
            break
    live = []
    if read_back:
        from yanex._store import store
        for _ in range(5):
            t0 = time.perf_counter()
            n_live = len(store.read_metrics(exp_dir))
            live.append(time.perf_counter() - t0)
        # metrics.json itself holds every step while the experiment runs (issue 10)
        assert len(json.loads((exp_dir / "metrics.json").read_bytes())) == len(times)
    t_exit = time.perf_counter()
t_exit = time.perf_counter() - t_exit
done = []
if read_back:
    for _ in range(5):
        t0 = time.perf_counter()
        n_done = len(store.read_metrics(exp_dir))
        done.append(time.perf_counter() - t0)
    assert n_live == n_done == len(times), (n_live, n_done, len(times))
us = [t / 1000 for t in times]
window = us[-1000:]
print(json.dumps({
    "steps": len(us),
    "median_us": statistics.median(us),
    "mean_us": statistics.fmean(us),
    "p99_us": sorted(us)[int(len(us) * 0.99)],
    "median_last_1000_us": statistics.median(window),
    "mean_last_1000_us": statistics.fmean(window),
    "exit_s": t_exit,
    "read_live_s": statistics.median(live) if live else None,
    "read_done_s": statistics.median(done) if done else None,
}))
"""


def _wall(cmd: list[str], env: dict[str, str] | None) -> float:
    # cwd outside the repository: ``-c`` puts the cwd first on sys.path, and the checkout's
    # yanex/ must not shadow the published one
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=tempfile.gettempdir(), env=env)
    return time.perf_counter() - start


def import_time(
    python: Path, runs: int, env: dict[str, str] | None = None, flags: tuple[str, ...] = ()
) -> dict[str, float]:
    """Median wall time of ``python -c pass`` and ``python -c 'import yanex'``, interleaved."""
    bare, imported = [], []
    for _ in range(runs):
        bare.append(_wall([str(python), *flags, "-c", "pass"], env))
        imported.append(_wall([str(python), *flags, "-c", "import yanex"], env))
    b, i = statistics.median(bare) * 1e3, statistics.median(imported) * 1e3
    return {"bare_ms": round(b, 1), "import_ms": round(i, 1), "over_bare_ms": round(i - b, 1)}


def log_metrics_run(python: Path, steps: int, *, budget: float = 1e9, read: bool = False) -> dict:
    """One fresh experiment logging ``steps`` calls of 5 scalar metrics (stops at ``budget`` s)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"YANEX_EXPERIMENTS_DIR": str(Path(tmp) / "store"), "PATH": "/usr/bin:/bin"}
        res = subprocess.run(
            [str(python), "-c", WORKER, str(steps), str(budget), "1" if read else "0"],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if res.returncode != 0:
        raise RuntimeError(f"worker failed:\n{res.stderr[-2000:]}")
    out: dict = json.loads(res.stdout.strip().splitlines()[-1])
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, published to 1k only")
    parser.add_argument("--published-max-steps", type=int, default=10_000)
    parser.add_argument(
        "--published-budget",
        type=float,
        default=600.0,
        help="seconds the published yanex may spend on its longest run",
    )
    args = parser.parse_args()
    ours_py, old_py = ours_bin() / "python", published_bin() / "python"
    runs = 10 if args.quick else 40

    result: dict = {"command": "python bench/bench_api.py" + (" --quick" if args.quick else "")}
    # ours twice: in the dev venv, whose editable-install hook already imports pathlib and re
    # at startup (so "bare" pays part of our cost), and with nothing preloaded: the base
    # interpreter without site (-S) and the checkout on PYTHONPATH, so importing yanex pays
    # for everything it needs, typing included (it needs no dependency to be imported)
    plain_py = Path(sys.base_prefix) / "bin" / "python3"
    plain_env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    result["import"] = {
        "ours_no_site": import_time(plain_py, runs, plain_env, ("-S",)),
        "ours_dev_venv": import_time(ours_py, runs),
        "published": import_time(old_py, runs),
    }
    print("import:", json.dumps(result["import"]), flush=True)

    ours = {}
    for steps in (1_000, 10_000, 100_000):
        ours[str(steps)] = log_metrics_run(ours_py, steps, read=steps == 100_000)
        print(f"ours {steps}:", json.dumps(ours[str(steps)]), flush=True)
    published = {"1000": log_metrics_run(old_py, 1_000)}
    print("published 1000:", json.dumps(published["1000"]), flush=True)
    if not args.quick and args.published_max_steps > 1_000:
        n = args.published_max_steps
        published[str(n)] = log_metrics_run(old_py, n, budget=args.published_budget)
        print(f"published {n}:", json.dumps(published[str(n)]), flush=True)
    result["log_metrics"] = {"ours": ours, "published": published}
    result["ratio_at_1000_median"] = round(
        published["1000"]["median_us"] / ours["1000"]["median_us"], 1
    )
    result["read_100k"] = {
        "live_log_s": ours["100000"]["read_live_s"],
        "compacted_s": ours["100000"]["read_done_s"],
    }
    result["targets"] = {
        "import_over_bare_le_40ms": max(
            result["import"][k]["over_bare_ms"] for k in ("ours_no_site", "ours_dev_venv")
        )
        <= 40,
        "log_metrics_median_lt_20us": all(r["median_us"] < 20 for r in ours.values()),
        "read_100k_lt_0_5s": max(result["read_100k"].values()) < 0.5,
    }
    print(f"machine: {machine()}", file=sys.stderr)
    save("api", result)


if __name__ == "__main__":
    main()
