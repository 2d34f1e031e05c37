"""The web UI (`yanex ui`) on a large store: table page time, a 100,000-step metric served
downsampled, the server's memory, and the experiment page's first paint in Chromium.

Targets (issue 12): table page of a 10,000-experiment store at most 0.3 s of server time;
a 100,000-step metric served downsampled at most 0.1 s; server RSS at most 80 MB with that
store; first paint of the experiment page in Chromium at most 1 s.

The server is a real `yanex ui` process on 127.0.0.1; times are taken by the client over
loopback (so they include the HTTP round trip, a fraction of a millisecond), median of
REPEAT requests after one warm-up. The 100,000-step figure is given cold (the first
request, which decodes `metrics.json`) and warm (the server keeps the last few decoded
series). First paint is Chromium's `first-contentful-paint` of the experiment page, and
the time until its first chart is drawn, in a fresh browser context each time.

    python bench/bench_ui.py
    BENCH_N=2000 python bench/bench_ui.py      # a smaller store
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_query
from _common import save

N = int(os.environ.get("BENCH_N", "10000"))
STEPS = 100_000
REPEAT = 10
CHROMIUM = os.environ.get("YANEX_CHROMIUM", "/usr/bin/chromium")

LONG = """
import sys, math, msgspec
from pathlib import Path
from yanex._store import fs, store
from yanex._core.experiment import new_metadata
root, steps = Path(sys.argv[1]), int(sys.argv[2])
exp_id, exp_dir = store.new_experiment_dir(root)
meta = new_metadata(exp_id, script_path="/src/train.py", name="long", tags=["bench"])
meta.id, meta.status = exp_id, "completed"
meta.created_at = meta.started_at = meta.completed_at = "2020-01-01T00:00:00.000000Z"
store.write_config(exp_dir, {"lr": 0.1})
rows = [{"step": s, "loss": 1 / (s + 1) + 0.01 * math.sin(s / 50), "acc": s / steps,
         "timestamp": "2020-01-01T00:00:00.000000Z"} for s in range(steps)]
fs.atomic_write(exp_dir / "metrics.json", msgspec.json.encode(rows), fsync=False)
store.write_metadata(exp_dir, meta)
print(exp_id)
"""


def get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as res:
        body = res.read()
    return time.perf_counter() - start, body


def median_get(url: str) -> float:
    get(url)
    return statistics.median(get(url)[0] for _ in range(REPEAT))


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of ``pid`` in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "yanex", "ui", "--port", "0", "--global"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Server running at "):
            return proc, line.split(" at ", 1)[1].strip()
    raise SystemExit(f"yanex ui did not start: {proc.communicate()[1]}")


def paint(url: str) -> dict[str, float]:
    """Median first-contentful-paint and first-chart times of the experiment page (ms)."""
    from playwright.sync_api import sync_playwright

    fcp, chart = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(6):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(".chart .u-over")
            chart.append((time.perf_counter() - start) * 1000)
            fcp.append(page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0].startTime"
            ))  # fmt: skip
            context.close()
        browser.close()
    return {
        "first_contentful_paint_ms": round(statistics.median(fcp[1:]), 1),
        "first_chart_drawn_ms": round(statistics.median(chart[1:]), 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        print(f"generating {N} experiments ...", flush=True)
        bench_query.N = N
        bench_query.generate(root)
        env = dict(os.environ, YANEX_EXPERIMENTS_DIR=str(root))  # never the user's store
        made = subprocess.run([sys.executable, "-c", LONG, str(root), str(STEPS)], env=env,
                              cwd=tmp, capture_output=True, text=True, check=True)  # fmt: skip
        long_id = made.stdout.strip()
        proc, url = start_server(env)
        try:
            out = {"experiments": N + 1, "metric_steps": STEPS}
            out["table_page_s"] = round(median_get(f"{url}/api/experiments?page=1"), 4)
            out["table_page_sorted_by_name_s"] = round(
                median_get(f"{url}/api/experiments?sort=name&order=asc&page=7"), 4
            )
            out["table_page_text_search_s"] = round(
                median_get(f"{url}/api/experiments?q=exp-99&status=completed"), 4
            )
            t_cold, body = get(f"{url}/api/experiments/{long_id}/metrics")
            loss = json.loads(body)["metrics"]["loss"]
            out["metric_100k_cold_s"] = round(t_cold, 4)
            out["metric_100k_warm_s"] = round(
                median_get(f"{url}/api/experiments/{long_id}/metrics"), 4
            )
            out["metric_points_served"] = len(loss["steps"])
            out["server_rss_mb"], out["server_peak_rss_mb"] = (
                round(v, 1) for v in rss_mb(proc.pid)
            )
            if Path(CHROMIUM).exists():
                out.update(paint(f"{url}/experiments/{long_id}"))
            save("ui", out)
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
