"""Plots for the character-level language model template: reads every run_*/all_results.json in
the current directory and writes train_loss.png, val_loss.png and samples.txt here."""
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

    for split in ("train", "val"):
        fig, ax = plt.subplots(figsize=(6, 4))
        for d, run in runs.items():
            curves = [s["curves"] for s in run["seeds"].values()]
            n = min(len(c[f"{split}_loss"]) for c in curves)
            vals = np.array([c[f"{split}_loss"][:n] for c in curves])
            steps = curves[0]["step"][:n]
            ax.plot(steps, vals.mean(0), label=labels.get(d, d))
            ax.fill_between(steps, vals.mean(0) - vals.std(0), vals.mean(0) + vals.std(0), alpha=0.2)
        ax.set_xlabel("update step")
        ax.set_ylabel("cross-entropy (nats per character)")
        ax.set_title(f"{'Training' if split == 'train' else 'Validation'} loss")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(f"{split}_loss.png", dpi=150)
        plt.close(fig)

    # Generated text of seed 0 of every run, for a qualitative look (not a figure).
    with open("samples.txt", "w") as f:
        for d, run in runs.items():
            f.write(f"===== {labels.get(d, d)} ({d}), seed 0 =====\n{run['seeds']['0']['sample']}\n\n")


if __name__ == "__main__":
    main()
