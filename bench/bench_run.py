"""`yanex run` against the published yanex 0.6.1, measured in the same run.

Figures (issue 3): wall time of `yanex run noop.py`; total time of a 32-experiment sweep of a
noop script at -j 2; peak RSS of the supervising `yanex` process (VmHWM sampled from
/proc/<pid>/status, its children excluded) at 32 and 500 experiments; a child writing 200 MB
to stdout: captured completely, supervisor RSS. The noop script is an empty file (`pass`);
the same two timings are repeated with a "tracked" noop (`import yanex; yanex.get_params()`,
what every real script does) and in a dirty tree (an uncommitted edit: a patch per run).

Every command runs in a fresh store, from a clean git repository holding the scripts, with
output to /dev/null, and with bytecode caching on (PYTHONDONTWRITEBYTECODE unset) as on a
user's machine; one warm-up run precedes the timed ones. Ours and the published version are
measured alternately so that background load hits both alike.

    python bench/bench_run.py            # everything (the published 500-sweep takes minutes)
    BENCH_QUICK=1 python bench/bench_run.py   # skip the published 500-experiment sweep
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH, REPO, machine, published_bin, save

NOOP = "pass\n"
TRACKED = "import yanex\nyanex.get_params()\n"  # the smallest script that uses yanex
SPEW = """
import sys
block = (b"y" * 1023 + b"\\n") * 1024
for _ in range(200):
    sys.stdout.buffer.write(block)
"""
MIB = 1024 * 1024


def ours_installed() -> Path:
    """bin/ of a plain (non-editable) install of this tree, like the published one's venv.

    The development venv holds yanex as an *editable* install, whose import hook costs
    ~30 ms at every interpreter start, and ``yanex run`` starts one per experiment: that
    would measure the dev setup, not yanex. So the package is copied (and byte-compiled)
    into its own venv, which borrows the dev venv's dependencies through a .pth line.
    """
    venv = BENCH / ".venv-ours"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / py / "site-packages"
    shutil.rmtree(site / "yanex", ignore_errors=True)
    shutil.copytree(REPO / "yanex", site / "yanex", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(site / "yanex", quiet=1)
    (site / "yanex_bench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = venv / "bin" / "yanex"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nfrom yanex._cli import main\nmain()\n")
    script.chmod(0o755)
    return venv / "bin"


def workspace() -> Path:
    """A clean git repository with the scripts, in a temporary directory."""
    root = Path(tempfile.mkdtemp(prefix="yanex-bench-run-"))
    (root / "noop.py").write_text(NOOP)
    (root / "tracked.py").write_text(TRACKED)
    (root / "spew.py").write_text(SPEW)
    git = ["git", "-c", "user.email=b@b", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "bench"], cwd=root, check=True)
    return root


def dirty_copy(root: Path) -> Path:
    """The workspace with an uncommitted change: each experiment then stores a git patch
    (and yanex 0.6.1 scans it for secrets), the usual state of a researcher's tree."""
    dirty = root / "dirty"
    subprocess.run(["git", "clone", "-q", str(root), str(dirty)], check=True)
    (dirty / "noop.py").write_text(NOOP + "# an uncommitted edit\n" * 50)
    return dirty


def environment(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANEX_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["YANEX_EXPERIMENTS_DIR"] = str(store)
    return env


def vm_hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str], cwd: Path, store: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB of the process itself) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=environment(store),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, vm_hwm_kib(proc.pid))
        time.sleep(0.005)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, peak


def fresh_store(root: Path, label: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"store-{label}-", dir=root))


def yanex_cmd(bin_dir: Path, *args: str) -> list[str]:
    return [str(bin_dir / "yanex"), "run", *args]


def noop_wall(
    bins: dict[str, Path], root: Path, repeat: int = 9, script: str = "noop.py"
) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in bins}
    for name, bin_dir in bins.items():  # warm-up: bytecode caches, page cache
        measure(yanex_cmd(bin_dir, script), root, fresh_store(root, name))
    for _ in range(repeat):
        for name, bin_dir in bins.items():
            times[name].append(measure(yanex_cmd(bin_dir, script), root,
                                       fresh_store(root, name))[0])
    return {name: statistics.median(values) for name, values in times.items()}


def sweep(
    bin_dir: Path, root: Path, count: int, label: str, script: str = "noop.py"
) -> tuple[float, int]:
    store = fresh_store(root, label)
    wall, peak = measure(yanex_cmd(bin_dir, script, "--param", f"i=range({count})",
                                   "--parallel", "2"), root, store)
    statuses = [p.read_text().count('"completed"') > 0 for p in store.glob("*/metadata.json")]
    if len(statuses) != count or not all(statuses):
        raise SystemExit(f"{label}: expected {count} completed experiments")
    return wall, peak


def sweeps(bins: dict[str, Path], root: Path, quick: bool) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, bin_dir in bins.items():
        walls = []
        for _ in range(3):
            wall, peak32 = sweep(bin_dir, root, 32, name)
            walls.append(wall)
        out[name] = {"sweep32_s": statistics.median(walls), "rss32_mib": peak32 / 1024}
        if name == "ours" or (name == "published" and not quick):
            wall, peak500 = sweep(bin_dir, root, 500, name)
            out[name].update(sweep500_s=wall, rss500_mib=peak500 / 1024)
    return out


def spew(bins: dict[str, Path], root: Path) -> dict[str, dict[str, float]]:
    out = {}
    for name, bin_dir in bins.items():
        store = fresh_store(root, name)
        wall, peak = measure(yanex_cmd(bin_dir, "spew.py"), root, store)
        captured = sum(p.stat().st_size for p in store.glob("*/artifacts/stdout.txt"))
        out[name] = {"wall_s": wall, "rss_mib": peak / 1024, "captured_mib": captured / MIB}
    return out


def pool_path_bin(ours: Path) -> Path:
    """A bin/ whose `yanex` is ours on the pool launch path (interpreters prepared ahead of
    need) beside the default exec path (a fresh `python -u` when each experiment starts)."""
    bin_dir = ours.parent / "bin-pool"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "yanex"
    wrapper.write_text(f'#!/bin/sh\nYANEX_LAUNCH_PATH=pool exec {ours / "yanex"} "$@"\n')
    wrapper.chmod(0o755)
    return bin_dir


def main() -> None:
    ours = ours_installed()
    bins = {"ours": ours, "ours-pool": pool_path_bin(ours), "published": published_bin()}
    quick = bool(os.environ.get("BENCH_QUICK"))
    root = workspace()
    try:
        measure_all(bins, root, quick)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure_all(bins: dict[str, Path], root: Path, quick: bool) -> None:
    print(f"machine: {machine()}", flush=True)
    noop = noop_wall(bins, root)
    print(f"noop: {noop}", flush=True)
    sweep_figures = sweeps(bins, root, quick)
    print(f"sweeps: {sweep_figures}", flush=True)
    tracked_noop = noop_wall(bins, root, repeat=5, script="tracked.py")
    tracked_sweep = {name: sweep(b, root, 32, name, "tracked.py")[0] for name, b in bins.items()}
    print(f"tracked script: noop {tracked_noop}, sweep32 {tracked_sweep}", flush=True)
    dirty = dirty_copy(root)
    dirty_noop = noop_wall(bins, dirty, repeat=5)
    dirty_sweep = {name: sweep(b, dirty, 32, name)[0] for name, b in bins.items()}
    print(f"dirty tree: noop {dirty_noop}, sweep32 {dirty_sweep}", flush=True)
    spew_figures = spew({k: v for k, v in bins.items() if k != "ours-pool"}, root)
    ours, published = sweep_figures["ours"], sweep_figures["published"]
    data: dict[str, object] = {
        "noop_wall_s": noop,
        "noop_ratio": noop["ours"] / noop["published"],
        "sweep": sweep_figures,
        "sweep32_ratio": ours["sweep32_s"] / published["sweep32_s"],
        "stdout_200mb": spew_figures,
        "tracked_script": {
            "noop_wall_s": tracked_noop,
            "noop_ratio": tracked_noop["ours"] / tracked_noop["published"],
            "sweep32_s": tracked_sweep,
            "sweep32_ratio": tracked_sweep["ours"] / tracked_sweep["published"],
        },
        "dirty_tree": {
            "noop_wall_s": dirty_noop,
            "noop_ratio": dirty_noop["ours"] / dirty_noop["published"],
            "sweep32_s": dirty_sweep,
            "sweep32_ratio": dirty_sweep["ours"] / dirty_sweep["published"],
        },
        "pool_path": {  # interpreters prepared ahead of need (YANEX_LAUNCH_PATH=pool)
            "noop_ratio": noop["ours-pool"] / noop["published"],
            "sweep32_ratio": sweep_figures["ours-pool"]["sweep32_s"] / published["sweep32_s"],
            "tracked_sweep32_ratio": tracked_sweep["ours-pool"] / tracked_sweep["published"],
        },
        "targets": {  # issue 8: at most 0.4 and 1/3 of the published yanex, same run
            "noop_ratio<=0.4": noop["ours"] / noop["published"] <= 0.4,
            "sweep32_ratio<=1/3": ours["sweep32_s"] / published["sweep32_s"] <= 1 / 3,
            "rss500_flat(<=1.1x rss32)": ours["rss500_mib"] <= 1.1 * ours["rss32_mib"],
            "200mb_captured": abs(spew_figures["ours"]["captured_mib"] - 200) < 1e-6,
            "200mb_rss<80MB": spew_figures["ours"]["rss_mib"] * MIB < 80e6,
        },
    }
    save("run", data)


if __name__ == "__main__":
    main()
