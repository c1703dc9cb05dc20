"""The one bootstrap of the suite: resampling indices (stratified by label when asked) and
percentile intervals. Reviewer metrics, the leaderboard and the Goodhart report all use it, so
their intervals mean the same thing."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = 0,
                     strata: Sequence | np.ndarray | None = None) -> np.ndarray:
    """(resamples, n) row indices drawn with replacement; with `strata`, every resample keeps
    each stratum's size (the number of accepted and rejected papers, say)."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.integers(0, n, size=(resamples, n))
    labels = np.asarray(strata)
    if len(labels) != n:
        raise ValueError(f"strata has {len(labels)} labels for {n} values")
    columns = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        columns.append(members[rng.integers(0, len(members), size=(resamples, len(members)))])
    return np.concatenate(columns, axis=1)


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of the finite bootstrap replicates (NaN, NaN when there are none)."""
    samples = np.asarray(samples, dtype=float)
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(finite, [alpha, 1 - alpha])
    return float(lo), float(hi)


def mean_ci(values: Sequence[float], *, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = 0,
            strata: Sequence | None = None) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None below two values."""
    arr = np.asarray(values, dtype=float)
    if arr.size < 2:
        return None
    means = arr[resample_indices(arr.size, resamples, seed, strata)].mean(axis=1)
    return percentile_interval(means, level)


def diff_of_means_ci(before: Sequence[float], after: Sequence[float], *, level: float = LEVEL,
                     resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float] | None:
    """Interval of mean(after) - mean(before) from independent resamples of each; None when
    either side has fewer than two values."""
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if a.size < 2 or b.size < 2:
        return None
    diffs = (a[resample_indices(a.size, resamples, seed)].mean(axis=1)
             - b[resample_indices(b.size, resamples, seed + 1)].mean(axis=1))
    return percentile_interval(diffs, level)
