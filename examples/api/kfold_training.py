"""K-fold cross-validation with yanex.run_multiple: one script, two roles.

Run it directly (``python kfold_training.py``). Without the ``_fold_idx`` parameter it is
the orchestrator: it starts one tracked experiment per fold, running this same file with
``_fold_idx`` set, and reports how many folds completed. With ``_fold_idx`` set (inside a
spawned experiment) it trains and evaluates that one fold and logs the fold's accuracy.

The model is a tiny logistic regression in plain Python, so the example needs no extra
packages; put your own loading and training code in its place.
"""

import math
import random
from pathlib import Path

import yanex

FOLDS = 5


def load_fold(fold_idx, folds=FOLDS, size=200, seed=0):
    """A fixed two-class data set, split into (train, validation) for one fold."""
    rng = random.Random(seed)
    data = []
    for _ in range(size):
        label = rng.random() < 0.5
        x = rng.gauss(1.0 if label else -1.0, 0.8)
        data.append((x, int(label)))
    val = data[fold_idx::folds]
    train = [row for i, row in enumerate(data) if i % folds != fold_idx]
    return train, val


def train_model(train_data, val_data, learning_rate=0.1, epochs=50):
    w, b = 0.0, 0.0
    for _ in range(epochs):
        for x, y in train_data:
            p = 1 / (1 + math.exp(-(w * x + b)))
            w -= learning_rate * (p - y) * x
            b -= learning_rate * (p - y)
    return w, b


def evaluate(model, val_data):
    w, b = model
    hits = sum(int((w * x + b > 0) == bool(y)) for x, y in val_data)
    return hits / len(val_data)


# Detect the role with a sentinel parameter (absent when run directly)
fold_idx = yanex.get_param("_fold_idx", default=None)

if fold_idx is None:
    # ORCHESTRATION MODE: one experiment per fold
    print(f"Spawning {FOLDS}-fold cross-validation...")
    experiments = [
        yanex.ExperimentSpec(
            script_path=Path(__file__),
            config={"_fold_idx": i, "learning_rate": 0.01},
            name=f"fold-{i}",
            tags=["kfold"],
        )
        for i in range(FOLDS)
    ]
    results = yanex.run_multiple(experiments, parallel=FOLDS)

    completed = [r for r in results if r.status == "completed"]
    print(f"Completed {len(completed)}/{FOLDS} folds")
    for r in results:
        print(f"  {r.name}: {r.status} ({r.experiment_id})")

else:
    # EXECUTION MODE: train one fold
    print(f"Training fold {fold_idx}...")
    train_data, val_data = load_fold(fold_idx)
    model = train_model(train_data, val_data, yanex.get_param("learning_rate", 0.01))
    accuracy = evaluate(model, val_data)
    yanex.log_metrics({"fold": fold_idx, "accuracy": accuracy})
    print(f"fold {fold_idx}: accuracy {accuracy:.3f}")
