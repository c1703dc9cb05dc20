"""Plots for the grokking template: reads every run_*/all_results.json in the current directory
and writes accuracy.png, loss.png and step_val_acc_99.png here."""
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


def mean_curve(run: dict, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seeds = list(run["seeds"].values())
    steps = np.array(seeds[0]["curves"]["step"])
    n = min(len(s["curves"][key]) for s in seeds)
    vals = np.array([s["curves"][key][:n] for s in seeds])
    return steps[:n], vals.mean(0), vals.std(0)


def main() -> None:
    runs = load_runs()
    if not runs:
        raise SystemExit("no run_*/all_results.json in the current directory")

    for metric, fname, ylabel in (("acc", "accuracy.png", "accuracy"), ("loss", "loss.png", "cross-entropy loss")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for ax, split in zip(axes, ("train", "val")):
            for d, run in runs.items():
                steps, mean, std = mean_curve(run, f"{split}_{metric}")
                ax.plot(steps, mean, label=labels.get(d, d))
                ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
            ax.set_title(f"{'Training' if split == 'train' else 'Validation'} {ylabel}")
            ax.set_xlabel("update step")
            if metric == "loss":
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(ylabel)
        axes[1].legend()
        fig.tight_layout()
        fig.savefig(fname, dpi=150)
        plt.close(fig)

    # Steps until validation accuracy first reaches 99%, mean and stderr over seeds.
    names, means, errs = [], [], []
    for d in runs:
        path = os.path.join(d, "final_info.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            info = json.load(f)["step_val_acc_99"]
        names.append(labels.get(d, d))
        means.append(info["means"])
        errs.append(info["stderrs"])
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(names) + 2), 4))
    ax.bar(names, means, yerr=errs, capsize=4)
    ax.set_ylabel("steps to 99% validation accuracy")
    ax.set_title("Speed of grokking (lower is faster)")
    fig.tight_layout()
    fig.savefig("step_val_acc_99.png", dpi=150)
    plt.close(fig)


if __name__ == "__main__":
    main()
