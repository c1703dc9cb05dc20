"""Logistic regression trained by full-batch gradient descent on two synthetic datasets.

A template in the AI Scientist's layout, written for this project: `python experiment.py
--out_dir run_i` is the whole interface, and results are nested per dataset in
<out_dir>/final_info.json. numpy only; a run takes about a second on one core.
"""
import argparse
import json
import os

import numpy as np

LEARNING_RATE = 0.1
NUM_STEPS = 50
SEEDS = (0, 1, 2)
N_TRAIN, N_VAL, DIM = 400, 400, 8


def make_dataset(name, rng):
    """'blobs': two shifted Gaussians; 'parity': labels from the sign of a product of two features."""
    n = N_TRAIN + N_VAL
    x = rng.normal(size=(n, DIM))
    if name == "blobs":
        y = (rng.random(n) < 0.5).astype(float)
        x[:, :2] += np.where(y[:, None] > 0, 1.0, -1.0)
    else:
        y = (x[:, 0] * x[:, 1] > 0).astype(float)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def loss_and_grad(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    eps = 1e-12
    loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
    return loss, x.T @ (p - y) / len(y)


def train(name, seed):
    rng = np.random.default_rng(seed)
    (xt, yt), (xv, yv) = make_dataset(name, rng)
    w = np.zeros(DIM)
    curve = []
    for _ in range(NUM_STEPS):
        loss, grad = loss_and_grad(w, xt, yt)
        w -= LEARNING_RATE * grad
        curve.append(float(loss))
    val_acc = float(np.mean(((xv @ w) > 0) == (yv > 0.5)))
    return {"final_train_loss": curve[-1], "val_acc": val_acc}, curve


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", type=str, default="run_0")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    final_info, all_results = {}, {}
    for dataset in ("blobs", "parity"):
        per_seed, curves = {"final_train_loss": [], "val_acc": []}, []
        for seed in SEEDS:
            metrics, curve = train(dataset, seed)
            for k, v in metrics.items():
                per_seed[k].append(v)
            curves.append(curve)
        final_info[dataset] = {
            "means": {f"{k}_mean": float(np.mean(v)) for k, v in per_seed.items()},
            "stderrs": {f"{k}_stderr": float(np.std(v, ddof=1) / np.sqrt(len(v))) for k, v in per_seed.items()},
            "final_info_dict": per_seed,
        }
        all_results[dataset] = {"train_loss_curves": curves}
        print(f"{dataset}: " + ", ".join(f"{k} {np.mean(v):.4f}" for k, v in per_seed.items()))
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
        json.dump(final_info, f, indent=2)
    with open(os.path.join(args.out_dir, "all_results.json"), "w") as f:
        json.dump(all_results, f)


if __name__ == "__main__":
    main()
