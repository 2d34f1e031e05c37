"""CLI start-up against `python -c "import yanex"`, measured in the same run (issue 9).

Figures: wall time of `yanex --help`, `yanex list` (a store of 200 experiments) and
`yanex get status ID`, each as a ratio to `python -c "import yanex"` in the same virtualenv
(target: at most 3x), and the same for CPU time (user + system, less sensitive to other
jobs on a shared machine); `python -c "import msgspec"` is measured beside them for
reference (not a target: what list and get cannot start faster than). Every figure is the
median of fresh processes, all commands taking turns run by run so background load hits each
alike; one warm-up round first. Output goes
to a pipe (no rich), bytecode caching is on, the commands run outside any git repository,
and the store is made with our store functions (as bench_query.py makes its store).

Two installs are measured: a plain (non-editable) copy of this tree in `bench/.venv-ours`
(`ours_installed()` of bench_run.py), which is what a user gets from `pip install`, and the
development venv, whose editable-install hook adds the same fixed cost to every
interpreter start (it is in the `import yanex` baseline too, so its ratios are smaller).

With ``BENCH_BEFORE=<commit>`` the yanex of that commit (``git archive``) is measured too,
as a third plain install, in the same run: the figures before and after a change.

    python bench/bench_cli.py
    BENCH_REPEAT=41 BENCH_BEFORE=731ef80 python bench/bench_cli.py
"""

from __future__ import annotations

import compileall
import io
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, save
from bench_query import GENERATE
from bench_run import ours_installed

EXPERIMENTS = 200
STEPS = 10
REPEAT = int(os.environ.get("BENCH_REPEAT", "21"))
TARGET = 3.0


def make_store(root: Path) -> str:
    """A store of EXPERIMENTS experiments; returns the id of one of them."""
    args = [str(root), str(EXPERIMENTS), str(STEPS)]
    subprocess.run([sys.executable, "-c", GENERATE, *args], check=True)
    return sorted(p.name for p in root.iterdir() if len(p.name) == 8)[EXPERIMENTS // 2]


def installed_at(commit: str, venv: Path) -> Path:
    """bin/ of a plain install of yanex as it was at ``commit``, made as ours_installed()."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / py / "site-packages"
    archive = subprocess.run(
        ["git", "archive", commit, "yanex"], cwd=REPO, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(site, filter="data")
    compileall.compile_dir(site / "yanex", quiet=1)
    (site / "yanex_bench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = venv / "bin" / "yanex"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nfrom yanex._cli import main\nmain()\n")
    script.chmod(0o755)
    return venv / "bin"


# Not a target: what importing the store's decoder library alone costs (list and get read
# metadata.json through msgspec), the floor of those two commands as they are built.
REFERENCE = "python -c 'import msgspec'"


def commands(bin_dir: Path, exp_id: str) -> dict[str, list[str]]:
    py, yanex = str(bin_dir / "python"), str(bin_dir / "yanex")
    return {
        "python -c 'import yanex'": [py, "-c", "import yanex"],
        "yanex --help": [yanex, "--help"],
        "yanex list": [yanex, "list"],
        "yanex get status ID": [yanex, "get", "status", exp_id],
        REFERENCE: [py, "-c", "import msgspec"],
    }


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of ``cmd``."""
    cpu, start = _child_cpu(), time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"{cmd} failed: {res.stderr.decode()[-2000:]}")
    return elapsed, _child_cpu() - cpu


def measure(
    cases: dict[str, list[str]], env: dict[str, str], cwd: Path
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each command, all of them taking turns."""
    for cmd in cases.values():
        once(cmd, env, cwd)  # warm-up: bytecode written, files in the page cache
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    for _ in range(REPEAT):
        for label, cmd in cases.items():
            runs[label].append(once(cmd, env, cwd))
    return {
        label: (statistics.median(w for w, _c in r), statistics.median(c for _w, c in r))
        for label, r in runs.items()
    }


def report(name: str, medians: dict[str, tuple[float, float]]) -> dict[str, object]:
    base_wall, base_cpu = medians["python -c 'import yanex'"]
    print(f"--- {name}", flush=True)
    out: dict[str, object] = {}
    for label, (wall, cpu) in medians.items():
        ratio, cpu_ratio = wall / base_wall, cpu / base_cpu
        print(f"{label:28s} {wall * 1000:7.1f} ms  x{ratio:.2f}   "
              f"cpu {cpu * 1000:6.1f} ms  x{cpu_ratio:.2f}", flush=True)  # fmt: skip
        out[label] = {
            "ms": round(wall * 1000, 1), "ratio": round(ratio, 2),
            "cpu_ms": round(cpu * 1000, 1), "cpu_ratio": round(cpu_ratio, 2),
        }  # fmt: skip
    targets = [w for label, (w, _c) in medians.items() if label != REFERENCE]
    out["within_target"] = all(w / base_wall <= TARGET for w in targets)
    return out


def main() -> None:
    print(machine(), flush=True)
    installs: dict[str, Path] = {
        "plain install (.venv-ours)": ours_installed(),
        "dev venv (editable)": Path(sys.executable).parent,
    }
    load = [os.getloadavg()[0]]
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="yanex-bench-cli-") as tmp:
        before = os.environ.get("BENCH_BEFORE")
        if before:
            installs[f"plain install of {before}"] = installed_at(before, Path(tmp) / "venv")
        work, root = Path(tmp) / "work", Path(tmp) / "store"
        work.mkdir()
        env = {**os.environ, "YANEX_EXPERIMENTS_DIR": str(root), "NO_COLOR": "1"}
        env.pop("YANEX_EXPERIMENT_ID", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as on a user's machine
        exp_id = make_store(root)
        for name, bin_dir in installs.items():
            figures[name] = report(name, measure(commands(bin_dir, exp_id), env, work))
    load.append(os.getloadavg()[0])  # the machine may be shared: say how busy it was
    save(
        "cli",
        {
            "experiments": EXPERIMENTS,
            "repeat": REPEAT,
            "target_ratio": TARGET,
            "before": before,
            "load_average": [round(x, 2) for x in load],
            "figures": figures,
        },
    )


if __name__ == "__main__":
    main()
