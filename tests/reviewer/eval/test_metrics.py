"""Metrics against hand-computed values; bootstrap forms against scikit-learn / scipy."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from reviewer.eval.metrics import (
    _rowwise_auc, _rowwise_decision, _rowwise_probability, _rowwise_rating, decision_metrics, evaluate,
    expected_calibration_error, probability_metrics, rating_metrics, score_metrics,
    stratified_bootstrap_indices,
)


def test_decision_metrics_by_hand():
    # tp=1, fn=1, fp=1, tn=2
    m = decision_metrics([1, 1, 0, 0, 0], [1, 0, 1, 0, 0])
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["f1"] == pytest.approx(0.5)
    assert m["fpr"] == pytest.approx(1 / 3)
    assert m["fnr"] == pytest.approx(1 / 2)


def test_always_reject_has_zero_f1_and_full_fnr():
    m = decision_metrics([1, 0, 0, 0], [0, 0, 0, 0])
    assert m == {"balanced_accuracy": 0.5, "accuracy": 0.75, "f1": 0.0, "fpr": 0.0, "fnr": 1.0}


def test_auc_by_hand_with_ties():
    assert score_metrics([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])["roc_auc"] == pytest.approx(0.75)
    # ties count one half: pairs (1,1)=.5 (1,0)=1 twice -> (0.5+1+0.5+1)/4
    assert score_metrics([1, 0, 1, 0], [1, 1, 1, 0])["roc_auc"] == pytest.approx(0.75)


def test_auc_of_hard_predictions_is_balanced_accuracy():
    # why the published "AUC" (computed on 0/1 predictions) only restated balanced accuracy
    rng = np.random.default_rng(3)
    y, pred = rng.integers(0, 2, 80), rng.integers(0, 2, 80)
    assert roc_auc_score(y, pred) == pytest.approx(balanced_accuracy_score(y, pred))


def test_rating_metrics_by_hand():
    m = rating_metrics([5.0, 6.0, 7.0], [6.0, 8.0, 9.0])
    assert m["spearman"] == pytest.approx(1.0)
    assert m["mae"] == pytest.approx((1 + 2 + 2) / 3)
    assert m["pearson"] == pytest.approx(pearsonr([5, 6, 7], [6, 8, 9]).statistic)


def test_probability_metrics_by_hand():
    m = probability_metrics([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9])
    assert m["brier"] == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)
    # low bin: observed 0.5 vs predicted 0.1 (two papers); high bin: 1.0 vs 0.9 (two papers)
    assert m["ece"] == pytest.approx((2 * 0.4 + 2 * 0.1) / 4)


def test_perfectly_calibrated_bins_have_zero_ece():
    y = np.array([0, 0, 0, 1] * 5 + [1, 1, 1, 0] * 5)
    p = np.array([0.25] * 20 + [0.75] * 20)
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_rowwise_forms_match_library_functions():
    rng = np.random.default_rng(0)
    n = 120
    y = rng.integers(0, 2, n)
    score = np.round(rng.normal(size=n) + y, 1)  # rounding makes ties
    rating = score + rng.normal(size=n)
    prob = 1 / (1 + np.exp(-score))
    pred = (score > 0.4).astype(int)
    assert _rowwise_auc(y[None], score[None])[0] == pytest.approx(roc_auc_score(y, score))
    rows = _rowwise_rating(rating[None], score[None])
    assert rows["spearman"][0] == pytest.approx(spearmanr(score, rating).statistic)
    assert rows["pearson"][0] == pytest.approx(pearsonr(score, rating).statistic)
    dec = _rowwise_decision(y[None], pred[None])
    for name, value in decision_metrics(y, pred).items():
        assert dec[name][0] == pytest.approx(value), name
    prob_rows = _rowwise_probability(y[None], prob[None])
    for name, value in probability_metrics(y, prob).items():
        assert prob_rows[name][0] == pytest.approx(value), name


def test_bootstrap_is_stratified_and_deterministic():
    y = np.array([1] * 30 + [0] * 70)
    idx = stratified_bootstrap_indices(y, 200, seed=1)
    assert idx.shape == (200, 100)
    assert np.all(y[idx].sum(axis=1) == 30)  # every resample keeps 30 accepted papers
    assert np.array_equal(idx, stratified_bootstrap_indices(y, 200, seed=1))
    assert not np.array_equal(idx, stratified_bootstrap_indices(y, 200, seed=2))


def test_evaluate_cis_contain_estimates_and_shrink_with_n():
    rng = np.random.default_rng(7)

    def run(n):
        y = rng.integers(0, 2, n)
        score = rng.normal(size=n) + 0.8 * y
        rating = 5 + score + rng.normal(size=n)
        return evaluate(y, decision=score > 0.4, score=score, mean_rating=rating, n_resamples=500, seed=0)

    small, large = run(150), run(2000)
    for name in ("balanced_accuracy", "accuracy", "f1", "roc_auc", "spearman", "pearson", "mae"):
        lo, hi = small.ci[name]
        assert lo <= small.values[name] <= hi, name
    width = lambda m: m.ci["roc_auc"][1] - m.ci["roc_auc"][0]  # noqa: E731
    assert width(large) < width(small) / 2
    assert 0.65 < large.values["roc_auc"] < 0.80  # separation 0.8 sd: AUC = Phi(0.8/sqrt 2) = 0.71


def test_flat_dict_has_ci_per_metric():
    y = np.array([0, 1] * 20)
    flat = evaluate(y, score=np.arange(40) % 7, n_resamples=50).as_flat_dict()
    assert flat["n"] == 40 and set(flat["ci"]) == {"roc_auc"} and len(flat["ci"]["roc_auc"]) == 2
