"""The report: Markdown table in the published style, self-contained HTML with embedded figures."""
from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

from reviewer.eval.calibration import Candidate, feature_frame, fit_calibrator
from reviewer.eval.report import table_rows, write_report
from reviewer.eval.evaluation import evaluate_tables

# the synthetic dataset of the sibling test module (tests/ is not a package)
_spec = importlib.util.spec_from_file_location("_reviewer_eval_tests", Path(__file__).with_name("test_evaluation.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
synthetic = _module.synthetic


def _result():
    dataset, table = synthetic(n=160)
    train = dataset.ids[:80]
    cal = fit_calibrator(feature_frame([table], train, "scores"), dataset.frame().loc[train, "accept"].to_numpy(),
                         Candidate("scores", 1.0, "logistic"))
    return evaluate_tables(dataset, [table], calibrator=cal, n_resamples=100, dataset_name="synthetic")


def test_table_has_reviewer_baseline_and_published_rows():
    header, body = table_rows(_result())
    labels = [cells[0] for cells in body]
    assert labels[1:4] == ["human reviewer (one vs. mean of the others)", "random (accept at the base rate)",
                           "always reject"]
    assert labels[-1].startswith("published: GPT-4o")
    assert "AUC (Overall)" in header and "Brier" in header and "ECE" in header
    auc_cell = body[0][header.index("AUC (Overall)")]
    assert re.fullmatch(r"0\.\d{3} \[0\.\d\d, [01]\.\d\d\]", auc_cell)  # estimate and 95% interval
    published = body[-1]
    assert published[header.index("AUC (Overall)")] == "0.690" and published[header.index("Spearman")] == "0.380"


def test_report_is_self_contained_with_three_figures(tmp_path):
    md, page = write_report(_result(), tmp_path / "rep")
    html = page.read_text()
    images = re.findall(r"src=[\"']data:image/png;base64,([A-Za-z0-9+/=]+)[\"']", html)
    assert len(images) == 3  # ROC, reliability, Overall vs. human rating
    assert all(base64.b64decode(img).startswith(b"\x89PNG") for img in images)
    assert "http://" not in html and "https://" not in html  # nothing fetched when opened offline
    assert "<table class='results'>" in html.replace('"', "'") and "always reject" in html
    text = md.read_text()
    assert "| Reviewer |" in text and "![ROC curves](roc_curves.png)" in text
    assert (tmp_path / "rep" / "reliability_diagram.png").stat().st_size > 1000
