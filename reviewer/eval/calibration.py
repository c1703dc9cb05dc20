"""Calibrators: reviewer scores -> P(accept), and a decision cut-off.

A calibrator is a linear score over review fields (one or several reviewer configurations
stacked as columns; L2-regularised logistic regression) followed by a link: the logistic
sigmoid, or an isotonic map fitted on cross-fitted scores. The link, the feature set and the
regularisation are chosen by inner cross-validation (Brier score); the cut-off maximises
balanced accuracy on cross-fitted training probabilities. `cross_validate` wraps all of that in
an outer loop, so every figure it reports comes from papers the calibrator never saw.

The fitted calibrator is plain JSON: coefficients, scaler, isotonic knots, cut-off, the ids it
was trained on (evaluation excludes them) and its out-of-fold metrics.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from reviewer.eval.dataset import SCORE_FIELDS, SUB_SCORES, ReviewTable
from reviewer.eval.metrics import MetricSet, evaluate

FORMAT = "ai-scientist-bench/calibrator"
COLUMN_SEP = "::"
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "overall": ("Overall",),
    "scores": ("Overall", *SUB_SCORES),  # Overall and the 1-4 sub-scores
    "all": SCORE_FIELDS,  # ... and Confidence
    # per configuration: Overall, and the mean of its standardised scores (2 features, not 8)
    "summary": ("Overall", *SUB_SCORES),
}
PROJECTED_SETS = {"summary"}
DEFAULT_FEATURE_SETS = ("overall", "scores", "summary")
DEFAULT_C_GRID = (0.001, 0.01, 0.1, 1.0)
LINKS = ("logistic", "isotonic")
INNER_FOLDS = 5


class CalibrationError(ValueError):
    """The calibrator cannot be fitted or applied as asked; the message says why."""


@dataclass(frozen=True)
class Candidate:
    feature_set: str
    C: float
    link: str


# ---------------------------------------------------------------- features
def feature_frame(tables: Sequence[ReviewTable], ids: Sequence[str], feature_set: str) -> pd.DataFrame:
    """Columns `<config>::<field>` for every table and field of the set, rows in `ids` order."""
    fields = FEATURE_SETS[feature_set]
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise CalibrationError(f"two review tables share a name: {names}")
    parts = []
    for table in tables:
        frame = table.aligned(ids)[list(fields)].astype(float)
        frame.columns = [f"{table.name}{COLUMN_SEP}{f}" for f in fields]
        parts.append(frame)
    frame = pd.concat(parts, axis=1)
    return frame.loc[:, frame.notna().any()]  # a field a configuration never filled carries nothing


def summary_projection(columns: Sequence[str]) -> np.ndarray:
    """(n_columns, 2 * n_configs): each configuration's Overall, and the mean of all its columns."""
    configs = list(dict.fromkeys(c.split(COLUMN_SEP, 1)[0] for c in columns))
    P = np.zeros((len(columns), 2 * len(configs)))
    for j, config in enumerate(configs):
        members = [i for i, c in enumerate(columns) if c.split(COLUMN_SEP, 1)[0] == config]
        for i in members:
            P[i, 2 * j + 1] = 1.0 / len(members)
            if columns[i].endswith(COLUMN_SEP + "Overall"):
                P[i, 2 * j] = 1.0
    return P[:, P.any(axis=0)]


def _projection(X: pd.DataFrame, feature_set: str) -> np.ndarray | None:
    return summary_projection(list(X.columns)) if feature_set in PROJECTED_SETS else None


def _pipeline(C: float, projection: np.ndarray | None = None):
    steps = [SimpleImputer(), StandardScaler()]
    if projection is not None:  # a fixed linear map, so the whole model stays linear in the raw scores
        steps += [FunctionTransformer(np.dot, kw_args={"b": projection}), StandardScaler()]
    return make_pipeline(*steps, LogisticRegression(C=C, solver="newton-cholesky", max_iter=200))


def balanced_accuracy_cutoff(y: np.ndarray, prob: np.ndarray) -> float:
    """The cut-off maximising balanced accuracy (tpr - fpr), placed halfway to the next score
    below it so that it does not sit on a training value."""
    fpr, tpr, thresholds = roc_curve(y, prob)
    best = int(np.argmax(tpr - fpr))
    top = float(thresholds[best])
    if not np.isfinite(top):
        return float(np.max(prob)) + 1e-9
    below = prob[prob < top]
    return (top + float(below.max())) / 2 if len(below) else top


# ---------------------------------------------------------------- fitted calibrator
@dataclass
class Calibrator:
    configs: list[str]
    columns: list[str]
    feature_set: str
    link: str
    C: float
    impute: list[float]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float
    isotonic_x: list[float] = field(default_factory=list)
    isotonic_y: list[float] = field(default_factory=list)
    trained_on: list[str] = field(default_factory=list)
    prevalence: float = math.nan
    oof_metrics: dict = field(default_factory=dict)
    selection: list[dict] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    # the reviewer configuration(s) it was fit on, as ReviewerConfig.label(); None: read from `configs`
    reviewer: list[str] | None = None

    # --- applying
    def linear_score(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=float, ndmin=2)
        X = np.where(np.isnan(X), np.asarray(self.impute), X)
        return ((X - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        z = self.linear_score(X)
        if self.link == "isotonic":
            return np.interp(z, self.isotonic_x, self.isotonic_y)  # = IsotonicRegression(out_of_bounds="clip")
        return expit(z)

    def p_accept(self, scores: Mapping[str, float]) -> float:
        """P(accept) from one review's scores (ReviewRecord.scores); single-configuration only."""
        if len(self.configs) != 1:
            raise CalibrationError(
                f"this calibrator stacks {len(self.configs)} reviewer configurations ({', '.join(self.configs)}); "
                "it needs one review from each, so it cannot score a single review. Fit one with a single --reviews file."
            )
        fields = [c.split(COLUMN_SEP, 1)[1] for c in self.columns]
        missing = [f for f in fields if f not in scores or scores[f] is None]
        if missing:
            raise CalibrationError(f"the review lacks the field(s) {missing} that this calibrator uses")
        return float(self.predict_proba(np.array([[float(scores[f]) for f in fields]]))[0])

    def p_accept_tables(self, tables: Sequence[ReviewTable], ids: Sequence[str]) -> np.ndarray:
        """P(accept) for each paper of `ids`, from review tables named as at fitting time."""
        by_name = {t.name: t for t in tables}
        if len(self.configs) == 1 and len(tables) == 1 and tables[0].name not in self.configs:
            by_name = {self.configs[0]: ReviewTable(self.configs[0], tables[0].frame)}  # same fields, other file name
        missing = [c for c in self.configs if c not in by_name]
        if missing:
            raise CalibrationError(f"the calibrator needs reviews of configuration(s) {missing}")
        X = np.column_stack([
            by_name[c.split(COLUMN_SEP, 1)[0]].aligned(ids)[c.split(COLUMN_SEP, 1)[1]].to_numpy(float)
            for c in self.columns
        ])
        return self.predict_proba(X)

    def decide(self, p: float | np.ndarray) -> bool | np.ndarray:
        accepted = np.asarray(p) >= self.threshold
        return bool(accepted) if accepted.ndim == 0 else accepted

    # --- persistence
    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": 1, **asdict(self)}, indent=2, default=_json_default)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")

    def describe(self) -> str:
        weights = ", ".join(f"{c.split(COLUMN_SEP)[-1] if len(self.configs) == 1 else c}={w:+.2f}"
                            for c, w in zip(self.columns, self.coef))
        return (f"{self.link} link on a logistic score over {len(self.columns)} feature(s) "
                f"[{self.feature_set}, C={self.C:g}]: {weights}; accept if P(accept) >= {self.threshold:.3f}")


def reviewer_key(label: str) -> str:
    """A reviewer configuration label without the published files' `_pages_all` suffix and a
    model's date stamp (gpt-4o-2024-05-13 is gpt-4o)."""
    label = re.sub(r"_pages_all$", "", label.strip())
    model, sep, rest = label.partition("_temp_")
    model = re.sub(r"-\d{4}-\d{2}-\d{2}$|-\d{8}$", "", model)
    return model + sep + rest


def reviewer_label(config) -> str:
    """The name of a reviewer configuration a calibrator is fit on and checked against:
    ReviewerConfig.label(), plus a digest of a non-default system prompt (another reader)."""
    import hashlib

    label = config.label()
    if getattr(config, "system_prompt", None):
        label += "_prompt_" + hashlib.sha256(config.system_prompt.encode("utf-8")).hexdigest()[:8]
    return label


def check_reviewer(calibrator: "Calibrator", reviewer_label: str, *, force: bool = False) -> bool:
    """Whether applying `calibrator` to reviews by `reviewer_label` (`reviewer_label(config)`) is a
    transfer to a reviewer it was not fit on. Refused (CalibrationError, one line) unless forced."""
    fitted = calibrator.reviewer or list(calibrator.configs)
    if reviewer_key(reviewer_label) in {reviewer_key(f) for f in fitted}:
        return False
    if force:
        return True
    raise CalibrationError(f"calibrator fit on reviewer {', '.join(fitted)} cannot score reviews by "
                           f"{reviewer_label}: fit one on this reviewer's reviews, or force the transfer "
                           "(it is then marked as a transfer)")


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def load_calibrator(path: str | Path) -> Calibrator:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CalibrationError(f"{path}: cannot read calibrator ({err})") from None
    if data.pop("format", None) != FORMAT:
        raise CalibrationError(f"{path}: not a calibrator file (format must be {FORMAT!r})")
    data.pop("version", None)
    return Calibrator(**data)


# ---------------------------------------------------------------- fitting
def fit_calibrator(X: pd.DataFrame, y: np.ndarray, candidate: Candidate, *, seed: int = 0,
                   oof_score: np.ndarray | None = None) -> Calibrator:
    """Fit one candidate on (X, y). `oof_score`: cross-fitted linear scores if already computed."""
    y = np.asarray(y, int)
    projection = _projection(X, candidate.feature_set)
    if oof_score is None:
        oof_score = _oof_linear_score(X, y, candidate.C, seed, projection)
    pipe = _pipeline(candidate.C, projection).fit(X.to_numpy(float), y)
    imputer, scaler, logistic = pipe[0], pipe[1], pipe[-1]
    coef, intercept = logistic.coef_[0], float(logistic.intercept_[0])
    if projection is not None:  # fold projection and second scaler into weights on the first-scaled columns
        second = pipe[3]
        coef, intercept = projection @ (coef / second.scale_), intercept - float((second.mean_ / second.scale_) @ coef)
    cal = Calibrator(
        configs=list(dict.fromkeys(c.split(COLUMN_SEP, 1)[0] for c in X.columns)),
        columns=list(X.columns), feature_set=candidate.feature_set, link=candidate.link, C=candidate.C,
        impute=imputer.statistics_.tolist(), mean=scaler.mean_.tolist(), scale=scaler.scale_.tolist(),
        coef=np.asarray(coef).tolist(), intercept=intercept, threshold=0.5,
        trained_on=[str(i) for i in X.index], prevalence=float(y.mean()),
    )
    if candidate.link == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(oof_score, y)
        cal.isotonic_x, cal.isotonic_y = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
        train_prob = iso.predict(oof_score)
    else:
        train_prob = expit(oof_score)
    cal.threshold = balanced_accuracy_cutoff(y, train_prob)
    return cal


def _inner_folds(y: np.ndarray, seed: int) -> StratifiedKFold:
    smallest_class = int(np.bincount(y, minlength=2).min())
    if smallest_class < 2:
        raise CalibrationError("calibration needs at least two accepted and two rejected papers")
    return StratifiedKFold(min(INNER_FOLDS, smallest_class), shuffle=True, random_state=seed)


def _oof_linear_score(X: pd.DataFrame, y: np.ndarray, C: float, seed: int,
                      projection: np.ndarray | None = None) -> np.ndarray:
    return cross_val_predict(_pipeline(C, projection), X.to_numpy(float), y, cv=_inner_folds(y, seed),
                             method="decision_function")


def _oof_isotonic(score: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    return cross_val_predict(iso, score, y, cv=_inner_folds(y, seed + 1))


def select_and_fit(
    features: Mapping[str, pd.DataFrame], y: np.ndarray, *, c_grid: Sequence[float] = DEFAULT_C_GRID,
    links: Sequence[str] = LINKS, seed: int = 0,
) -> Calibrator:
    """Choose feature set, C and link by inner-CV Brier score on (features, y) only; fit the best."""
    y = np.asarray(y, int)
    rows, best = [], None
    for feature_set, X in features.items():
        for C in c_grid:
            score = _oof_linear_score(X, y, C, seed, _projection(X, feature_set))
            for link in links:
                prob = expit(score) if link == "logistic" else _oof_isotonic(score, y, seed)
                brier = float(brier_score_loss(y, prob))
                rows.append({"feature_set": feature_set, "C": C, "link": link, "inner_brier": round(brier, 5),
                             "inner_auc": round(float(roc_auc_score(y, prob)), 4)})
                if best is None or brier < best[0]:
                    best = (brier, Candidate(feature_set, C, link), score)
    assert best is not None, "no candidate"
    _, candidate, score = best
    cal = fit_calibrator(features[candidate.feature_set], y, candidate, seed=seed, oof_score=score)
    cal.selection = rows
    return cal


@dataclass
class CrossValidation:
    """Out-of-fold predictions of the whole fitting procedure (selection included)."""

    ids: list[str]
    y: np.ndarray
    prob: np.ndarray  # first repeat
    decision: np.ndarray  # first repeat, each fold's own training cut-off
    chosen: list[str]  # the candidate picked in each outer fold (all repeats)
    repeat_auc: list[float]
    repeat_balanced_accuracy: list[float]
    metrics: MetricSet | None = None

    def summary(self) -> dict:
        out = self.metrics.as_flat_dict() if self.metrics else {}
        out["repeats"] = len(self.repeat_auc)
        out["roc_auc_mean_over_repeats"] = round(float(np.mean(self.repeat_auc)), 4)
        out["roc_auc_sd_over_repeats"] = round(float(np.std(self.repeat_auc)), 4)
        out["balanced_accuracy_mean_over_repeats"] = round(float(np.mean(self.repeat_balanced_accuracy)), 4)
        out["chosen"] = {c: self.chosen.count(c) for c in sorted(set(self.chosen))}
        return out


def cross_validate(
    tables: Sequence[ReviewTable], ids: Sequence[str], y, *, mean_rating=None,
    feature_sets: Sequence[str] = DEFAULT_FEATURE_SETS, c_grid: Sequence[float] = DEFAULT_C_GRID,
    links: Sequence[str] = LINKS, folds: int = 5, repeats: int = 1, seed: int = 0, n_resamples: int = 1000,
) -> CrossValidation:
    """Nested cross-validation: the outer folds score, the inner folds (inside select_and_fit) choose.

    Each paper is one row (its reviews from every configuration are columns), so papers never
    straddle a split.
    """
    y = np.asarray(y, int)
    ids = list(ids)
    features = {fs: feature_frame(tables, ids, fs) for fs in feature_sets}
    first_prob = np.full(len(y), np.nan)
    first_dec = np.zeros(len(y), int)
    chosen, aucs, bas = [], [], []
    for rep in range(repeats):
        prob, dec = np.full(len(y), np.nan), np.zeros(len(y), int)
        outer = StratifiedKFold(folds, shuffle=True, random_state=seed + 1000 * rep)
        for train, test in outer.split(np.zeros(len(y)), y):
            cal = select_and_fit({k: v.iloc[train] for k, v in features.items()}, y[train],
                                 c_grid=c_grid, links=links, seed=seed + rep)
            X_test = features[cal.feature_set].iloc[test]
            prob[test] = cal.predict_proba(X_test.to_numpy(float))
            dec[test] = cal.decide(prob[test]).astype(int)
            chosen.append(f"{cal.feature_set}/{cal.link}/C={cal.C:g}")
        aucs.append(float(roc_auc_score(y, prob)))
        bas.append(float(((dec[y == 1] == 1).mean() + (dec[y == 0] == 0).mean()) / 2))
        if rep == 0:
            first_prob, first_dec = prob, dec
    result = CrossValidation(ids, y, first_prob, first_dec, chosen, aucs, bas)
    if n_resamples > 0:
        metrics = evaluate(y, decision=first_dec, score=first_prob, prob=first_prob,
                           mean_rating=mean_rating, n_resamples=n_resamples, seed=seed)
        metrics.values.pop("mae", None)  # a probability is not on the rating scale
        metrics.ci.pop("mae", None)
        result.metrics = metrics
    return result


def fit_with_report(
    tables: Sequence[ReviewTable], ids: Sequence[str], y, *, mean_rating=None,
    feature_sets: Sequence[str] = DEFAULT_FEATURE_SETS, c_grid: Sequence[float] = DEFAULT_C_GRID,
    links: Sequence[str] = LINKS, folds: int = 5, repeats: int = 1, seed: int = 0, n_resamples: int = 1000,
) -> tuple[Calibrator, CrossValidation]:
    """The calibrator fitted on all papers, carrying the nested-CV metrics of its procedure."""
    cv = cross_validate(tables, ids, y, mean_rating=mean_rating, feature_sets=feature_sets, c_grid=c_grid,
                        links=links, folds=folds, repeats=repeats, seed=seed, n_resamples=n_resamples)
    features = {fs: feature_frame(tables, ids, fs) for fs in feature_sets}
    cal = select_and_fit(features, np.asarray(y, int), c_grid=c_grid, links=links, seed=seed)
    cal.oof_metrics = cv.summary()
    return cal, cv
