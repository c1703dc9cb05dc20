"""Plots for the 2D diffusion template: reads every run_*/all_results.json in the current
directory and writes train_loss.png, generated_samples.png and kl_divergence.png here."""
import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Legend label of each run folder; edit freely. Runs not listed appear under their folder name.
labels = {
    "run_0": "Baseline",
}


def load_runs() -> dict:
    dirs = [d for d in glob.glob("run_*") if os.path.isfile(os.path.join(d, "all_results.json"))]
    dirs.sort(key=lambda d: int(m.group()) if (m := re.search(r"\d+$", d)) else 10**9)
    runs = {}
    for d in dirs:
        with open(os.path.join(d, "all_results.json")) as f:
            runs[d] = json.load(f)
    return runs


def main() -> None:
    runs = load_runs()
    if not runs:
        raise SystemExit("no run_*/all_results.json in the current directory")
    datasets = list(next(iter(runs.values()))["config"]["datasets"])

    # Training loss per dataset, mean over seeds.
    fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.5), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        for d, run in runs.items():
            seeds = [s[ds]["curves"] for s in run["seeds"].values() if ds in s]
            if not seeds:
                continue
            n = min(len(c["train_loss"]) for c in seeds)
            loss = np.mean([c["train_loss"][:n] for c in seeds], axis=0)
            ax.plot(seeds[0]["step"][:n], loss, label=labels.get(d, d))
        ax.set_title(ds)
        ax.set_xlabel("update step")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("denoising MSE (training)")
    axes[0][-1].legend()
    fig.tight_layout()
    fig.savefig("train_loss.png", dpi=150)
    plt.close(fig)

    # Generated samples of seed 0: one row per run, one column per dataset.
    fig, axes = plt.subplots(len(runs), len(datasets), figsize=(3 * len(datasets), 3 * len(runs)), squeeze=False)
    for row, (d, run) in zip(axes, runs.items()):
        seed0 = run["seeds"]["0"]
        for ax, ds in zip(row, datasets):
            if ds in seed0 and "samples" in seed0[ds]:
                pts = np.array(seed0[ds]["samples"])
                ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.5)
            ax.set_xlim(-2.5, 2.5)
            ax.set_ylim(-2.5, 2.5)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{labels.get(d, d)}: {ds}", fontsize=9)
    fig.tight_layout()
    fig.savefig("generated_samples.png", dpi=150)
    plt.close(fig)

    # KL divergence between real and generated points, per dataset and run.
    fig, ax = plt.subplots(figsize=(1.8 * len(datasets) + 2, 4))
    width = 0.8 / len(runs)
    x = np.arange(len(datasets))
    for i, d in enumerate(runs):
        path = os.path.join(d, "final_info.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            info = json.load(f)
        means = [info.get(f"{ds}_kl_divergence", {}).get("means", np.nan) for ds in datasets]
        errs = [info.get(f"{ds}_kl_divergence", {}).get("stderrs", 0.0) for ds in datasets]
        ax.bar(x + i * width, means, width, yerr=errs, capsize=3, label=labels.get(d, d))
    ax.set_xticks(x + width * (len(runs) - 1) / 2, datasets)
    ax.set_ylabel("KL(real || generated), kNN estimate")
    ax.legend()
    fig.tight_layout()
    fig.savefig("kl_divergence.png", dpi=150)
    plt.close(fig)


if __name__ == "__main__":
    main()
