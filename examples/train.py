"""A toy training script: works standalone (python train.py) and under `yanex run`.

It fits y = 3x + 1 by gradient descent, so the learning rate visibly changes the outcome.
"""

import random

import yanex

params = yanex.get_params()
lr = params.get("lr", 0.01)
epochs = params.get("epochs", 20)
seed = params.get("seed", 0)

rng = random.Random(seed)
data = [(x / 10, 3 * x / 10 + 1 + rng.gauss(0, 0.05)) for x in range(20)]
w, b = 0.0, 0.0
for epoch in range(epochs):
    gw = sum(2 * (w * x + b - y) * x for x, y in data) / len(data)
    gb = sum(2 * (w * x + b - y) for x, y in data) / len(data)
    w, b = w - lr * gw, b - lr * gb
    loss = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
    yanex.log_metrics({"epoch": epoch, "loss": loss})

yanex.log_metrics({"final_loss": loss, "w": w, "b": b})
yanex.save_artifact({"w": w, "b": b}, "model.json")
print(f"lr={lr} epochs={epochs}: loss={loss:.4f} w={w:.3f} b={b:.3f}")
