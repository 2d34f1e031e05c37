"""Process-running benchmarks: run_multiple of 32 noop specs at parallel=2, and
execute_bash_script of a command printing 20 MB; the published yanex 0.6.1 is measured in
its own virtualenv in the same run.

Usage: python bench/bench_batch.py [--repeat N]

Every figure comes from a fresh interpreter (a driver script run by ours or the published
python), in a throwaway git repository with one commit, with bytecode caching on for both.
- run_multiple: the wall time of the call; the noop script is ``import yanex`` (the least a
  tracked script does); an empty script is measured too.
- execute_bash_script: ``cat`` of a 20 MB text file inside an experiment, with 100-byte
  lines and with short ``seq`` lines (the published yanex's cost grows with the line
  count; ours does not), stream_output=True (the default; our stdout is /dev/null) and
  False. The baselines are ``cat big > file`` and ``cat big | cat > file`` run through
  bash from the same kind of process. Peak RSS is the driver's VmHWM at the end of the
  call (ru_maxrss would include the bench's own peak, carried over fork and exec); its
  peak before the call is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import published_bin, save

SIZE = 20_000_000
SPECS = 32

BATCH = r"""
import json, sys, time
from pathlib import Path
import yanex
script, count = sys.argv[1], int(sys.argv[2])
specs = [yanex.ExperimentSpec(script_path=Path(script), name=f"noop-{i}") for i in range(count)]
t0 = time.perf_counter()
results = yanex.run_multiple(specs, parallel=2)
wall = time.perf_counter() - t0
assert [r.status for r in results] == ["completed"] * count, results
print("RESULT " + json.dumps({"wall": wall}), file=sys.stderr)
"""

SCRIPT = r"""
import json, os, resource, subprocess, sys, time
from pathlib import Path
mode, big = sys.argv[1], sys.argv[2]
out = Path(big).with_name("copy.txt")
def peak():  # VmHWM: this address space's peak (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
def fixed(run):  # median wall of a command that does nothing: the per-call overhead
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return sorted(times)[3]
if mode.startswith("baseline"):
    cmd = f"cat {big} > {out}" if mode == "baseline-cat" else f"cat {big} | cat > {out}"
    t_true = fixed(lambda: subprocess.run(["bash", "-c", "true"], check=True))
    t0 = time.perf_counter()
    subprocess.run(["bash", "-c", cmd], check=True)
    wall = time.perf_counter() - t0
    print("RESULT " + json.dumps({"wall": wall, "true": t_true}), file=sys.stderr)
    sys.exit(0)
import yanex
with yanex.create_experiment(Path("bench.py")):
    t_true = fixed(lambda: yanex.execute_bash_script("true", stream_output=False))
    before = peak()
    t0 = time.perf_counter()
    r = yanex.execute_bash_script(f"cat {big}", stream_output=(mode == "stream"))
    wall = time.perf_counter() - t0
    rss = peak()
    strings = len(r["stdout"]) + len(r["stderr"])
    # yanex 0.6.1 returns the lines joined by newlines: one byte short
    assert os.path.getsize(big) - len(r["stdout"]) in (0, 1), len(r["stdout"])
print("RESULT " + json.dumps({"wall": wall, "peak_rss": rss, "rss_before": before,
                              "strings": strings, "true": t_true}), file=sys.stderr)
"""


def _env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANEX_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides use their bytecode caches
    env["YANEX_EXPERIMENTS_DIR"] = str(store)
    return env


def _result(text: str) -> dict[str, float]:
    line = next(x for x in text.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])  # type: ignore[no-any-return]


def _run(python: Path, code: str, args: list[str], cwd: Path, store: Path) -> dict[str, float]:
    proc = subprocess.run(
        [str(python), "-c", code, *args], cwd=cwd, env=_env(store),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{python} failed:\n{proc.stderr[-3000:]}")
    return _result(proc.stderr)


def _repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "noop.py").write_text("import yanex\n")
    (repo / "empty.py").write_text("pass\n")
    (repo / "lines100.txt").write_bytes((b"x" * 99 + b"\n") * (SIZE // 100))
    with (repo / "seq.txt").open("wb") as fh:  # 1, 2, 3, ... while under SIZE bytes
        written, i = 0, 1
        while True:
            block = b"".join(b"%d\n" % n for n in range(i, i + 10_000))
            if written + len(block) > SIZE:
                break
            fh.write(block)
            written, i = written + len(block), i + 10_000
    git = ["git", "-c", "user.email=b@b", "-c", "user.name=bench"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "noop.py", "empty.py"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "bench"], check=True)
    return repo


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def bench_batch(pythons: dict[str, Path], repo: Path, root: Path, repeat: int) -> dict:
    """Runs of ours and the published alternate, so load drift hits both alike."""
    out: dict[str, dict[str, float]] = {}
    for script in ("noop.py", "empty.py"):
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in pythons}
        for name, python in pythons.items():
            _run(python, BATCH, [script, "2"], repo, root / f"store-{name}")  # warm caches
        for _ in range(repeat):
            for name, python in pythons.items():
                args = [script, str(SPECS)]
                runs[name].append(_run(python, BATCH, args, repo, root / f"store-{name}"))
        res = out[script] = {name: round(_median(r, "wall"), 3) for name, r in runs.items()}
        res["ratio"] = round(res["ours"] / res["published"], 3)
        res["pool_ratio"] = round(res["ours-pool"] / res["published"], 3)
        print(f"run_multiple {SPECS}x {script} parallel=2: {res}")
    return out


def bench_script(pythons: dict[str, Path], repo: Path, root: Path, repeat: int) -> dict:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for shape in ("lines100.txt", "seq.txt"):
        big = str(repo / shape)
        res = out[shape] = {}
        for mode in ("baseline-cat", "baseline-pipe"):
            runs = [_run(pythons["ours"], SCRIPT, [mode, big], repo, root / "s")
                    for _ in range(repeat)]  # fmt: skip
            res[mode] = {"wall": round(_median(runs, "wall"), 4),
                         "true": round(_median(runs, "true"), 4)}  # fmt: skip
        for mode in ("stream", "quiet"):
            script_pythons = {k: v for k, v in pythons.items() if k != "ours-pool"}
            timed: dict[str, list[dict[str, float]]] = {name: [] for name in script_pythons}
            for _ in range(repeat):
                for name, python in script_pythons.items():
                    store = root / f"store-{name}"
                    timed[name].append(_run(python, SCRIPT, [mode, big], repo, store))
            for name in script_pythons:
                res[f"{name}-{mode}"] = _script_figures(timed[name], res["baseline-cat"])
                print(f"execute_bash_script {shape} {mode:6} {name}: {res[f'{name}-{mode}']}")
    return out


def _script_figures(runs: list[dict[str, float]], cat: dict[str, float]) -> dict[str, float]:
    """Wall and RSS figures; vs_cat compares whole calls, vs_cat_data only the part that
    grows with the output (each side minus its own do-nothing command)."""
    mib = 1024 * 1024
    wall, fixed = _median(runs, "wall"), _median(runs, "true")
    return {
        "wall": round(wall, 4),
        "vs_cat": round(wall / cat["wall"], 2),
        "fixed": round(fixed, 4),
        "vs_cat_data": round((wall - fixed) / (cat["wall"] - cat["true"]), 2),
        "peak_rss_mib": round(max(r["peak_rss"] for r in runs) / mib, 1),
        "rss_before_mib": round(max(r["rss_before"] for r in runs) / mib, 1),
        "strings_mib": round(runs[0]["strings"] / mib, 1),
        "rss_budget_mib": round(runs[0]["strings"] / mib + 60, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from bench_run import ours_installed, pool_path_bin  # a plain (non-editable) copy of ours

    ours = ours_installed()
    pool_python = pool_path_bin(ours) / "python"
    pool_python.write_text(f'#!/bin/sh\nYANEX_LAUNCH_PATH=pool exec {ours / "python"} "$@"\n')
    pool_python.chmod(0o755)
    pythons = {
        "ours": ours / "python",
        "ours-pool": pool_python,
        "published": published_bin() / "python",
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = _repo(root)
        batch = bench_batch(pythons, repo, root, max(3, args.repeat // 2))
        script = bench_script(pythons, repo, root, args.repeat)
    save("batch", {"command": " ".join(sys.argv), "run_multiple": batch,
                   "execute_bash_script": script})  # fmt: skip


if __name__ == "__main__":
    main()
