"""Grid search, then an ensemble of the best setting, with yanex.run_multiple.

Run it directly: ``python batch_execution.py``. As the orchestrator (no ``_role``
parameter) it runs a learning-rate x batch-size grid, picks the setting with the lowest
validation loss (read back from each experiment's ``result.json`` artifact), then trains
three seeds of it as an ensemble. Each spawned experiment runs this same file with
``_role`` set and trains one model.

The number of parallel workers follows ``yanex.get_cli_args()['parallel']`` when the flags
provide one (0 means one per CPU) and defaults to 2: the orchestrator pattern of the Run
API reference. Inside a ``yanex run`` experiment ``run_multiple`` refuses to start nested
experiments (ExperimentContextError), so launch the orchestrator with python itself.
"""

import random
from pathlib import Path

import yanex

LEARNING_RATES = [0.01, 0.1]
BATCH_SIZES = [4, 16]
ENSEMBLE_SEEDS = [1, 2, 3]


def make_data(seed=0, size=64):
    """y = 3x + 1 with a little noise, split into train and validation halves."""
    rng = random.Random(seed)
    data = [(x / size, 3 * x / size + 1 + rng.gauss(0, 0.05)) for x in range(size)]
    return data[::2], data[1::2]


def train(learning_rate, batch_size, seed, epochs=30):
    rng = random.Random(seed)
    train_data, val_data = make_data()
    w, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
    for epoch in range(epochs):
        rng.shuffle(train_data)
        for start in range(0, len(train_data), batch_size):
            batch = train_data[start : start + batch_size]
            gw = sum(2 * (w * x + b - y) * x for x, y in batch) / len(batch)
            gb = sum(2 * (w * x + b - y) for x, y in batch) / len(batch)
            w, b = w - learning_rate * gw, b - learning_rate * gb
        val_loss = sum((w * x + b - y) ** 2 for x, y in val_data) / len(val_data)
        yanex.log_metrics({"epoch": epoch, "val_loss": val_loss})
    return w, b, val_loss


def spec(role, learning_rate, batch_size, seed, *, name, tags):
    return yanex.ExperimentSpec(
        script_path=Path(__file__),
        config={"_role": role, "learning_rate": learning_rate, "batch_size": batch_size,
                "seed": seed},
        name=name,
        tags=tags,
    )


def report(title, results):
    completed = [r for r in results if r.status == "completed"]
    print(f"{title}: {len(completed)}/{len(results)} completed")
    for r in results:
        extra = f" - {r.error_message}" if r.error_message else ""
        print(f"  {r.name}: {r.status}{extra}")
    return completed


def orchestrate():
    parallel = yanex.get_cli_args().get("parallel")
    if parallel is None:
        parallel = 2

    grid = [
        spec("grid", lr, bs, 0, name=f"grid-lr{lr}-bs{bs}", tags=["grid-search"])
        for lr in LEARNING_RATES
        for bs in BATCH_SIZES
    ]
    completed = report("Grid search", yanex.run_multiple(grid, parallel=parallel))
    scores = {
        r.experiment_id: yanex.load_artifact("result.json", from_experiment=r.experiment_id)
        for r in completed
    }
    best = min(scores.values(), key=lambda s: s["val_loss"])
    print(f"Best: learning_rate={best['learning_rate']} batch_size={best['batch_size']} "
          f"val_loss={best['val_loss']:.5f}")

    ensemble = [
        spec("ensemble", best["learning_rate"], best["batch_size"], seed,
             name=f"ensemble-seed{seed}", tags=["ensemble"])
        for seed in ENSEMBLE_SEEDS
    ]
    members = report("Ensemble", yanex.run_multiple(ensemble, parallel=parallel))
    models = [yanex.load_artifact("result.json", from_experiment=r.experiment_id)
              for r in members]
    w = sum(m["w"] for m in models) / len(models)
    b = sum(m["b"] for m in models) / len(models)
    print(f"Ensemble of {len(models)}: y = {w:.3f}x + {b:.3f}")


def work():
    params = yanex.get_params()
    w, b, val_loss = train(params["learning_rate"], params["batch_size"], params["seed"])
    yanex.save_artifact(
        {"w": w, "b": b, "val_loss": val_loss, "learning_rate": params["learning_rate"],
         "batch_size": params["batch_size"]},
        "result.json",
    )
    print(f"{params['_role']}: val_loss={val_loss:.5f}")


if yanex.get_params().get("_role") is None:
    orchestrate()
else:
    work()
