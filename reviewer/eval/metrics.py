"""Reviewer metrics with stratified bootstrap confidence intervals.

Point estimates come from scikit-learn / scipy. The bootstrap needs each metric on ~1000
resamples at once, so it uses row-wise numpy forms of the same formulas (rank-sum AUC, ranked
Pearson for Spearman, confusion counts); the tests check them against the library functions.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from reviewer.eval.bootstrap import percentile_interval, resample_indices
from scipy.stats import pearsonr, rankdata, spearmanr
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score, balanced_accuracy_score, brier_score_loss, confusion_matrix, f1_score,
    mean_absolute_error, roc_auc_score,
)

DECISION_METRICS = ("balanced_accuracy", "accuracy", "f1", "fpr", "fnr")
SCORE_METRICS = ("roc_auc",)
RATING_METRICS = ("spearman", "pearson", "mae")
PROBABILITY_METRICS = ("brier", "ece")
ECE_BINS = 10


# ---------------------------------------------------------------- point estimates (library code)
def decision_metrics(y_true, y_pred) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0.0)),
        "fpr": float(fp / (fp + tn)) if fp + tn else math.nan,
        "fnr": float(fn / (fn + tp)) if fn + tp else math.nan,
    }


def score_metrics(y_true, score) -> dict[str, float]:
    """Ranking quality of a continuous score (AUC on 0/1 predictions would be balanced accuracy)."""
    return {"roc_auc": float(roc_auc_score(y_true, score))}


def rating_metrics(mean_rating, score) -> dict[str, float]:
    """Agreement with the mean human rating; MAE compares raw values (both on 1-10 scales)."""
    mean_rating, score = np.asarray(mean_rating, float), np.asarray(score, float)
    constant = np.ptp(score) == 0 or np.ptp(mean_rating) == 0
    return {
        "spearman": math.nan if constant else float(spearmanr(score, mean_rating).statistic),
        "pearson": math.nan if constant else float(pearsonr(score, mean_rating).statistic),
        "mae": float(mean_absolute_error(mean_rating, score)),
    }


def expected_calibration_error(y_true, prob, n_bins: int = ECE_BINS) -> float:
    """Bin-weighted |observed frequency - mean predicted probability|, uniform bins."""
    y_true, prob = np.asarray(y_true, int), np.asarray(prob, float)
    frac_pos, mean_pred = calibration_curve(y_true, prob, n_bins=n_bins, strategy="uniform")
    counts = np.bincount(_uniform_bins(prob, n_bins), minlength=n_bins)
    counts = counts[counts > 0]  # calibration_curve drops empty bins, in bin order
    return float(np.sum(counts * np.abs(frac_pos - mean_pred)) / len(prob))


def probability_metrics(y_true, prob) -> dict[str, float]:
    return {
        "brier": float(brier_score_loss(y_true, prob)),
        "ece": expected_calibration_error(y_true, prob),
    }


def _uniform_bins(prob: np.ndarray, n_bins: int) -> np.ndarray:
    # Same binning as sklearn.calibration.calibration_curve(strategy="uniform").
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], prob)


# ---------------------------------------------------------------- row-wise forms for the bootstrap
def _rowwise_decision(y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    tp = np.sum((y == 1) & (pred == 1), axis=1).astype(float)
    tn = np.sum((y == 0) & (pred == 0), axis=1).astype(float)
    fp = np.sum((y == 0) & (pred == 1), axis=1).astype(float)
    fn = np.sum((y == 1) & (pred == 0), axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr, tnr = tp / (tp + fn), tn / (tn + fp)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        return {
            "balanced_accuracy": (tpr + tnr) / 2,
            "accuracy": (tp + tn) / y.shape[1],
            "f1": f1,
            "fpr": 1 - tnr,
            "fnr": 1 - tpr,
        }


def _rowwise_auc(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    ranks = rankdata(score, axis=1)  # average ranks for ties, as the Mann-Whitney U statistic
    n_pos = y.sum(axis=1).astype(float)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sum(ranks * y, axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))


def _rowwise_rating(rating: np.ndarray, score: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "spearman": _rowwise_pearson(rankdata(score, axis=1), rankdata(rating, axis=1)),
        "pearson": _rowwise_pearson(score, rating),
        "mae": np.mean(np.abs(score - rating), axis=1),
    }


def _rowwise_probability(y: np.ndarray, prob: np.ndarray, n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    bins = _uniform_bins(prob, n_bins)
    rows = np.repeat(np.arange(prob.shape[0])[:, None], prob.shape[1], axis=1)
    flat = (rows * n_bins + bins).ravel()
    size = prob.shape[0] * n_bins
    sum_p = np.bincount(flat, weights=prob.ravel(), minlength=size).reshape(-1, n_bins)
    sum_y = np.bincount(flat, weights=y.ravel().astype(float), minlength=size).reshape(-1, n_bins)
    # sum over bins of n_b * |mean_y_b - mean_p_b| = |sum_y_b - sum_p_b|
    ece = np.sum(np.abs(sum_y - sum_p), axis=1) / prob.shape[1]
    return {"brier": np.mean((prob - y) ** 2, axis=1), "ece": ece}


# ---------------------------------------------------------------- bootstrap
def stratified_bootstrap_indices(y: np.ndarray, n_resamples: int, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) indices; each resample keeps the number of accepted and rejected papers."""
    y = np.asarray(y)
    return resample_indices(len(y), n_resamples, seed, strata=y)


@dataclass
class MetricSet:
    """Point estimates and percentile-bootstrap 95% intervals for one scored configuration."""

    n: int
    values: dict[str, float] = field(default_factory=dict)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    # metric -> why it has no interval (a constant predictor: every resample gives the same value,
    # so [0.50, 0.50] would read as certainty about a predictor that reads nothing)
    undefined_ci: dict[str, str] = field(default_factory=dict)

    def as_flat_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"n": self.n}
        out.update({k: _clean(v) for k, v in self.values.items()})
        out["ci"] = {k: None if k in self.undefined_ci else [_clean(lo), _clean(hi)] for k, (lo, hi) in self.ci.items()}
        if self.undefined_ci:
            out["ci_undefined"] = dict(self.undefined_ci)
        return out

    def get(self, name: str) -> float:
        return self.values.get(name, math.nan)


def _clean(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def evaluate(
    y_true,
    *,
    decision=None,
    score=None,
    mean_rating=None,
    rating_score=None,
    prob=None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    prefix: str = "",
) -> MetricSet:
    """All metrics that the given inputs allow, each with a stratified bootstrap interval.

    decision: 0/1 predictions; score: continuous ranking score (AUC); rating_score and
    mean_rating: agreement with human ratings (rating_score defaults to score); prob: P(accept).
    """
    y = np.asarray(y_true, int)
    # (point form, row-wise form, arrays, whether the predictor is constant)
    pieces: list[tuple[Callable[..., Mapping[str, float]], Callable[..., Mapping[str, np.ndarray]], tuple, bool]] = []
    if decision is not None:
        d = np.asarray(decision, int)
        pieces.append((decision_metrics, _rowwise_decision, (y, d), _constant(d)))
    if score is not None:
        s = np.asarray(score, float)
        pieces.append((score_metrics, lambda a, b: {"roc_auc": _rowwise_auc(a, b)}, (y, s), _constant(s)))
    if mean_rating is not None:
        rs = np.asarray(score if rating_score is None else rating_score, float)
        # a constant score has no correlation (NaN already); its MAE still varies with the ratings
        pieces.append((rating_metrics, _rowwise_rating, (np.asarray(mean_rating, float), rs), False))
    if prob is not None:
        p = np.asarray(prob, float)
        pieces.append((probability_metrics, _rowwise_probability, (y, p), _constant(p)))

    result = MetricSet(n=len(y))
    idx = stratified_bootstrap_indices(y, n_resamples, seed) if n_resamples > 0 else None
    for point_fn, rowwise_fn, arrays, constant in pieces:
        for name, value in point_fn(*arrays).items():
            result.values[prefix + name] = value
        if idx is None:
            continue
        with np.errstate(invalid="ignore"):
            for name, samples in rowwise_fn(*(a[idx] for a in arrays)).items():
                if constant:
                    result.ci[prefix + name] = (math.nan, math.nan)
                    result.undefined_ci[prefix + name] = CONSTANT_PREDICTOR
                else:
                    result.ci[prefix + name] = percentile_interval(samples, confidence)
    return result


CONSTANT_PREDICTOR = "undefined: constant predictor (every resample gives the same value)"


def _constant(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return len(finite) == 0 or bool(np.ptp(finite) == 0)


def replicate_intervals(
    y_rows: np.ndarray, *, decision_rows: np.ndarray | None = None, score_rows: np.ndarray | None = None,
    rating_rows: np.ndarray | None = None, confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals from replicates computed elsewhere, one resample per row (a procedure
    refit inside each resample gives its own predictions per row): the same row-wise formulas as
    `evaluate`, so the intervals mean the same thing."""
    y_rows = np.asarray(y_rows, int)
    samples: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        if decision_rows is not None:
            samples.update(_rowwise_decision(y_rows, np.asarray(decision_rows, int)))
        if score_rows is not None:
            samples["roc_auc"] = _rowwise_auc(y_rows, np.asarray(score_rows, float))
            if rating_rows is not None:
                samples.update(_rowwise_rating(np.asarray(rating_rows, float), np.asarray(score_rows, float)))
    return {name: percentile_interval(values, confidence) for name, values in samples.items()}
