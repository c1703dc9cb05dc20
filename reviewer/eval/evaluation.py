"""Reviewer evaluation: recorded or live reviews scored against human ratings and decisions.

Every figure is either a property of the reviewer alone (its Decision field, its Overall score)
or comes from a calibrator applied to papers it was not trained on; papers in a calibrator's
training set are excluded, never scored in-sample.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reviewer.eval.calibration import Calibrator
from reviewer.eval.dataset import (
    ACCEPT_THRESHOLD_HUMAN, CSV_COLUMNS, SCORE_FIELDS, DatasetError, ReviewerDataset, ReviewTable, review_config_label,
)
from reviewer.eval.metrics import MetricSet, evaluate

log = logging.getLogger(__name__)

# The published AI Scientist reviewer (GPT-4o, 1-shot, 5 reflections, 5-ensemble), recomputed from
# its own files on the 500-paper ICLR 2022 population (see ../shared/data/README.md).
PUBLISHED = {
    "name": "published: GPT-4o 1-shot, 5 refl., ens. 5 (500 papers)",
    "balanced_accuracy": 0.60,
    "balanced_accuracy_overall_ge_6_in_sample": 0.65,
    "roc_auc": 0.69,
    "spearman": 0.38,
}


@dataclass
class ScoredRow:
    """One row of the results table, with what the figures need."""

    name: str
    label: str
    kind: str  # "reviewer" | "stacked" | "text-baseline" | "human" | "random" | "always-reject"
    metrics: MetricSet
    calibrated: MetricSet | None = None
    y: np.ndarray | None = None
    score: np.ndarray | None = None  # continuous score (Overall)
    rating: np.ndarray | None = None  # mean human rating
    prob: np.ndarray | None = None  # calibrated P(accept), held-out papers only
    prob_y: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    leaky: bool = False  # scored on texts the audit calls leaky
    # Rows with figures fitted on the scored papers themselves (cross-fitted text baseline or
    # calibrator): whether the bootstrap refits inside each resample (True) or holds the
    # out-of-fold predictions fixed (False), and in words which figures that concerns.
    # None: nothing in the row was fitted on these papers.
    ci_refit: bool | None = None
    ci_method: str | None = None
    ci_refit_scope: str = "row"  # "row": every figure of the row; "calibrated": its calibrated columns only

    def flat(self) -> dict:
        out = self.metrics.as_flat_dict()
        if self.calibrated is not None:
            cal = self.calibrated.as_flat_dict()
            ci = out["ci"]
            for key, value in cal.items():
                if key == "ci":
                    ci.update(value)
                elif key == "ci_undefined":
                    out.setdefault("ci_undefined", {}).update(value)
                elif key == "n":
                    out["n_calibrated"] = value
                else:
                    out[key] = value
        out["name"], out["label"], out["kind"] = self.name, self.label, self.kind
        _add_provenance(out, self)
        if self.leaky:
            out["leaky_texts"] = True
        if self.notes:
            out["notes"] = self.notes
        return out


def _add_provenance(out: dict, row: ScoredRow, *, calibrated_entry: bool = False) -> None:
    """`ci_refit` / `ci_method` for the figures they concern: under `calibrated_` names when only a
    row's calibrated columns were fitted on these papers (its own columns were not)."""
    prefix = "calibrated_" if row.ci_refit_scope == "calibrated" and not calibrated_entry else ""
    if row.ci_refit is not None:
        out[prefix + "ci_refit"] = row.ci_refit
    if row.ci_method:
        out[prefix + "ci_method"] = row.ci_method


# What the intervals of rows fitted on the scored papers mean when the fit is not repeated.
NO_REFIT = ("bootstrap of the papers with the out-of-fold predictions held fixed: the {what} is NOT refit "
            "inside each resample, so the interval leaves out the variability of fitting (a refit would "
            "widen it)")


@dataclass
class EvalResult:
    dataset: str
    n_papers: int
    n_accepted: int
    rows: list[ScoredRow]
    n_resamples: int
    calibrator: dict | None = None
    audit: dict | None = None  # reviewer.eval.audit.AuditResult of the dataset's texts, when it has them

    @property
    def reviewers(self) -> list[ScoredRow]:
        return [r for r in self.rows if r.kind == "reviewer"]

    def primary_row(self) -> ScoredRow | None:
        """The row whose figures the flat --json keys give: with a calibrator, the calibrated row
        (the stacked row for a stacked calibrator); otherwise the first reviewer configuration."""
        if self.calibrator is not None:
            stacked = [r for r in self.rows if r.kind == "stacked" and r.name == STACKED_CALIBRATOR_ROW]
            if stacked:
                return stacked[0]
            calibrated = [r for r in self.reviewers if r.calibrated is not None]
            if calibrated:
                return calibrated[0]
        return self.reviewers[0] if self.reviewers else None

    def to_json_dict(self) -> dict:
        """Flat keys for `primary_row()`, and `primary_row` names the entry of `rows` they are copied
        from: with a calibrator that is the calibrated entry `<row> (calibrated)`, listed under `rows`
        beside the row's own (uncalibrated) figures; every row under `rows`."""
        rows = {row.name: row.flat() for row in self.rows}
        primary_row = self.primary_row()
        primary, primary_name = (primary_row.flat(), primary_row.name) if primary_row else ({}, None)
        if self.calibrator is not None and primary_row is not None and primary_row.calibrated is not None:
            primary = calibrated_flat(primary_row)
            primary_name = primary["name"]
            rows[primary_name] = primary
        return {
            **primary,
            "primary_row": primary_name,
            "dataset": self.dataset, "n_papers": self.n_papers, "n_accepted": self.n_accepted,
            "bootstrap_resamples": self.n_resamples, "ci_level": 0.95,
            "ci_method": "stratified percentile bootstrap of the papers (accepted and rejected counts kept); "
                         "rows with ci_refit false hold their fitted predictions fixed inside the resamples",
            "calibrator": self.calibrator,
            "published": PUBLISHED,
            "audit": self.audit,
            "rows": rows,
        }

    def write_json(self, path: str | Path) -> None:
        from reviewer.atomic_file import write_text_atomic

        write_text_atomic(Path(path), json.dumps(self.to_json_dict(), indent=2))


STACKED_CALIBRATOR_ROW = "stacked_calibrator"


CALIBRATED_SUFFIX = " (calibrated)"


def calibrated_flat(row: ScoredRow) -> dict:
    """A row's calibrated metrics under the plain names (roc_auc, balanced_accuracy, ...), as an
    entry of its own: `<row> (calibrated)`, kind `calibrated`, `of_row` the row it calibrates."""
    cal = row.calibrated.as_flat_dict()
    out: dict = {"n": cal["n"], "ci": {}}
    for key, value in cal.items():
        if key in ("n", "ci", "ci_undefined"):
            continue
        out[key.removeprefix("calibrated_")] = value
    for key, value in cal["ci"].items():
        out["ci"][key.removeprefix("calibrated_")] = value
    if cal.get("ci_undefined"):
        out["ci_undefined"] = {k.removeprefix("calibrated_"): v for k, v in cal["ci_undefined"].items()}
    out["n_calibrated"] = cal["n"]
    out["name"], out["label"], out["kind"] = row.name + CALIBRATED_SUFFIX, row.label + CALIBRATED_SUFFIX, "calibrated"
    out["of_row"] = row.name
    _add_provenance(out, row, calibrated_entry=True)
    if row.notes:
        out["notes"] = row.notes
    return out


def _copy_unprefixed(metrics: MetricSet, names: Sequence[str] = ("brier", "ece")) -> None:
    """Brier and ECE also under their plain names (they exist only for probabilities)."""
    for name in names:
        metrics.values[name] = metrics.values[f"calibrated_{name}"]
        metrics.ci[name] = metrics.ci.get(f"calibrated_{name}", (math.nan, math.nan))
        if f"calibrated_{name}" in metrics.undefined_ci:
            metrics.undefined_ci[name] = metrics.undefined_ci[f"calibrated_{name}"]


# ---------------------------------------------------------------- rows
def score_review_table(
    dataset: ReviewerDataset, table: ReviewTable, *, calibrator: Calibrator | None = None,
    calibrator_tables: Sequence[ReviewTable] | None = None, n_resamples: int = 1000, seed: int = 0,
) -> ScoredRow:
    """Decision-field and Overall-score metrics for one configuration (+ calibrated ones)."""
    ids = [i for i in dataset.ids if i in table.frame.index]
    notes = []
    if len(ids) < len(dataset):
        notes.append(f"{len(dataset) - len(ids)} rated paper(s) have no review in {table.name}; scored on {len(ids)}")
        log.warning(notes[-1])
    frame = dataset.frame().loc[ids]
    reviews = table.aligned(ids)
    y = frame["accept"].to_numpy(int)
    overall = reviews["Overall"].to_numpy(float)
    decision = (reviews["Decision"] == "Accept").to_numpy(int)
    metrics = evaluate(y, decision=decision, score=overall, mean_rating=frame["mean_rating"].to_numpy(float),
                       n_resamples=n_resamples, seed=seed)
    row = ScoredRow(table.name, review_config_label(table.name), "reviewer", metrics, y=y, score=overall,
                    rating=frame["mean_rating"].to_numpy(float), notes=notes)
    if calibrator is not None:
        row.calibrated, row.prob, row.prob_y, cal_notes = _calibrated_metrics(
            dataset, ids, calibrator, calibrator_tables or [table], n_resamples, seed)
        row.notes += cal_notes
        if row.calibrated is not None:
            row.ci_method, row.ci_refit_scope = HELD_OUT, "calibrated"
    return row


HELD_OUT = ("calibrated figures: the calibrator (fit on other papers) is held fixed; the interval is a bootstrap "
            "of the held-out papers it never saw")


def _calibrated_metrics(dataset, ids, calibrator, tables, n_resamples, seed):
    trained = set(calibrator.trained_on)
    held_out = [i for i in ids if i not in trained and all(i in t.frame.index for t in tables)]
    notes = []
    if len(held_out) < len(ids):
        notes.append(f"{len(ids) - len(held_out)} paper(s) were in the calibrator's training set (or lack a "
                     f"review it needs) and are excluded from calibrated metrics")
    y = dataset.frame().loc[held_out, "accept"].to_numpy(int) if held_out else np.array([], int)
    if len(held_out) < 10 or len(np.unique(y)) < 2:
        notes.append("too few held-out papers for calibrated metrics: use `bench reviewer calibrate`, "
                     "whose out-of-fold metrics come from nested cross-validation")
        return None, None, None, notes
    prob = calibrator.p_accept_tables(tables, held_out)
    mean_rating = dataset.frame().loc[held_out, "mean_rating"].to_numpy(float)
    metrics = evaluate(y, decision=calibrator.decide(prob).astype(int), score=prob, prob=prob,
                       mean_rating=mean_rating, n_resamples=n_resamples, seed=seed, prefix="calibrated_")
    for key in ("calibrated_mae",):
        metrics.values.pop(key, None)
        metrics.ci.pop(key, None)
    _copy_unprefixed(metrics)
    return metrics, prob, y, notes


def stacked_calibrator_row(
    dataset: ReviewerDataset, tables: Sequence[ReviewTable], calibrator: Calibrator, *, n_resamples: int = 1000,
    seed: int = 0,
) -> ScoredRow:
    """"stacked: N configurations": a stacked calibrator's P(accept) on the papers it never saw."""
    n = len(calibrator.configs)
    ids = [i for i in dataset.ids if all(i in t.frame.index for t in tables)]
    calibrated, prob, prob_y, notes = _calibrated_metrics(dataset, ids, calibrator, tables, n_resamples, seed)
    label = f"stacked: {n} configurations"
    notes = [f"calibrator over {', '.join(review_config_label(c) for c in calibrator.configs)}", *notes]
    if calibrated is None:
        return ScoredRow(STACKED_CALIBRATOR_ROW, label, "stacked", MetricSet(n=0), notes=notes)
    rating = dataset.frame().loc[[i for i in ids if i not in set(calibrator.trained_on)], "mean_rating"]
    metrics = evaluate(prob_y, decision=calibrator.decide(prob).astype(int), score=prob,
                       mean_rating=rating.to_numpy(float), n_resamples=n_resamples, seed=seed)
    metrics.values.pop("mae", None)  # a probability is not on the rating scale
    metrics.ci.pop("mae", None)
    return ScoredRow(STACKED_CALIBRATOR_ROW, label, "stacked", metrics, calibrated, y=prob_y, score=prob,
                     rating=rating.to_numpy(float), prob=prob, prob_y=prob_y,
                     notes=notes + ["decision = the calibrator's cut-off; AUC and Spearman of its P(accept)"],
                     ci_method=HELD_OUT)


def text_baseline_row(
    dataset: ReviewerDataset, texts: Sequence[str], *, anonymized: bool = True, n_resamples: int = 1000, seed: int = 0,
    refit_resamples: int = 0,
) -> ScoredRow:
    """TF-IDF + logistic regression on the paper texts, cross-fitted: the bar a reviewer must clear.

    `refit_resamples` > 0: the intervals come from that many resamples, each cross-fitted afresh
    (the fit's own variability included); 0: the out-of-fold predictions are held fixed, and the
    row says so."""
    from reviewer.eval.metrics import replicate_intervals
    from reviewer.eval.text_baseline import FOLDS, cross_fitted_scores, refit_replicates

    frame = dataset.frame()
    y = frame["accept"].to_numpy(int)
    prob = cross_fitted_scores(texts, y, seed=seed)
    rating = frame["mean_rating"].to_numpy(float)
    metrics = evaluate(y, decision=(prob >= 0.5).astype(int), score=prob, mean_rating=rating,
                       n_resamples=0 if refit_resamples else n_resamples, seed=seed)
    if refit_resamples:
        idx, probs = refit_replicates(texts, y, resamples=refit_resamples, seed=seed)
        metrics.ci = replicate_intervals(y[idx], decision_rows=(probs >= 0.5).astype(int), score_rows=probs,
                                         rating_rows=rating[idx])
        method = (f"bootstrap with refitting: each of {refit_resamples} stratified resamples is cross-fitted "
                  f"afresh ({FOLDS} folds grouped by paper), vocabulary, IDF and classifier included")
    else:
        method = NO_REFIT.format(what="text classifier")
    metrics.values.pop("mae", None)
    metrics.ci.pop("mae", None)
    which = "anonymized" if anonymized else "raw (not anonymized)"
    return ScoredRow("text-baseline" if anonymized else "text-baseline-raw",
                     f"text baseline: TF-IDF + LR on {which} text", "text-baseline", metrics, y=y, score=prob,
                     rating=rating, notes=[f"out-of-fold P(accept), {FOLDS}-fold cross-fitting (vectorizer included); "
                                           "decision = P >= 0.5 (class-balanced fit)", f"intervals: {method}"],
                     ci_refit=bool(refit_resamples), ci_method=method)


LEAK_NOTE = ("reviews of paper texts the audit calls leaky ({reasons}): part of these figures can come "
             "from recognising camera-ready versions instead of judging the papers")


def add_leak_notes(result: EvalResult, audit) -> None:  # noqa: ANN001 (AuditResult)
    """Mark reviewer rows (and rows built on them) when the texts their reviews came from leak the label."""
    if not audit.leaky:
        return
    reasons = (f"marker-only AUC {audit.marker_auc:.2f}, length-only AUC {audit.length_auc:.2f}; "
               "see `bench data audit`")
    for row in result.rows:
        if row.kind in ("reviewer", "stacked"):
            row.notes.insert(0, LEAK_NOTE.format(reasons=reasons))
            row.leaky = True


def add_text_rows(
    result: EvalResult, dataset: ReviewerDataset, papers_dir: Path, *, text_baseline: bool = True, audit: bool = True,
    recorded: bool = True, n_resamples: int = 1000, seed: int = 0, refit_resamples: int = 0, cache: bool = True,
) -> None:
    """Rows and notes that need the paper texts: the text-baseline rows (anonymized and raw), and
    the leak audit of the raw texts, whose verdict marks rows of reviews made from those texts
    (`recorded`: recorded reviews, or live ones with anonymization off). Nothing happens when a
    rated paper has no text. Both are kept in the text-rows cache under the dataset's content hash
    (`reviewer.eval.text_rows_cache`): a rerun on the same papers and labels reads them back."""
    from reviewer.eval.text_rows_cache import TextRowsCache, paper_files, text_rows_key

    papers_dir = Path(papers_dir)
    try:
        files = paper_files(papers_dir, dataset.ids)
    except DatasetError as err:
        log.warning("no text-baseline row or leak audit: %s", err)
        return
    store = TextRowsCache() if cache else None
    key = text_rows_key(dataset, files, text_baseline=text_baseline, audit=audit, n_resamples=n_resamples,
                        seed=seed, refit_resamples=refit_resamples, dataset_name=result.dataset)
    hit = store.get(key) if store is not None else None
    if hit is not None:
        audit_dict, rows = hit
    else:
        audit_dict, rows = _text_rows(dataset, papers_dir, text_baseline=text_baseline, audit=audit,
                                      n_resamples=n_resamples, seed=seed, refit_resamples=refit_resamples,
                                      dataset_name=result.dataset)
        if store is not None:
            store.put(key, audit_dict, rows)
    if audit_dict is not None:
        from reviewer.eval.audit import AuditResult

        result.audit = audit_dict
        if recorded:
            add_leak_notes(result, AuditResult.model_construct(**audit_dict))  # read back: trusted, may hold nulls
    if rows:
        position = next((i for i, r in enumerate(result.rows) if r.kind == "human"), len(result.rows))
        result.rows[position:position] = rows


def _text_rows(
    dataset: ReviewerDataset, papers_dir: Path, *, text_baseline: bool, audit: bool, n_resamples: int, seed: int,
    refit_resamples: int, dataset_name: str,
) -> tuple[dict | None, list[ScoredRow]]:
    """The leak audit of the raw texts (as a dict) and the two text-baseline rows, computed."""
    from reviewer.eval.dataset import read_paper_text

    texts = [read_paper_text(papers_dir, pid) for pid in dataset.ids]
    y = dataset.frame()["accept"].to_numpy(int)
    audit_dict, rows = None, []
    if audit:
        from reviewer.eval.audit import audit_texts

        raw = audit_texts(texts, y, dataset=dataset_name, n_resamples=n_resamples, seed=seed, text_baseline=False)
        from reviewer.eval.text_rows_cache import json_safe

        audit_dict = json_safe(raw.model_dump(mode="json", exclude={"text_top_terms"}))  # NaN (no interval): null
    if text_baseline and len(np.unique(y)) == 2 and np.bincount(y).min() >= 5:
        from reviewer.anonymize import anonymize_text

        anonymized = [anonymize_text(t).text for t in texts]
        rows = [text_baseline_row(dataset, anonymized, anonymized=True, n_resamples=n_resamples, seed=seed,
                                  refit_resamples=refit_resamples),
                text_baseline_row(dataset, texts, anonymized=False, n_resamples=n_resamples, seed=seed,
                                  refit_resamples=refit_resamples)]
    return audit_dict, rows


def human_baseline(dataset: ReviewerDataset, *, n_resamples: int = 1000, seed: int = 0) -> ScoredRow:
    """One randomly drawn reviewer per paper against the mean of the others.

    AUC of that reviewer's rating for the decision; decision = rating >= 6 (the ICLR scale's
    "marginally above the acceptance threshold"); correlation and MAE to the others' mean.
    """
    rng = np.random.default_rng(seed)
    papers = [p for p in dataset.papers if len(p.ratings) >= 2]
    one, others, y = [], [], []
    for paper in papers:
        k = int(rng.integers(len(paper.ratings)))
        one.append(paper.ratings[k])
        others.append(float(np.mean([r for i, r in enumerate(paper.ratings) if i != k])))
        y.append(int(paper.accept))
    one_a, y_a = np.asarray(one), np.asarray(y)
    metrics = evaluate(y_a, decision=(one_a >= ACCEPT_THRESHOLD_HUMAN).astype(int), score=one_a,
                       mean_rating=np.asarray(others), n_resamples=n_resamples, seed=seed)
    return ScoredRow("human", "human reviewer (one vs. mean of the others)", "human", metrics,
                     y=y_a, score=one_a, rating=np.asarray(others),
                     notes=[f"{len(papers)} papers with >= 2 ratings; decision = rating >= 6"])


def random_baseline(dataset: ReviewerDataset, *, n_resamples: int = 1000, seed: int = 0) -> ScoredRow:
    """Uniform random score; accept with the base rate's probability."""
    frame = dataset.frame()
    y = frame["accept"].to_numpy(int)
    rng = np.random.default_rng(seed + 1)
    score = rng.uniform(size=len(y))
    metrics = evaluate(y, decision=(score < y.mean()).astype(int), score=score, n_resamples=n_resamples, seed=seed)
    return ScoredRow("random", "random (accept at the base rate)", "random", metrics, y=y, score=score)


def always_reject_baseline(dataset: ReviewerDataset, *, n_resamples: int = 1000, seed: int = 0) -> ScoredRow:
    y = dataset.frame()["accept"].to_numpy(int)
    metrics = evaluate(y, decision=np.zeros_like(y), score=np.zeros(len(y)), n_resamples=n_resamples, seed=seed)
    return ScoredRow("always-reject", "always reject", "always-reject", metrics, y=y)


def evaluate_tables(
    dataset: ReviewerDataset, tables: Sequence[ReviewTable], *, calibrator: Calibrator | None = None,
    n_resamples: int = 1000, seed: int = 0, baselines: bool = True, dataset_name: str = "",
) -> EvalResult:
    """Score each table; a stacked calibrator is applied once, using all the tables it needs."""
    rows = []
    stacked = calibrator is not None and len(calibrator.configs) > 1
    for table in tables:
        rows.append(score_review_table(dataset, table, calibrator=None if stacked else calibrator,
                                       n_resamples=n_resamples, seed=seed))
    if stacked:  # its own row: the calibrated metrics belong to all N configurations, not the first
        rows.append(stacked_calibrator_row(dataset, tables, calibrator, n_resamples=n_resamples, seed=seed))
    if baselines:
        with_two = [p for p in dataset.papers if len(p.ratings) >= 2]
        if len({p.accept for p in with_two}) == 2:  # one reviewer against the others needs two, of both classes
            rows.append(human_baseline(dataset, n_resamples=n_resamples, seed=seed))
        else:
            log.warning("no human-reviewer row: fewer than two ratings per paper (or one class only)")
        rows += [random_baseline(dataset, n_resamples=n_resamples, seed=seed),
                 always_reject_baseline(dataset, n_resamples=n_resamples, seed=seed)]
    frame = dataset.frame()
    cal_info = None
    if calibrator is not None:
        cal_info = {"configs": calibrator.configs, "link": calibrator.link, "feature_set": calibrator.feature_set,
                    "threshold": calibrator.threshold, "n_trained_on": len(calibrator.trained_on),
                    "stacked": stacked}
    return EvalResult(dataset_name, len(frame), int(frame["accept"].sum()), rows, n_resamples, cal_info)


# ---------------------------------------------------------------- live reviewing
def review_record_row(record) -> dict:
    """A ReviewRecord as one row of the llm_reviews CSV format (ensemble: mean scores, first texts)."""
    first = record.reviews[0].model_dump(by_alias=True) if record.reviews else {}
    row = {c: "" for c in CSV_COLUMNS}
    for name in ("Summary", "Questions", "Limitations", "Strengths", "Weaknesses", "Ethical Concerns"):
        value = first.get(name, "")
        row[name] = "\n".join(value) if isinstance(value, list) else value
    for name in SCORE_FIELDS:
        row[name] = record.scores.get(name, math.nan)
    row["paper_id"], row["Decision"] = record.paper_id, record.decision
    return row


async def areview_dataset(
    dataset: ReviewerDataset, papers_dir: Path, config, out_dir: Path, *, client=None,
    concurrency: int = 4, progress: bool = True, anonymize: bool = True, prepare_workers: int | None = None,
) -> ReviewTable:
    """Review every rated paper once, on the one review path (`reviewer.review_file`: injection
    scan, anonymization unless `anonymize=False`). Each finished review is saved as
    out_dir/records/<id>.json before the next is awaited, so a killed run resumes where it stopped;
    a record made with the other anonymization setting is not reused.

    Start-up (the preparation workers, then the model library's import off the event loop) ends
    before the first paper is sent: the review clock starts there. Papers are prepared as review
    slots need them, at most `concurrency` plus a few ahead, in worker processes where that pays
    (`PaperPreparer`; `prepare_workers` overrides the choice, 0: one thread); the first ones are
    prepared while the library imports, so they are ready when the clock starts. The phases are
    kept in out_dir/timing.json."""
    from reviewer.atomic_file import remove_stale_temps, write_text_atomic
    from reviewer.review_file import PaperPreparer
    from reviewer.reviewer import load_record

    entered = time.time()
    records_dir = Path(out_dir) / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(records_dir)  # left by a run killed mid-write; its paper is reviewed again
    done, todo = {}, []
    for pid in dataset.ids:
        path = records_dir / f"{pid}.json"
        if path.is_file():
            try:
                record = load_record(path)
            except Exception:  # a file cut off by a kill: review again
                path.unlink()
            else:
                if (record.anonymization is not None) == anonymize:
                    done[pid] = record
                    continue
        todo.append(pid)
    if client is None:
        from reviewer.llm import ModelClient

        client = ModelClient(config.model, max_concurrency=concurrency)
    errors: list[str] = []
    timing: dict = {"papers": len(dataset.ids), "to_review": len(todo), "concurrency": concurrency}

    if todo:
        preparer = PaperPreparer(len(todo), workers=prepare_workers)
        try:
            await preparer.start()
            started = asyncio.ensure_future(_start_up(client))

            def clock_starts(_future: asyncio.Future) -> None:
                timing.update(prepare_workers=preparer.workers, startup_s=round(time.time() - entered, 3),
                              review_started_at=time.time())

            started.add_done_callback(clock_starts)
            await _review_all(todo, papers_dir, config, client, preparer, records_dir, done, errors, started,
                              concurrency=concurrency, anonymize=anonymize, progress=progress,
                              already=len(done), total=len(dataset.ids))
        finally:
            preparer.close()
        finished = time.time()
        first_call = getattr(client, "first_call_at", None)
        timing.update(finished_at=finished, review_phase_s=round(finished - timing["review_started_at"], 3),
                      first_call_at=first_call,
                      first_call_s=None if first_call is None else round(first_call - timing["review_started_at"], 3))
        log.info("review phase: %d paper(s) at concurrency %d in %.2f s (start-up %.2f s, first call after %s s)",
                 len(todo), concurrency, timing["review_phase_s"], timing["startup_s"], timing["first_call_s"])
        write_text_atomic(Path(out_dir) / "timing.json", json.dumps(timing, indent=2))
    if errors:
        (Path(out_dir) / "errors.txt").write_text("\n".join(errors) + "\n", encoding="utf-8")
        log.warning("%d paper(s) failed; see %s", len(errors), Path(out_dir) / "errors.txt")
    rows = [review_record_row(done[pid]) for pid in dataset.ids if pid in done]
    label = config.label() if hasattr(config, "label") else str(config.model)
    csv_path = Path(out_dir) / f"{label}.csv"
    pd.DataFrame(rows, columns=list(CSV_COLUMNS)).to_csv(csv_path, index=False)
    from reviewer.eval.dataset import read_reviews

    table = read_reviews(csv_path, name=label)
    table.frame = table.frame.reindex([pid for pid in dataset.ids if pid in table.frame.index])
    return table


async def _start_up(client) -> None:  # noqa: ANN001
    """The model library's import and model-map look-ups, off the event loop. A failure here is
    left to the calls, which report it per paper as they always have."""
    warm_up = getattr(client, "awarm_up", None)
    if warm_up is None:
        return
    try:
        await warm_up()
    except Exception as err:
        log.warning("model start-up failed (%s: %s); the calls will say more", type(err).__name__, err)


# Papers prepared beyond the ones in review, per preparation worker: enough that a freed review
# slot finds its next paper ready, few enough that memory stays bounded at any concurrency.
PREPARE_AHEAD_PER_WORKER = 2
# Review slots open at least this far apart. Opened all at once, hundreds of slots interleave the
# few ms of CPU litellm spends on each call before its request leaves, so even the first request
# leaves only after all of them; a few ms apart, the first leaves at once and the rest follow at the
# pace the CPU allows anyway.
SLOT_RAMP_S = 0.003


async def _review_all(todo, papers_dir, config, client, preparer, records_dir, done, errors, started, *,
                      concurrency, anonymize, progress, already, total) -> None:
    from reviewer.review_file import areview_prepared
    from reviewer.reviewer import save_record

    # `held`: papers being prepared, prepared and waiting, or in review. asyncio's semaphores wake
    # waiters in order, so papers are prepared in dataset order and the first is sent first.
    held = asyncio.Semaphore(concurrency + PREPARE_AHEAD_PER_WORKER * max(1, preparer.workers))
    reviewing = asyncio.Semaphore(concurrency)
    opening, next_open = asyncio.Lock(), [0.0]
    loop = asyncio.get_running_loop()

    async def ramp() -> None:
        async with opening:  # FIFO: slots open in order, SLOT_RAMP_S apart
            wait = next_open[0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            next_open[0] = loop.time() + SLOT_RAMP_S

    async def one(pid: str) -> None:
        async with held:
            try:
                prepared = await preparer.prepare(_paper_path(papers_dir, pid), anonymize=anonymize)
            except Exception as err:  # one unreadable paper must not lose the others
                errors.append(f"{pid}: {type(err).__name__}: {err}")
                return
            await asyncio.shield(started)  # start-up done: the review clock runs from here
            async with reviewing:
                await ramp()
                try:
                    record = await areview_prepared(prepared, config, client=client, paper_id=pid)
                except Exception as err:  # one failed paper must not lose the others
                    errors.append(f"{pid}: {type(err).__name__}: {err}")
                    return
            save_record(record, records_dir / f"{pid}.json")  # atomic: a kill never leaves half a record
            done[pid] = record

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("reviewing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not progress) as bar:
        task = bar.add_task("review", total=total, completed=already)

        async def tracked(pid: str) -> None:
            await one(pid)
            bar.advance(task)

        await asyncio.gather(*(tracked(pid) for pid in todo))


def _paper_path(papers_dir: Path, pid: str) -> Path:
    for suffix in (".txt", ".md", ".pdf"):
        candidate = Path(papers_dir) / f"{pid}{suffix}"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no paper file for {pid} in {papers_dir}")


def _oof_metric_sets(y, cv, mean_rating, n_resamples, seed) -> MetricSet:
    metrics = evaluate(y, decision=cv.decision, score=cv.prob, prob=cv.prob, mean_rating=mean_rating,
                       n_resamples=n_resamples, seed=seed, prefix="calibrated_")
    metrics.values.pop("calibrated_mae", None)  # a probability is not on the rating scale
    metrics.ci.pop("calibrated_mae", None)
    _copy_unprefixed(metrics)
    return metrics


def cross_fitted_rows(
    dataset: ReviewerDataset, result: EvalResult, tables: Sequence[ReviewTable], *,
    n_resamples: int = 1000, seed: int = 0, feature_sets: Sequence[str] = ("overall", "scores"),
    stacked_feature_sets: Sequence[str] = ("overall", "scores", "summary"),
) -> None:
    """Out-of-fold calibrated P(accept) by nested CV on this dataset: for each reviewer row that
    has no held-out calibrator figures, and (with several tables) one row stacking them all."""
    from reviewer.eval.calibration import cross_validate

    by_name = {t.name: t for t in tables}
    for row in result.reviewers:
        if row.calibrated is not None or row.name not in by_name:
            continue
        ids = [i for i in dataset.ids if i in by_name[row.name].frame.index]
        frame = dataset.frame().loc[ids]
        y = frame["accept"].to_numpy(int)
        cv = cross_validate([by_name[row.name]], ids, y, feature_sets=feature_sets, seed=seed, n_resamples=0)
        row.calibrated = _oof_metric_sets(y, cv, frame["mean_rating"].to_numpy(float), n_resamples, seed)
        row.prob, row.prob_y = cv.prob, y
        row.notes.append("calibrated columns: out-of-fold P(accept), nested 5-fold CV on this dataset "
                         f"(chosen per fold: {', '.join(sorted(set(cv.chosen)))}); their intervals: "
                         + NO_REFIT.format(what="nested-CV calibrator"))
        row.ci_refit, row.ci_method = False, "calibrated figures: " + NO_REFIT.format(what="nested-CV calibrator")
        row.ci_refit_scope = "calibrated"
    if len(tables) < 2:
        return
    ids = [i for i in dataset.ids if all(i in t.frame.index for t in tables)]
    frame = dataset.frame().loc[ids]
    y, rating = frame["accept"].to_numpy(int), frame["mean_rating"].to_numpy(float)
    cv = cross_validate(list(tables), ids, y, feature_sets=stacked_feature_sets, seed=seed, n_resamples=0)
    metrics = evaluate(y, decision=cv.decision, score=cv.prob, mean_rating=rating, n_resamples=n_resamples, seed=seed)
    metrics.values.pop("mae", None)
    metrics.ci.pop("mae", None)
    row = ScoredRow(f"stacked_{len(tables)}", f"all {len(tables)} configurations stacked: out-of-fold P(accept)",
                    "stacked", metrics, _oof_metric_sets(y, cv, rating, n_resamples, seed), y=y, score=cv.prob,
                    rating=rating, prob=cv.prob, prob_y=y,
                    notes=["decision = calibrated cut-off, AUC/Spearman of out-of-fold P(accept); chosen per fold: "
                           + ", ".join(sorted(set(cv.chosen))),
                           "intervals: " + NO_REFIT.format(what="nested-CV calibrator")],
                    ci_refit=False, ci_method=NO_REFIT.format(what="nested-CV calibrator"))
    position = max(i for i, r in enumerate(result.rows) if r.kind == "reviewer") + 1
    result.rows.insert(position, row)
