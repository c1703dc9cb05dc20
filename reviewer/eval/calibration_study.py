"""Which review scores and reviewer configurations rank papers best, out of fold?

Each candidate is scored by nested cross-validation (`calibration.cross_validate`), so no number
here saw its own test papers. Rows without fitting (raw Overall, an unweighted mean) need no CV.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from reviewer.eval.calibration import cross_validate
from reviewer.eval.dataset import ReviewerDataset, ReviewTable, review_config_label


def run_study(dataset: ReviewerDataset, tables: Sequence[ReviewTable], *, folds: int = 5, repeats: int = 1,
              seed: int = 0, per_config_sets: Sequence[str] = ("overall", "scores", "summary"),
              stacked_sets: Sequence[str] = ("overall", "scores", "summary", "all")) -> str:
    ids = [i for i in dataset.ids if all(i in t.frame.index for t in tables)]
    frame = dataset.frame().loc[ids]
    y = frame["accept"].to_numpy(int)
    rows: list[tuple[str, str, float, float, str]] = []  # what, how, auc, sd, note

    def nested(group: Sequence[ReviewTable], feature_set: str) -> tuple[float, float, str]:
        cv = cross_validate(group, ids, y, feature_sets=(feature_set,), folds=folds, repeats=repeats, seed=seed,
                            n_resamples=0)
        return float(np.mean(cv.repeat_auc)), float(np.std(cv.repeat_auc)), f"bal. acc. {np.mean(cv.repeat_balanced_accuracy):.3f}"

    for table in tables:
        label = review_config_label(table.name)
        reviews = table.aligned(ids)
        decision_ba = balanced_accuracy_score(y, (reviews["Decision"] == "Accept").astype(int))
        rows.append((label, "raw Overall (no fitting)", roc_auc_score(y, reviews["Overall"]), 0.0,
                     f"Decision-field bal. acc. {decision_ba:.3f}"))
        for feature_set in per_config_sets:
            auc, sd, note = nested([table], feature_set)
            rows.append((label, f"calibrator: {feature_set}", auc, sd, note))
    if len(tables) > 1:
        overall = np.column_stack([t.aligned(ids)["Overall"].to_numpy(float) for t in tables])
        z = (overall - overall.mean(axis=0)) / overall.std(axis=0)
        rows.append((f"all {len(tables)} stacked", "unweighted mean of standardised Overall (no labels)",
                     roc_auc_score(y, z.mean(axis=1)), 0.0, "label-free, so no CV needed"))
        for feature_set in stacked_sets:
            auc, sd, note = nested(tables, feature_set)
            rows.append((f"all {len(tables)} stacked", f"calibrator: {feature_set}", auc, sd, note))
    lines = [
        f"## Comparison study: out-of-fold ROC AUC ({len(ids)} papers, {folds}-fold nested CV x {repeats})",
        "",
        "Calibrator rows: feature set, C and link chosen inside each outer training fold; AUC of the pooled "
        "out-of-fold P(accept) (mean +- sd over repeats). Feature sets: overall = Overall only; scores = "
        "Overall + 7 sub-scores; summary = per configuration Overall and the mean of its standardised "
        "scores; all = scores + Confidence.",
        "",
        "| reviewer configuration(s) | scorer | out-of-fold AUC | note |",
        "|---|---|---|---|",
    ]
    for what, how, auc, sd, note in rows:
        lines.append(f"| {what} | {how} | {auc:.3f}{f' ± {sd:.3f}' if sd else ''} | {note} |")
    return "\n".join(lines) + "\n"
