"""The bar an LLM reviewer has to clear: TF-IDF + logistic regression on the paper text.

Cross-fitted: every paper's P(accept) comes from a model (vectorizer included) fitted on the other
folds, so the figure is out-of-fold. Fixed hyper-parameters (nothing is tuned on the papers scored).
On leaky texts this classifier reads the version markers; on anonymized texts it reads words.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FOLDS = 5
MIN_DF, MAX_DF = 2, 0.95
C = 10.0


def count_matrix(texts: Sequence[str]):
    """Word counts of every text, with the full vocabulary (no label, no selection)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(ngram_range=(1, 1), stop_words="english", dtype=np.float32,
                                 token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b")
    return vectorizer.fit_transform(list(texts)), vectorizer.get_feature_names_out()


def _fit(counts, y: np.ndarray):
    """TF-IDF (document frequencies from these rows only) + logistic regression: what
    `TfidfVectorizer(min_df, max_df, sublinear_tf)` fitted on these texts would give."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    keep = np.flatnonzero((df >= MIN_DF) & (df <= MAX_DF * counts.shape[0]))
    if not len(keep):  # a tiny or uniform corpus: every word is in (nearly) every text
        keep = np.flatnonzero(df >= 1)
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts[:, keep])
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(tfidf.transform(counts[:, keep]), y)
    return keep, tfidf, model


def cross_fitted_scores(texts: Sequence[str], y: Sequence[int], *, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Out-of-fold P(accept) for each text (stratified folds). Counting words needs no label; the
    vocabulary cut, IDF weights and classifier of each fold see its training papers only."""
    y_arr = np.asarray(y, int)
    if len(np.unique(y_arr)) < 2 or np.bincount(y_arr).min() < folds:
        raise ValueError(f"the text baseline needs at least {folds} papers of each class")
    counts, _ = count_matrix(texts)
    return cross_fit_counts(counts.tocsr(), y_arr, folds=folds, seed=seed)


def cross_fit_counts(counts, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0,
                     groups: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold P(accept) from a word-count matrix. `groups`: rows that are copies of one paper
    (a bootstrap resample) stay in one fold, so no paper is scored by a model trained on itself."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    prob = np.zeros(len(y))
    if groups is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    else:
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups)
    for train, test in splits:
        keep, tfidf, model = _fit(counts[train], y[train])
        prob[test] = model.predict_proba(tfidf.transform(counts[test][:, keep]))[:, 1]
    return prob


def refit_replicates(texts: Sequence[str], y: Sequence[int], *, resamples: int, seed: int = 0,
                     folds: int = FOLDS) -> tuple[np.ndarray, np.ndarray]:
    """The whole cross-fitting procedure repeated inside each stratified bootstrap resample (folds
    grouped by paper, so a paper drawn twice is never in its own training fold): the row indices
    (resamples, n) and the out-of-fold P(accept) of each resample (resamples, n). Metrics computed
    row-wise on these give intervals that include the variability of fitting."""
    from reviewer.eval.bootstrap import resample_indices

    y_arr = np.asarray(y, int)
    counts = count_matrix(texts)[0].tocsr()
    idx = resample_indices(len(y_arr), resamples, seed, strata=y_arr)
    prob = np.vstack([cross_fit_counts(counts[rows], y_arr[rows], folds=folds, seed=seed + b, groups=rows)
                      for b, rows in enumerate(idx)])
    return idx, prob


def top_terms(texts: Sequence[str], y: Sequence[int], k: int = 12) -> dict[str, list[tuple[str, float]]]:
    """The terms with the largest weights for accept and for reject, from a fit on all texts
    (a description of what the classifier reads, not a score)."""
    counts, names = count_matrix(texts)
    keep, _, model = _fit(counts.tocsr(), np.asarray(y, int))
    names, coef = names[keep], model.coef_[0]
    order = np.argsort(coef)
    return {"accept": [(str(names[i]), round(float(coef[i]), 3)) for i in order[::-1][:k]],
            "reject": [(str(names[i]), round(float(coef[i]), 3)) for i in order[:k]]}
