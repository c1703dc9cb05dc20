"""Evaluation rows, baselines, held-out calibrated metrics, live reviewing resumes, CLI output."""
from __future__ import annotations

import asyncio
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from reviewer.eval.calibration import Candidate, feature_frame, fit_calibrator
from reviewer.eval.dataset import SCORE_FIELDS, PaperRecord, ReviewerDataset, ReviewTable, load_dataset
from reviewer.eval.evaluation import (
    always_reject_baseline, areview_dataset, evaluate_tables, human_baseline, score_review_table,
)

REQUIRED_KEYS = {"n", "balanced_accuracy", "accuracy", "f1", "fpr", "fnr", "roc_auc", "spearman", "pearson", "mae", "ci"}


def synthetic(n=200, seed=0):
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=n)
    papers, rows = [], {}
    for i in range(n):
        ratings = tuple(float(np.clip(np.round(5 + 2 * quality[i] + rng.normal()), 1, 10)) for _ in range(3))
        accept = np.mean(ratings) + rng.normal(scale=0.5) > 5.8
        papers.append(PaperRecord(f"p{i}", ratings, "Accept (Poster)" if accept else "Reject"))
        overall = float(np.clip(np.round(5 + quality[i] + rng.normal()), 1, 10))
        rows[f"p{i}"] = {**{f: float(np.clip(np.round(2.5 + quality[i] / 2 + rng.normal() / 2), 1, 4)) for f in SCORE_FIELDS},
                         "Overall": overall, "Decision": "Accept" if overall >= 6 else "Reject"}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "paper_id"
    return ReviewerDataset(None, papers), ReviewTable("synthetic_cfg", frame)


def test_row_matches_library_metrics():
    dataset, table = synthetic()
    row = score_review_table(dataset, table, n_resamples=200)
    y = dataset.frame()["accept"]
    assert row.metrics.values["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y, table.frame["Decision"] == "Accept"))
    assert row.metrics.values["roc_auc"] == pytest.approx(roc_auc_score(y, table.frame["Overall"]))
    assert row.metrics.values["spearman"] == pytest.approx(
        spearmanr(table.frame["Overall"], dataset.frame()["mean_rating"]).statistic)
    for name, (lo, hi) in row.metrics.ci.items():
        assert lo <= hi, name


def test_calibrated_metrics_only_on_papers_the_calibrator_never_saw():
    dataset, table = synthetic()
    train = dataset.ids[:120]
    y_train = dataset.frame().loc[train, "accept"].to_numpy()
    cal = fit_calibrator(feature_frame([table], train, "overall"), y_train, Candidate("overall", 1.0, "logistic"))
    row = score_review_table(dataset, table, calibrator=cal, n_resamples=200)
    assert row.calibrated.n == 80 and len(row.prob) == 80
    assert {"brier", "ece", "calibrated_roc_auc", "calibrated_balanced_accuracy"} <= set(row.calibrated.values)
    assert any("training set" in note for note in row.notes)
    # all papers seen in training: no calibrated figures at all, and a note saying where to look
    full = fit_calibrator(feature_frame([table], dataset.ids, "overall"), dataset.frame()["accept"].to_numpy(),
                          Candidate("overall", 1.0, "logistic"))
    row = score_review_table(dataset, table, calibrator=full, n_resamples=0)
    assert row.calibrated is None and any("bench reviewer calibrate" in n for n in row.notes)


def test_human_baseline_agrees_perfectly_when_reviewers_agree():
    papers = [PaperRecord(f"q{i}", (r, r, r), "Accept" if r >= 6 else "Reject") for i, r in
              enumerate([3.0, 5.0, 6.0, 8.0, 10.0, 1.0, 6.0, 3.0])]
    row = human_baseline(ReviewerDataset(None, papers), n_resamples=100)
    assert row.metrics.values["spearman"] == pytest.approx(1.0)
    assert row.metrics.values["mae"] == pytest.approx(0.0)
    assert row.metrics.values["balanced_accuracy"] == pytest.approx(1.0)
    assert row.metrics.values["roc_auc"] == pytest.approx(1.0)


def test_always_reject_row():
    dataset, _ = synthetic()
    m = always_reject_baseline(dataset, n_resamples=50).metrics.values
    assert m["balanced_accuracy"] == 0.5 and m["fnr"] == 1.0 and m["fpr"] == 0.0 and m["roc_auc"] == 0.5
    assert m["accuracy"] == pytest.approx(1 - dataset.frame()["accept"].mean())


def test_json_has_the_flat_keys(tmp_path):
    dataset, table = synthetic()
    cal = fit_calibrator(feature_frame([table], dataset.ids[:100], "overall"),
                         dataset.frame().loc[dataset.ids[:100], "accept"].to_numpy(), Candidate("overall", 1.0, "logistic"))
    result = evaluate_tables(dataset, [table], calibrator=cal, n_resamples=100)
    result.write_json(tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    # with a calibrator the flat keys are the calibrated row's (on its 100 held-out papers); MAE is
    # not defined for a probability
    calibrated_keys = REQUIRED_KEYS - {"mae"} | {"brier", "ece"}
    # primary_row names the entry the flat keys are copied from: the calibrated one, not the raw row
    assert calibrated_keys <= set(data) and data["primary_row"] == "synthetic_cfg (calibrated)"
    primary = data["rows"][data["primary_row"]]
    assert primary["kind"] == "calibrated" and primary["of_row"] == "synthetic_cfg"
    assert all(data[k] == primary[k] for k in calibrated_keys | {"name", "label"})
    assert data["n"] == 100 and data["n_calibrated"] == 100
    assert all(len(data["ci"][k]) == 2 for k in calibrated_keys - {"n", "ci"})
    row = data["rows"]["synthetic_cfg"]
    assert data["roc_auc"] == row["calibrated_roc_auc"] and data["roc_auc"] != row["roc_auc"]
    assert data["balanced_accuracy"] == row["calibrated_balanced_accuracy"]
    assert set(data["rows"]) == {"synthetic_cfg", "synthetic_cfg (calibrated)", "human", "random", "always-reject"}
    # the calibrator was fit on other papers: its interval says it holds the calibrator fixed
    assert "held fixed" in primary["ci_method"]
    # without one, the flat keys are the first configuration's own figures
    plain = evaluate_tables(dataset, [table], n_resamples=50).to_json_dict()
    assert plain["n"] == 200 and plain["roc_auc"] == plain["rows"]["synthetic_cfg"]["roc_auc"] and "mae" in plain
    assert plain["primary_row"] == "synthetic_cfg" and plain["rows"][plain["primary_row"]]["roc_auc"] == plain["roc_auc"]


def test_constant_predictor_has_no_interval(tmp_path):
    """Always-reject scores 0.50 in every resample: its interval is undefined, never [0.50, 0.50]."""
    dataset, table = synthetic()
    result = evaluate_tables(dataset, [table], n_resamples=100)
    data = result.to_json_dict()
    reject = data["rows"]["always-reject"]
    assert reject["balanced_accuracy"] == 0.5 and reject["roc_auc"] == 0.5
    for name in ("balanced_accuracy", "roc_auc", "accuracy", "fpr", "fnr"):
        assert reject["ci"][name] is None and "constant" in reject["ci_undefined"][name]
    # a real predictor keeps its interval, and no 'undefined' key
    assert len(data["rows"]["synthetic_cfg"]["ci"]["roc_auc"]) == 2 and "ci_undefined" not in data["rows"]["synthetic_cfg"]
    from reviewer.eval.report import table_rows

    _, body = table_rows(result)
    cells = next(c for c in body if c[0] == "always reject")
    assert "0.500 [CI undefined]" in cells and "[0.50, 0.50]" not in " ".join(cells)


def test_stacked_calibrator_gets_its_own_row():
    dataset, table = synthetic()
    other = ReviewTable("second_cfg", table.frame.assign(Overall=np.clip(table.frame["Overall"] + 1, 1, 10)))
    train = dataset.ids[:100]
    X = feature_frame([table, other], train, "overall")
    cal = fit_calibrator(X, dataset.frame().loc[train, "accept"].to_numpy(), Candidate("overall", 1.0, "logistic"))
    assert len(cal.configs) == 2
    result = evaluate_tables(dataset, [table, other], calibrator=cal, n_resamples=100)
    rows = {r.name: r for r in result.rows}
    # never attached to the first configuration's row
    assert rows["synthetic_cfg"].calibrated is None and rows["second_cfg"].calibrated is None
    stacked = rows["stacked_calibrator"]
    assert stacked.kind == "stacked" and stacked.label == "stacked: 2 configurations"
    assert stacked.calibrated.n == 100 and stacked.metrics.n == 100
    data = result.to_json_dict()
    assert data["primary_row"] == "stacked_calibrator (calibrated)"
    assert data["roc_auc"] == data["rows"]["stacked_calibrator"]["calibrated_roc_auc"]
    assert data["roc_auc"] == data["rows"][data["primary_row"]]["roc_auc"]
    expected = roc_auc_score(dataset.frame().loc[dataset.ids[100:], "accept"],
                             cal.p_accept_tables([table, other], dataset.ids[100:]))
    assert data["roc_auc"] == pytest.approx(expected, abs=1e-6)
    from reviewer.eval.report import table_rows

    _, body = table_rows(result)
    assert any(cells[0] == "stacked: 2 configurations" for cells in body)


def test_text_baseline_row_is_out_of_fold_and_leak_notes_mark_recorded_rows(tmp_path):
    from reviewer.eval.evaluation import add_text_rows
    from reviewer.eval.report import table_rows

    dataset, table = synthetic(n=60)
    papers = tmp_path / "papers"
    papers.mkdir()
    rng = np.random.default_rng(1)
    for p in dataset.papers:
        head = "Anonymous authors\nPaper under double-blind review\n\n" if not p.accept else \
            "Jane Doe\nUniversity of X\njane@x.edu\n\n"
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "eps", "zeta"], size=400))
        (papers / f"{p.paper_id}.txt").write_text(f"# Title {p.paper_id}\n\n{head}ABSTRACT\n\n{words}\n")
    result = evaluate_tables(dataset, [table], n_resamples=50)
    add_text_rows(result, dataset, papers, n_resamples=50)
    rows = {r.name: r for r in result.rows}
    assert rows["text-baseline"].kind == "text-baseline" and rows["text-baseline-raw"].kind == "text-baseline"
    # the raw texts give the label away to a bag of words, the anonymized ones do not
    assert rows["text-baseline-raw"].metrics.get("roc_auc") > 0.95
    assert rows["text-baseline"].metrics.get("roc_auc") < 0.75
    assert result.audit["verdict"] == "leaky" and rows["synthetic_cfg"].leaky
    assert "leaky" in rows["synthetic_cfg"].notes[0] and not rows["human"].leaky
    _, body = table_rows(result)
    assert body[0][0].endswith("[leaky texts]") and body[-1][0].endswith("[leaky texts]")  # the published row too
    # live reviews of anonymized texts: the audit is recorded, no row is marked
    fresh = evaluate_tables(dataset, [table], n_resamples=50)
    add_text_rows(fresh, dataset, papers, text_baseline=False, recorded=False, n_resamples=50)
    assert fresh.audit["verdict"] == "leaky" and not any(r.leaky for r in fresh.rows)


def _fake_record(paper_id: str, overall: int):
    from reviewer.form import ReviewForm
    from reviewer.reviewer import ReviewerConfig, ReviewRecord

    form = ReviewForm.model_validate({
        "Summary": "s", "Strengths": ["a"], "Weaknesses": ["b"], "Originality": 3, "Quality": 3, "Clarity": 2,
        "Significance": 3, "Questions": ["q"], "Limitations": ["l"], "Ethical Concerns": False, "Soundness": 3,
        "Presentation": 3, "Contribution": 3, "Overall": overall, "Confidence": 4,
        "Decision": "Accept" if overall >= 6 else "Reject"})
    return ReviewRecord(paper_id=paper_id, model="fake", config=ReviewerConfig(model="fake"), reviews=[form],
                        reflection_rounds=[0], overall=float(overall), decision=form.decision, scores=form.scores(),
                        paper_chars=10, paper_truncated=False, usage=[], cost_usd=0.0, elapsed_s=0.0)


def test_live_reviewing_resumes_without_reviewing_twice(tmp_path, monkeypatch):
    import reviewer.review_file as review_module
    from reviewer.reviewer import ReviewerConfig

    papers_dir = tmp_path / "papers"
    papers_dir.mkdir()
    papers = [PaperRecord(f"id{i}", (5.0, 6.0), "Reject") for i in range(6)]
    for p in papers:
        (papers_dir / f"{p.paper_id}.txt").write_text(f"Paper {p.paper_id}. " + "text " * 100)
    dataset = ReviewerDataset(None, papers)
    calls: list[str] = []
    failed: list[str] = []

    async def fake_review(text, config, *, client=None, paper_id="paper"):
        calls.append(paper_id)
        if paper_id == "id3" and not failed:  # fails once, succeeds on the rerun
            failed.append(paper_id)
            raise RuntimeError("provider hiccup")
        return _fake_record(paper_id, 4 + int(paper_id[-1]))

    monkeypatch.setattr(review_module, "areview_paper", fake_review)  # the one review path calls it
    config = ReviewerConfig(model="fake")
    out = tmp_path / "run"
    table = asyncio.run(areview_dataset(dataset, papers_dir, config, out, client=object(), concurrency=2, progress=False))
    assert sorted(calls) == sorted(p.paper_id for p in papers)
    assert len(table) == 5 and "id3" in (out / "errors.txt").read_text()
    # a file cut off by a kill is reviewed again, finished ones never are
    (out / "records" / "id0.json").write_text('{"paper_id": "id0", "trunc')
    calls.clear()
    table = asyncio.run(areview_dataset(dataset, papers_dir, config, out, client=object(), concurrency=2, progress=False))
    assert sorted(calls) == ["id0", "id3"]
    assert len(table) == 6 and table.frame.loc["id5", "Overall"] == 9.0 and table.frame.loc["id5", "Clarity"] == 2.0
    csv = pd.read_csv(out / f"{config.label()}.csv")
    assert list(csv.columns)[:2] == ["paper_id", "Summary"] and len(csv) == 6
    calls.clear()
    asyncio.run(areview_dataset(dataset, papers_dir, config, out, client=object(), progress=False))
    assert calls == []


def _write_folder(tmp_path, dataset, table):
    lines = ["paper_id\t0\t1\t2\tdecision"] + [
        "\t".join([p.paper_id, *map(str, p.ratings), p.decision]) for p in dataset.papers]
    (tmp_path / "ratings.tsv").write_text("\n".join(lines) + "\n")
    table.frame.reset_index().to_csv(tmp_path / "synthetic_cfg.csv", index=False)
    return tmp_path / "ratings.tsv", tmp_path / "synthetic_cfg.csv"


def test_cli_eval_and_calibrate(tmp_path):
    from benchmark.cli import main

    dataset, table = synthetic(n=120)
    ratings, reviews = _write_folder(tmp_path, dataset, table)
    runner = CliRunner()
    result = runner.invoke(main, ["reviewer", "eval", "--ratings", str(ratings), "--reviews", str(reviews),
                                  "--json", str(tmp_path / "e.json"), "--resamples", "100"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "e.json").read_text())
    assert REQUIRED_KEYS <= set(data) and data["n"] == 120
    result = runner.invoke(main, ["reviewer", "calibrate", "--ratings", str(ratings), "--reviews", str(reviews),
                                  "--out", str(tmp_path / "cal.json"), "--features", "overall", "--folds", "3",
                                  "--resamples", "100", "--json", str(tmp_path / "oof.json")])
    assert result.exit_code == 0, result.output
    assert "roc_auc" in result.output
    oof = json.loads((tmp_path / "oof.json").read_text())
    assert 0.5 < oof["roc_auc"] < 1 and oof["ci"]["roc_auc"][0] <= oof["roc_auc"] <= oof["ci"]["roc_auc"][1]
    result = runner.invoke(main, ["reviewer", "eval", "--ratings", str(ratings), "--papers", str(tmp_path)])
    assert result.exit_code == 2 and "go together" in result.output


def test_shared_published_configuration(shared_data):
    root = shared_data / "iclr2022"
    from reviewer.eval.dataset import read_reviews

    dataset = load_dataset(root)
    table = read_reviews(root / "llm_reviews" / "gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all.csv")
    row = score_review_table(dataset, table, n_resamples=200)
    v = row.metrics.values
    # the 350-paper split of the published reviewer: close to its 500-paper figures (0.60, 0.69, 0.38)
    assert 0.55 < v["balanced_accuracy"] < 0.67 and 0.64 < v["roc_auc"] < 0.76 and 0.3 < v["spearman"] < 0.5


def test_bench_review_calibrator_hook(tmp_path):
    """`bench review --calibrator FILE` goes through reviewer.review_file.apply_calibrator."""
    from reviewer.review_file import apply_calibrator

    dataset, table = synthetic()
    cal = fit_calibrator(feature_frame([table], dataset.ids, "scores"), dataset.frame()["accept"].to_numpy(),
                         Candidate("scores", 1.0, "logistic"))
    cal.save(tmp_path / "cal.json")
    low, high = apply_calibrator(_fake_record("a", 3), tmp_path / "cal.json"), apply_calibrator(_fake_record("b", 9), tmp_path / "cal.json")
    assert 0 <= low.p_accept < high.p_accept <= 1
    assert low.p_accept == pytest.approx(cal.p_accept(_fake_record("a", 3).scores), abs=1e-4)
    assert high.calibrated_decision == ("Accept" if high.p_accept >= cal.threshold else "Reject")


def test_live_reviewing_goes_through_the_one_path_and_anonymizes(tmp_path, monkeypatch):
    """areview_dataset reviews what reviewer.review_file prepares: no author block, emails or
    acknowledgements reach the model; --no-anonymize (anonymize=False) passes the text as given."""
    import reviewer.review_file as review_module
    from reviewer.reviewer import ReviewerConfig

    papers_dir = tmp_path / "papers"
    papers_dir.mkdir()
    text = ("# A TITLE\n\nJane Doe\nUniversity of X\njane@x.edu\n\nABSTRACT\n\n" + "We show things. " * 80
            + "\n\nACKNOWLEDGMENTS\n\nThis work was supported by grant 7.\n\nREFERENCES\n\nA. B. C. 2020.\n")
    for i in range(2):
        (papers_dir / f"id{i}.txt").write_text(text)
    seen: list[str] = []

    async def fake_review(paper_text, config, *, client=None, paper_id="paper"):
        seen.append(paper_text)
        return _fake_record(paper_id, 6)

    monkeypatch.setattr(review_module, "areview_paper", fake_review)
    dataset = ReviewerDataset(None, [PaperRecord(f"id{i}", (5.0, 6.0), "Reject") for i in range(2)])
    asyncio.run(areview_dataset(dataset, papers_dir, ReviewerConfig(model="fake"), tmp_path / "a", client=object(),
                                progress=False))
    assert len(seen) == 2 and all("Jane" not in t and "jane@x.edu" not in t and "grant 7" not in t for t in seen)
    record = json.loads((tmp_path / "a" / "records" / "id0.json").read_text())
    assert record["anonymization"]["removed"]["front_matter"] == 1
    seen.clear()
    # the same out-dir with anonymization off: the anonymized records are not reused as raw ones
    asyncio.run(areview_dataset(dataset, papers_dir, ReviewerConfig(model="fake"), tmp_path / "a", client=object(),
                                progress=False, anonymize=False))
    assert len(seen) == 2 and all("jane@x.edu" in t for t in seen)


def test_papers_with_one_rating_each_get_no_human_row_and_no_crash():
    dataset, table = synthetic(n=40)
    single = ReviewerDataset(None, [PaperRecord(p.paper_id, p.ratings[:1], p.decision) for p in dataset.papers])
    result = evaluate_tables(single, [table], n_resamples=20)
    assert "human" not in {r.name for r in result.rows} and {"random", "always-reject"} <= {r.name for r in result.rows}


def test_cross_fitted_figures_say_their_intervals_do_not_refit():
    from reviewer.eval.evaluation import cross_fitted_rows
    from reviewer.eval.report import table_rows

    dataset, table = synthetic(n=120)
    other = ReviewTable("second_cfg", table.frame.assign(Overall=np.clip(table.frame["Overall"] + 1, 1, 10)))
    result = evaluate_tables(dataset, [table, other], n_resamples=50)
    cross_fitted_rows(dataset, result, [table, other], n_resamples=50)
    rows = result.to_json_dict()["rows"]
    # a reviewer row: its own columns are not fitted; its calibrated columns are, without refitting
    assert "ci_refit" not in rows["synthetic_cfg"] and rows["synthetic_cfg"]["calibrated_ci_refit"] is False
    assert "NOT refit" in rows["synthetic_cfg"]["calibrated_ci_method"]
    assert rows["stacked_2"]["ci_refit"] is False and "NOT refit" in rows["stacked_2"]["ci_method"]
    labels = [cells[0] for cells in table_rows(result)[1]]
    assert any(label.endswith("[calibrated: fit not repeated in CIs]") for label in labels)
    assert any(label.endswith("stacked: out-of-fold P(accept) [fit not repeated in CIs]") for label in labels)
