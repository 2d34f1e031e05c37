"""`make demo`: run a small learning-rate sweep with yanex and show what it recorded.

The demo uses its own store (.yanex-demo/ in the repository) so it never touches yours.
"""

import os
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
store = here.parent / ".yanex-demo"
env = {**os.environ, "YANEX_EXPERIMENTS_DIR": str(store)}


def yanex(*args: str) -> None:
    print(f"\n$ yanex {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "yanex", *args], env=env, check=True, cwd=here)


yanex(
    "run", "train.py",
    "--param", "lr=list(0.01, 0.05, 0.2)",
    "--param", "epochs=40",
    "--tag", "demo", "--parallel", "2",
)
yanex("list", "--tag", "demo", "--global")
yanex("compare", "--tag", "demo", "--global", "--param", "lr", "--metric", "final_loss")

os.environ["YANEX_EXPERIMENTS_DIR"] = str(store)
import yanex.results as yr  # noqa: E402

best = yr.get_best("final_loss", maximize=False, tags=["demo"])
if best is not None:
    loss = best.get_metric("final_loss")
    print(f"\nBest run: {best.id} lr={best.get_param('lr')} final_loss={loss:.4f}")
print(f"\nThe demo store is {store} (delete it when done).")
