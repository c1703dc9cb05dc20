"""Plots of every run_*/ folder here: validation accuracy per dataset, and training curves."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

labels = {"run_0": "Baseline"}  # run folder -> legend label; runs not listed use their folder name

runs = sorted(d for d in os.listdir(".") if d.startswith("run_") and os.path.isfile(os.path.join(d, "final_info.json")))
if not runs:
    raise SystemExit("no run_*/final_info.json here: nothing to plot")
infos = {r: json.load(open(os.path.join(r, "final_info.json"))) for r in runs}
datasets = sorted(infos[runs[0]])

fig, ax = plt.subplots(figsize=(6, 3.5))
width = 0.8 / len(runs)
for i, run in enumerate(runs):
    values = [infos[run][d]["means"]["val_acc_mean"] for d in datasets]
    ax.bar([j + i * width for j in range(len(datasets))], values, width, label=labels.get(run, run))
ax.set_xticks([j + 0.4 - width / 2 for j in range(len(datasets))], datasets)
ax.set_ylabel("validation accuracy")
ax.legend()
fig.tight_layout()
fig.savefig("val_acc.png", dpi=120)

fig, ax = plt.subplots(figsize=(6, 3.5))
for run in runs:
    path = os.path.join(run, "all_results.json")
    if os.path.isfile(path):
        curves = json.load(open(path))["blobs"]["train_loss_curves"]
        ax.plot(curves[0], label=labels.get(run, run))
ax.set_xlabel("step")
ax.set_ylabel("training loss (blobs, seed 0)")
ax.legend()
fig.tight_layout()
fig.savefig("train_loss.png", dpi=120)
