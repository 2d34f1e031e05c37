"""Querying a large store against the published yanex 0.6.1, measured in the same run.

Figures (issue 5), on a store of 10,000 experiments with 100 metric steps each:
`yanex list` (default listing and `--all`), `yanex show ID`, `yanex get status ID`,
`yanex.results.get_experiments(status="completed")` in a fresh interpreter, and the cost
of one `with yanex.create_experiment(...)` block (create and complete).

The store is generated directly with our store functions in the layout both versions read
(metadata.json with the nested `git` block, config.json and params.yaml, metrics.json).
Commands run from a directory outside any git repository (so both list every project),
with output to a pipe and bytecode caching on; one warm-up run precedes the timed ones,
and ours and the published version alternate so background load hits both alike. Ours
runs from the development virtualenv (editable install), which costs it a little.

    YANEX_PUBLISHED_VENV=/path/to/venv python bench/bench_query.py
    BENCH_N=2000 python bench/bench_query.py      # a smaller store
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, published_bin, save

N = int(os.environ.get("BENCH_N", "10000"))
STEPS = 100
REPEAT = 5

GENERATE = """
import sys, time
from pathlib import Path
from yanex._core import gitinfo
from yanex._core.experiment import new_metadata
from yanex._store import fs, store
from yanex._store.clock import iso
from yanex._store.schema import encode_pretty

root, n, steps = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
git = gitinfo.GitState(commit="e95fdf981b8049521c0731ab89cafb4064eda1c0", branch="main",
                       repo_root=Path("/src/benchproj"))
base = time.time() - n * 60
for i in range(n):
    exp_id, exp_dir = store.new_experiment_dir(root)
    meta = new_metadata(exp_id, script_path="/src/benchproj/train.py", name=f"exp-{i}",
                        tags=["bench", f"group{i % 10}"], git=git)
    meta.id = exp_id
    t = base + i * 60
    meta.created_at, meta.started_at, meta.completed_at = iso(t), iso(t + 1), iso(t + 31)
    meta.duration = 30.0
    meta.status = ("completed", "failed", "completed", "cancelled")[i % 4]
    config = {"lr": 0.001 * (i % 7 + 1), "batch": 32, "model": {"layers": i % 5}}
    store.write_config(exp_dir, config)
    metrics = [{"step": s, "loss": 1 / (s + 1), "acc": s / steps, "timestamp": iso(t + s)}
               for s in range(steps)]
    fs.atomic_write(exp_dir / "metrics.json", encode_pretty(metrics), fsync=False)
    store.write_metadata(exp_dir, meta)
"""

CREATE = """
import sys, time, yanex
from pathlib import Path
n = int(sys.argv[1])
with yanex.create_experiment(Path("train.py"), name="warm", config={"lr": 0.1}):
    pass
start = time.perf_counter()
for i in range(n):
    with yanex.create_experiment(Path("train.py"), name=f"c{i}", config={"lr": 0.1}, tags=["t"]):
        pass
print("BENCH", (time.perf_counter() - start) / n)
"""

RESULTS = """
import time
start = time.perf_counter()
import yanex.results as yr
found = yr.get_experiments(status="completed")
print("BENCH", time.perf_counter() - start, len(found))
"""


def generate(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", GENERATE, str(root), str(N), str(STEPS)], check=True)
    return time.perf_counter() - start


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``cmd``."""
    cpu, start = _child_cpu(), time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"{cmd} failed: {res.stderr.decode()[-2000:]}")
    return elapsed, _child_cpu() - cpu


def compare_commands(
    cases: dict[str, tuple[list[str], list[str]]], env: dict[str, str], cwd: Path
) -> dict[str, dict[str, float]]:
    """Median seconds of each (ours, published) command pair, run alternately."""
    out = {}
    for label, (ours, theirs) in cases.items():
        timed(ours, env, cwd)
        timed(theirs, env, cwd)
        t_ours, t_theirs = [], []
        for _ in range(REPEAT):
            t_ours.append(timed(ours, env, cwd))
            t_theirs.append(timed(theirs, env, cwd))
        a, b = (statistics.median(w for w, _c in t) for t in (t_ours, t_theirs))
        ca, cb = (statistics.median(c for _w, c in t) for t in (t_ours, t_theirs))
        out[label] = {
            "ours_s": round(a, 3), "published_s": round(b, 3), "ratio": round(b / a, 1),
            "ours_cpu_s": round(ca, 3), "published_cpu_s": round(cb, 3),
        }  # fmt: skip
        print(f"{label:28s} ours {a:.3f} s (cpu {ca:.3f})   0.6.1 {b:.3f} s (cpu {cb:.3f})"
              f"   x{b / a:.1f}", flush=True)  # fmt: skip
    return out


def in_process(py: str, code: str, args: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    """The figures a snippet prints on its BENCH line (the published yanex prints more)."""
    res = subprocess.run([py, "-c", code, *args], env=env, cwd=cwd, capture_output=True,
                         text=True, check=True)  # fmt: skip
    line = next(x for x in res.stdout.splitlines() if x.startswith("BENCH "))
    return line.split()[1:]


def main() -> None:
    print(machine(), flush=True)
    published = published_bin()
    ours_yanex = [sys.executable, "-m", "yanex"]
    theirs_yanex = [str(published / "yanex")]
    with tempfile.TemporaryDirectory(prefix="yanex-bench-query-") as tmp:
        work, root = Path(tmp) / "work", Path(tmp) / "store"
        work.mkdir()
        env = {**os.environ, "YANEX_EXPERIMENTS_DIR": str(root), "NO_COLOR": "1"}
        env.pop("YANEX_EXPERIMENT_ID", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as on a user's machine
        compileall.compile_dir(REPO / "yanex", quiet=1)
        gen_s = generate(root)
        print(f"generated {N} experiments x {STEPS} steps in {gen_s:.1f} s", flush=True)
        some = sorted(p.name for p in root.iterdir() if len(p.name) == 8)[N // 2]
        cases = {
            "list (default)": ([*ours_yanex, "list"], [*theirs_yanex, "list"]),
            "list --all": ([*ours_yanex, "list", "--all"], [*theirs_yanex, "list", "--all"]),
            "show ID": ([*ours_yanex, "show", some], [*theirs_yanex, "show", some]),
            "get status ID": (
                [*ours_yanex, "get", "status", some],
                [*theirs_yanex, "get", "status", some],
            ),
        }
        load = [os.getloadavg()[0]]
        figures = compare_commands(cases, env, work)
        ours_res = [float(in_process(sys.executable, RESULTS, [], env, work)[0])
                    for _ in range(3)]  # fmt: skip
        theirs_res = [float(in_process(str(published / "python"), RESULTS, [], env, work)[0])
                      for _ in range(3)]  # fmt: skip
        a, b = statistics.median(ours_res), statistics.median(theirs_res)
        figures["results.get_experiments(status=completed)"] = {
            "ours_s": round(a, 3), "published_s": round(b, 3), "ratio": round(b / a, 1)
        }  # fmt: skip
        print(f"results.get_experiments    ours {a:.3f} s   0.6.1 {b:.3f} s   x{b / a:.1f}")
        create_env = {**env, "YANEX_EXPERIMENTS_DIR": str(Path(tmp) / "create-store")}
        c_ours = float(in_process(sys.executable, CREATE, ["300"], create_env, work)[0])
        theirs_py = str(published / "python")
        c_theirs = float(in_process(theirs_py, CREATE, ["100"], create_env, work)[0])
        figures["create_experiment (with-block)"] = {
            "ours_ms": round(c_ours * 1000, 2),
            "published_ms": round(c_theirs * 1000, 2),
            "ratio": round(c_theirs / c_ours, 1),
        }
        print(f"create_experiment          ours {c_ours * 1000:.2f} ms   0.6.1 "
              f"{c_theirs * 1000:.2f} ms")  # fmt: skip
    load.append(os.getloadavg()[0])  # the machine may be shared: say how busy it was
    save("query", {"experiments": N, "metric_steps": STEPS, "generate_s": round(gen_s, 1),
                   "load_average": [round(x, 2) for x in load], "figures": figures})  # fmt: skip


if __name__ == "__main__":
    main()
