"""Label-leak audit of a reviewer-evaluation dataset: do the paper texts give the decision away?

A dataset that mixes versions (anonymous submissions for rejected papers, camera-ready versions
for accepted ones) lets any reader, an LLM reviewer included, "predict" the decision from version
markers instead of judging the work. The audit measures, per marker, its rate among accepted and
rejected papers and its ROC AUC with a stratified bootstrap interval; then a marker-only
classifier's cross-validated AUC, the length-only AUC, optionally the TF-IDF text baseline, and a
verdict. The detectors here are written independently of `reviewer.anonymize`, so an audit of
anonymized texts tests the anonymizer instead of repeating it.

`--anonymized` audits the texts as the reviewer sees them after `reviewer.anonymize`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from reviewer.eval.dataset import DatasetError, ReviewerDataset, load_dataset, read_paper_text

# Verdict limits: a marker-only classifier or the length alone ranking accepted above rejected
# papers better than this (point estimate of the AUC, either direction) makes the dataset leaky.
MARKER_AUC_LIMIT = 0.55
LENGTH_AUC_LIMIT = 0.58
SINGLE_MARKER_LIMIT = 0.60
FRONT_CHARS = 4000  # where an author block or anonymity line can be
FOLDS = 5

# The detectors read lowercased text (one `lower()` per paper is far cheaper than case-insensitive
# matching of every pattern).
_I = 0
_M = re.MULTILINE
_ABSTRACT = re.compile(r"^[\W_]*abstract\b", _M)
_REFERENCES = re.compile(r"^[\W_]*(\d+\s*)?(references|bibliography)[\W_]*$", re.IGNORECASE | re.MULTILINE)
_EMAIL = re.compile(r"[\w.+-]{1,64}\s?@\s?[\w-]{1,63}(\.[\w-]{1,63}){1,6}|\}\s?@\s?[\w-]{1,63}\.[a-z]{2,}", _I)
_AFFILIATION = re.compile(r"\b(universit(y|é|at|ät|a)|institute|institut|college|school of|department|dept\.|"
                          r"laborator(y|ies)|lab\b|labs\b|research (center|centre)|inc\.|ltd|gmbh|corporation|"
                          r"google|deepmind|microsoft|meta ai|facebook|amazon|nvidia|ibm|alibaba|tencent|baidu|huawei)", _I)
_ANONYMITY = re.compile(r"anonymous\s+authors?|double[- ]blind\s+review|anonymous\s+(submission|affiliation)", _I)
_VENUE_FINAL = re.compile(r"(published|accepted|presented)\s+(as|at)\s+(a\s+)?(conference|workshop)?\s*(paper)?\s*(at|in)?\s*"
                          r"(iclr|neurips|icml|the\s+\w+\s+(international\s+)?conference)|proceedings of the", _I)
_VENUE_REVIEW = re.compile(r"under\s+review\s+(as|at)|preprint\.?\s+under\s+review", _I)
_ACK = re.compile(r"^[\W_]*([a-z]?\d*(\.\d+)*\.?\s*)?(acknowledge?ments?|funding)\b", _M)
_FUNDING = re.compile(r"\b(supported|funded|sponsored)\s+(in part |partially |partly )?by\b[^.]{0,100}?\b(grants?|foundation|"
                      r"fellowships?|awards?|program|programme|council|agency|ministry|nsf|nih|darpa|erc|epsrc|nserc|cifar)\b"
                      r"|\bgrant\s+(no\.?|number|#)\s*[a-z0-9-]{4,}|\bwe (would like to )?thank\b", _I)
_CODE_HOST = re.compile(r"(github\.com|gitlab\.com|bitbucket\.org|huggingface\.co)\s?/\s?([\w.-]+)", _I)
_PERSONAL = re.compile(r"[\w-]+\.github\.io|sites\.google\.com|/~[\w-]+|\bpeople\.[\w-]+\.(edu|ac\.\w+)", _I)
_ANON_LINK = re.compile(r"anonymous\.4open\.science|anonymous\s*github|/anonymous[\w-]*|anonymi[sz]ed\s+(code|repository|link)", _I)
_AUTHOR_NOTE = re.compile(r"equal contribution|contributed equally|work (was )?done (while|during|at)|corresponding author", _I)
_REVIEW_TALK = re.compile(r"upon acceptance|camera[- ]ready|\breviewers?\b|rebuttal", _I)
# Generic hosting projects whose links say nothing about the authors.
_GENERIC_HOSTS = {"pytorch", "tensorflow", "google", "google-research", "facebookresearch", "openai", "huggingface",
                  "deepmind", "microsoft", "nvidia", "apache", "scikit-learn", "numpy", "jax-ml", "keras-team"}


def _front(text: str) -> str:
    match = _ABSTRACT.search(text[:FRONT_CHARS * 2])
    return text[:match.start()] if match else text[:FRONT_CHARS]


def main_body(text: str) -> str:
    """The text before the first references heading in the second half (the whole text without one)."""
    for match in _REFERENCES.finditer(text):
        if match.start() > len(text) * 0.3:
            return text[:match.start()]
    return text


def _non_anonymous_link(text: str) -> bool:
    for match in _CODE_HOST.finditer(text):
        user = match.group(2).lower()
        if not user.startswith("anonymous") and user not in _GENERIC_HOSTS:
            return True
    return bool(_PERSONAL.search(text))


MARKERS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "anonymity_line": ("'Anonymous authors' / 'double-blind review' at the top",
                       lambda t: bool(_ANONYMITY.search(t[:FRONT_CHARS]))),
    "author_block": ("emails or affiliations before the abstract",
                     lambda t: bool(_EMAIL.search(_front(t)) or _AFFILIATION.search(_front(t)))),
    "venue_final": ("'Published as / accepted at / proceedings of' header or footer",
                    lambda t: bool(_VENUE_FINAL.search(main_body(t)))),
    "venue_review": ("'Under review as' header or footer", lambda t: bool(_VENUE_REVIEW.search(main_body(t)))),
    "acknowledgements": ("acknowledgements or funding section or statement",
                         lambda t: bool(_ACK.search(t) or _FUNDING.search(main_body(t)))),
    "non_anonymous_link": ("github.com/<user>, personal or project page", _non_anonymous_link),
    "anonymous_link": ("anonymized code link (anonymous.4open.science, ...)", lambda t: bool(_ANON_LINK.search(t))),
    "email": ("an email address anywhere", lambda t: bool(_EMAIL.search(t))),
    "author_note": ("'equal contribution' / 'work done while at' footnote", lambda t: bool(_AUTHOR_NOTE.search(t))),
    "review_talk": ("mentions of reviewers, rebuttal, camera-ready, 'upon acceptance'",
                    lambda t: bool(_REVIEW_TALK.search(main_body(t)))),
}


class MarkerStat(BaseModel):
    description: str
    rate_accepted: float
    rate_rejected: float
    auc: float
    auc_ci: tuple[float, float]


class AuditResult(BaseModel):
    dataset: str
    anonymized: bool
    n: int
    n_accepted: int
    markers: dict[str, MarkerStat]
    marker_auc: float
    marker_auc_ci: tuple[float, float]
    length_auc: float  # AUC of the main-body word count (accepted above rejected)
    length_auc_ci: tuple[float, float]
    length_separation: float  # max(AUC, 1 - AUC): leak in either direction
    length_words: dict[str, float]  # median main-body words per class
    text_baseline_auc: float | None = None
    text_baseline_auc_ci: tuple[float, float] | None = None
    text_top_terms: dict[str, list[tuple[str, float]]] | None = None
    verdict: str  # "leaky" | "clean"
    reasons: list[str] = Field(default_factory=list)
    limits: dict[str, float] = Field(default_factory=lambda: {
        "marker_auc": MARKER_AUC_LIMIT, "length_auc": LENGTH_AUC_LIMIT, "single_marker_auc": SINGLE_MARKER_LIMIT})
    resamples: int = 0

    @property
    def leaky(self) -> bool:
        return self.verdict == "leaky"

    def verdict_line(self) -> str:
        head = f"{self.dataset}{' (anonymized)' if self.anonymized else ''}: {self.verdict.upper()}"
        return head + (": " + "; ".join(self.reasons) if self.reasons else ": no version marker or length separates "
                       "accepted from rejected papers beyond the limits")


def detect(text: str) -> dict[str, bool]:
    """Which markers a paper text carries."""
    low = text.lower()
    return {name: bool(fn(low)) for name, (_, fn) in MARKERS.items()}


def marker_matrix(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    names = list(MARKERS)
    rows = [detect(t) for t in texts]
    return names, np.array([[row[name] for name in names] for row in rows], dtype=float)


def _auc_ci(y: np.ndarray, score: np.ndarray, resamples: int, seed: int) -> tuple[float, tuple[float, float]]:
    from reviewer.eval.metrics import evaluate

    metrics = evaluate(y, score=score, n_resamples=resamples, seed=seed)
    ci = metrics.ci.get("roc_auc", (math.nan, math.nan))
    return float(metrics.values["roc_auc"]), (round(float(ci[0]), 4), round(float(ci[1]), 4))


def marker_classifier_scores(features: np.ndarray, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Out-of-fold P(accept) of a logistic regression on the marker indicators (+ log body length
    is NOT included: length is measured on its own)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    prob = np.full(len(y), float(np.mean(y)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(features, y):
        if np.ptp(features[train], axis=0).sum() == 0:  # no marker varies: nothing to learn
            continue
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(features[train], y[train])
        prob[test] = model.predict_proba(features[test])[:, 1]
    return prob


def audit_texts(
    texts: Sequence[str], y: Sequence[int], *, dataset: str = "", anonymized: bool = False, n_resamples: int = 1000,
    seed: int = 0, text_baseline: bool = True,
) -> AuditResult:
    resamples = n_resamples
    y_arr = np.asarray(y, int)
    if len(np.unique(y_arr)) < 2 or np.bincount(y_arr).min() < FOLDS:
        raise DatasetError(f"the audit needs at least {FOLDS} accepted and {FOLDS} rejected papers")
    names, features = marker_matrix(texts)
    accepted = y_arr == 1
    markers, reasons = {}, []
    for j, name in enumerate(names):
        auc, ci = _auc_ci(y_arr, features[:, j], resamples, seed)
        markers[name] = MarkerStat(description=MARKERS[name][0], rate_accepted=round(float(features[accepted, j].mean()), 4),
                                   rate_rejected=round(float(features[~accepted, j].mean()), 4), auc=round(auc, 4), auc_ci=ci)
        if max(auc, 1 - auc) > SINGLE_MARKER_LIMIT:
            reasons.append(f"{name} in {markers[name].rate_accepted:.0%} of accepted vs {markers[name].rate_rejected:.0%} "
                           f"of rejected papers (AUC {auc:.2f})")
    marker_auc, marker_ci = _auc_ci(y_arr, marker_classifier_scores(features, y_arr, seed=seed), resamples, seed)
    if marker_auc > MARKER_AUC_LIMIT:
        reasons.insert(0, f"marker-only classifier AUC {marker_auc:.2f} [{marker_ci[0]:.2f}, {marker_ci[1]:.2f}] "
                          f"> {MARKER_AUC_LIMIT}")
    words = np.array([len(main_body(t).split()) for t in texts], dtype=float)
    length_auc, length_ci = _auc_ci(y_arr, words, resamples, seed)
    separation = max(length_auc, 1 - length_auc)
    if separation > LENGTH_AUC_LIMIT:
        reasons.insert(1 if marker_auc > MARKER_AUC_LIMIT else 0,
                       f"main-body length alone AUC {length_auc:.2f} [{length_ci[0]:.2f}, {length_ci[1]:.2f}] "
                       f"(limit {LENGTH_AUC_LIMIT} either way)")
    result = AuditResult(
        dataset=dataset, anonymized=anonymized, n=len(y_arr), n_accepted=int(accepted.sum()), markers=markers,
        marker_auc=round(marker_auc, 4), marker_auc_ci=marker_ci, length_auc=round(length_auc, 4),
        length_auc_ci=length_ci, length_separation=round(separation, 4),
        length_words={"accepted_median": float(np.median(words[accepted])),
                      "rejected_median": float(np.median(words[~accepted]))},
        verdict="leaky" if reasons else "clean", reasons=reasons, resamples=resamples)
    if text_baseline:
        from reviewer.eval.text_baseline import cross_fitted_scores, top_terms

        auc, ci = _auc_ci(y_arr, cross_fitted_scores(texts, y_arr, seed=seed), resamples, seed)
        result.text_baseline_auc, result.text_baseline_auc_ci = round(auc, 4), ci
        result.text_top_terms = top_terms(texts, y_arr)
    return result


def dataset_texts(dataset: ReviewerDataset, *, anonymize: bool = False) -> list[str]:
    if dataset.root is None:
        raise DatasetError("the dataset folder has no papers/ directory")
    texts = [read_paper_text(dataset.root / "papers", pid) for pid in dataset.ids]
    if anonymize:
        from reviewer.anonymize import anonymize_text

        texts = [anonymize_text(t).text for t in texts]
    return texts


def audit_dataset(root: str | Path, *, anonymized: bool = False, n_resamples: int = 1000, seed: int = 0,
                  text_baseline: bool = True) -> AuditResult:
    root = Path(root)
    dataset = load_dataset(root)
    texts = dataset_texts(dataset, anonymize=anonymized)
    y = dataset.frame()["accept"].to_numpy(int)
    return audit_texts(texts, y, dataset=root.name if root.is_dir() else root.parent.name, anonymized=anonymized,
                       n_resamples=n_resamples, seed=seed, text_baseline=text_baseline)
