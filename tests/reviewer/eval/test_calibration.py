"""Calibrators: persistence, single-review use, honest (nested) cross-validation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

import reviewer.eval.calibration as calibration
from reviewer.eval.calibration import (
    COLUMN_SEP, CalibrationError, Candidate, _pipeline, _projection, balanced_accuracy_cutoff,
    cross_validate, feature_frame, fit_calibrator, fit_with_report, load_calibrator,
)
from reviewer.eval.dataset import SCORE_FIELDS, ReviewTable, load_dataset, read_reviews


def synthetic_tables(n=240, configs=("cfgA", "cfgB"), signal=1.0, seed=0):
    """Reviews whose scores carry `signal` about a latent quality that drives acceptance."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=n)
    y = (quality + rng.normal(scale=0.8, size=n) > 0.6).astype(int)
    ids = [f"p{i:03d}" for i in range(n)]
    tables = []
    for c in configs:
        frame = pd.DataFrame(index=pd.Index(ids, name="paper_id"))
        for field in SCORE_FIELDS:
            hi = 10 if field == "Overall" else (5 if field == "Confidence" else 4)
            raw = (hi + 1) / 2 + signal * quality * hi / 6 + rng.normal(scale=hi / 5, size=n)
            frame[field] = np.clip(np.round(raw), 1, hi)
        frame["Decision"] = np.where(frame["Overall"] >= 6, "Accept", "Reject")
        tables.append(ReviewTable(c, frame))
    return tables, ids, y


def test_cutoff_maximises_balanced_accuracy_between_scores():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    cut = balanced_accuracy_cutoff(y, p)
    assert cut == pytest.approx(0.6)  # halfway between 0.8 and the next score below, 0.4
    best = max(balanced_accuracy_score(y, p >= t) for t in p)
    assert balanced_accuracy_score(y, p >= cut) == pytest.approx(best)


def test_single_config_calibrator_round_trip_and_single_review(tmp_path):
    tables, ids, y = synthetic_tables(configs=("cfgA",))
    X = feature_frame(tables, ids, "scores")
    cal = fit_calibrator(X, y, Candidate("scores", 1.0, "logistic"))
    path = tmp_path / "cal.json"
    cal.save(path)
    assert json.loads(path.read_text())["format"] == "ai-scientist-bench/calibrator"
    loaded = load_calibrator(path)
    np.testing.assert_allclose(loaded.predict_proba(X.to_numpy(float)), cal.predict_proba(X.to_numpy(float)))
    # one review's scores, as ReviewRecord.scores gives them
    row = tables[0].frame.loc[ids[0]]
    scores = {f: float(row[f]) for f in SCORE_FIELDS}
    p = loaded.p_accept(scores)
    assert p == pytest.approx(cal.predict_proba(X.iloc[[0]].to_numpy(float))[0])
    assert loaded.decide(p) == (p >= loaded.threshold)
    assert set(loaded.trained_on) == set(ids)
    # it matches the sklearn pipeline it was extracted from
    pipe = _pipeline(1.0).fit(X.to_numpy(float), y)
    np.testing.assert_allclose(cal.predict_proba(X.to_numpy(float)), pipe.predict_proba(X.to_numpy(float))[:, 1])
    with pytest.raises(CalibrationError, match="Overall"):
        loaded.p_accept({k: v for k, v in scores.items() if k != "Overall"})


def test_higher_overall_never_lowers_p_accept():
    tables, ids, y = synthetic_tables(configs=("cfgA",))
    for link in ("logistic", "isotonic"):
        cal = fit_calibrator(feature_frame(tables, ids, "overall"), y, Candidate("overall", 1.0, link))
        p = [cal.p_accept({"Overall": v}) for v in range(1, 11)]
        assert all(b >= a for a, b in zip(p, p[1:])) and 0 <= p[0] and p[-1] <= 1, link


def test_isotonic_link_equals_sklearn_isotonic_prediction():
    tables, ids, y = synthetic_tables(configs=("cfgA",))
    X = feature_frame(tables, ids, "scores")
    cal = fit_calibrator(X, y, Candidate("scores", 1.0, "isotonic"))
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
    iso.X_thresholds_, iso.y_thresholds_ = np.array(cal.isotonic_x), np.array(cal.isotonic_y)
    iso.fit(cal.isotonic_x, cal.isotonic_y)  # knots of an isotonic fit refit to themselves: same map
    z = cal.linear_score(X.to_numpy(float))
    np.testing.assert_allclose(cal.predict_proba(X.to_numpy(float)), iso.predict(z), atol=1e-12)


def test_summary_feature_set_collapses_to_linear_weights():
    tables, ids, y = synthetic_tables()
    X = feature_frame(tables, ids, "summary")
    cal = fit_calibrator(X, y, Candidate("summary", 0.1, "logistic"))
    pipe = _pipeline(0.1, _projection(X, "summary")).fit(X.to_numpy(float), y)
    np.testing.assert_allclose(cal.predict_proba(X.to_numpy(float)), pipe.predict_proba(X.to_numpy(float))[:, 1])
    assert len(cal.coef) == X.shape[1] and cal.configs == ["cfgA", "cfgB"]


def test_stacked_calibrator_refuses_a_single_review():
    tables, ids, y = synthetic_tables()
    cal = fit_calibrator(feature_frame(tables, ids, "overall"), y, Candidate("overall", 1.0, "logistic"))
    with pytest.raises(CalibrationError, match="stacks 2 reviewer configurations"):
        cal.p_accept({"Overall": 6.0})
    p = cal.p_accept_tables(tables, ids[:5])
    assert p.shape == (5,)
    assert all(c.split(COLUMN_SEP)[0] in ("cfgA", "cfgB") for c in cal.columns)


def test_load_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"coef": [1]}')
    with pytest.raises(CalibrationError, match="not a calibrator"):
        load_calibrator(path)


def test_outer_test_fold_never_reaches_fitting(monkeypatch):
    tables, ids, y = synthetic_tables(n=150)
    seen_train: list[set[str]] = []
    real = calibration.select_and_fit

    def spy(features, y_train, **kwargs):
        index = next(iter(features.values())).index
        seen_train.append(set(index))
        assert len(index) == len(y_train)
        return real(features, y_train, **kwargs)

    monkeypatch.setattr(calibration, "select_and_fit", spy)
    cv = cross_validate(tables, ids, y, feature_sets=("overall",), c_grid=(1.0,), links=("logistic",),
                        folds=5, n_resamples=0)
    held_out = [set(ids) - train for train in seen_train]
    assert len(held_out) == 5 and all(held_out)
    assert sorted(i for fold in held_out for i in fold) == sorted(ids)  # each paper tested exactly once
    assert not np.isnan(cv.prob).any() and len(cv.chosen) == 5


def test_nested_cv_does_not_leak_on_noise():
    # 60 noise features, 160 papers: an in-sample fit separates the classes; nested CV must not.
    rng = np.random.default_rng(1)
    n, ids = 150, [f"n{i}" for i in range(150)]
    y = rng.integers(0, 2, n)
    tables = []
    for c in range(6):
        frame = pd.DataFrame(rng.integers(1, 5, size=(n, len(SCORE_FIELDS))).astype(float),
                             index=pd.Index(ids, name="paper_id"), columns=list(SCORE_FIELDS))
        frame["Decision"] = "Reject"
        tables.append(ReviewTable(f"noise{c}", frame))
    X = feature_frame(tables, ids, "all")
    in_sample = fit_calibrator(X, y, Candidate("all", 1.0, "logistic"))
    assert roc_auc_score(y, in_sample.predict_proba(X.to_numpy(float))) > 0.75
    cv = cross_validate(tables, ids, y, feature_sets=("all",), c_grid=(1.0,), links=("logistic",), folds=3,
                        n_resamples=0)
    assert abs(cv.repeat_auc[0] - 0.5) < 0.13


def test_signal_is_recovered_out_of_fold():
    tables, ids, y = synthetic_tables(n=200, signal=1.5)
    cal, cv = fit_with_report(tables, ids, y, feature_sets=("summary",), c_grid=(1.0,),
                              links=("logistic", "isotonic"), folds=3, n_resamples=200)
    assert cv.metrics.values["roc_auc"] > 0.75
    lo, hi = cv.metrics.ci["roc_auc"]
    assert lo <= cv.metrics.values["roc_auc"] <= hi
    assert cal.oof_metrics["roc_auc"] == pytest.approx(cv.metrics.values["roc_auc"], abs=1e-6)
    assert {row["link"] for row in cal.selection} == {"logistic", "isotonic"}


def test_real_reviews_out_of_fold(shared_data):
    root = shared_data / "iclr2022"
    dataset = load_dataset(root)
    table = read_reviews(root / "llm_reviews" / "gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all.csv")
    frame = dataset.frame()
    cv = cross_validate([table], dataset.ids, frame["accept"].to_numpy(int), feature_sets=("overall",),
                        c_grid=(1.0,), links=("logistic",), n_resamples=0)
    # a monotone map of Overall cannot rank much better than Overall itself (0.71 on these papers)
    assert 0.62 < cv.repeat_auc[0] <= roc_auc_score(frame["accept"], table.aligned(dataset.ids)["Overall"]) + 0.01


def test_too_few_accepted_papers_is_a_clear_error():
    tables, ids, _ = synthetic_tables(n=40, configs=("cfgA",))
    y = np.zeros(40, int)
    y[0] = 1
    with pytest.raises(CalibrationError, match="two accepted"):
        fit_calibrator(feature_frame(tables, ids, "overall"), y, Candidate("overall", 1.0, "logistic"))
