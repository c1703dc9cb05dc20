"""Label-leak audit: it catches a dataset whose versions give the decision away, it passes the same
papers anonymized, and `bench data audit` reports it with the documented exit codes and keys."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from reviewer.anonymize import anonymize_text
from reviewer.eval.audit import MARKERS, audit_texts, detect

WORDS = [a + b for a in ("mod", "dat", "trai", "res", "meth", "netw", "lear", "los", "acc", "bas", "tas", "feat",
                         "grad", "opt", "ben", "exp", "perf", "ana", "the", "bou")
         for b in ("el", "ing", "ation", "ure", "ive", "ics", "er", "ness", "ent", "al")]


def _paper(rng, accepted: bool, i: int) -> str:
    # the camera-ready has an extra page; every body is longer than the anonymizer's word budget
    n_sections = int(rng.integers(5, 8)) + (1 if accepted else 0)
    body = "\n\n".join(
        f"{k} SECTION {k}\n\n" + " ".join(rng.choice(WORDS, size=int(rng.integers(1000, 1500)))) + "."
        for k in range(1, n_sections + 1))
    if accepted:
        head = (f"# PAPER {i}\n\n**Author {i}[∗]** **Other Author**\nDepartment of CS, University of Place\n"
                f"{{a{i}, b{i}}}@place.edu\n\n")
        tail = ("\n\nCode: https://github.com/author{i}/paper.\n\n∗Equal contribution.\n\nACKNOWLEDGMENTS\n\n"
                "This work was supported by grant ABC-1234.\n\n").format(i=i)
    else:
        head = f"# PAPER {i}\n\n**Anonymous authors**\nPaper under double-blind review\n\n"
        tail = "\n\nCode will be released upon acceptance.\n\n"
    return head + "ABSTRACT\n\nWe study things.\n\n" + body + tail + "REFERENCES\n\nA. Author. Title. 2020.\n"


def _dataset(n=80, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array([1] * (n // 2) + [0] * (n - n // 2))
    return [_paper(rng, bool(label), i) for i, label in enumerate(y)], y


def test_a_mixed_version_dataset_is_leaky():
    texts, y = _dataset()
    result = audit_texts(texts, y, dataset="synthetic", n_resamples=200, text_baseline=False)
    assert result.verdict == "leaky" and result.leaky
    assert result.marker_auc > 0.95 and result.marker_auc_ci[0] > 0.9
    assert result.markers["anonymity_line"].rate_rejected == 1.0 and result.markers["anonymity_line"].rate_accepted == 0
    assert result.markers["email"].auc > 0.95 and result.length_separation > 0.58
    assert any("marker-only" in r for r in result.reasons) and "LEAKY" in result.verdict_line()


def test_the_same_papers_anonymized_are_clean():
    texts, y = _dataset()
    anonymized = [anonymize_text(t, max_words=1500).text for t in texts]
    result = audit_texts(anonymized, y, anonymized=True, n_resamples=200, text_baseline=True)
    assert result.verdict == "clean", result.reasons
    assert result.marker_auc <= 0.55 and result.length_separation <= 0.58
    assert all(0.4 <= m.auc <= 0.6 for m in result.markers.values())
    # the words are the same random draws in both classes: a bag of words finds nothing either
    assert result.text_baseline_auc < 0.7


def test_detectors_see_the_markers_they_name():
    flags = detect("# T\n\n**Anonymous authors**\nPaper under double-blind review\n\nABSTRACT\n\ntext\n\n"
                   "See https://anonymous.4open.science/r/x.\n\nREFERENCES\n\n")
    assert flags["anonymity_line"] and flags["anonymous_link"] and not flags["author_block"] and not flags["email"]
    flags = detect("# T\n\nJane Doe\nUniversity of X\njane@x.edu\n\nABSTRACT\n\nCode at github.com/janedoe/repo. "
                   "Results use MRR@10.\n\n7 ACKNOWLEDGMENTS\n\nWe thank our funders.\n\nREFERENCES\n")
    assert flags["author_block"] and flags["email"] and flags["non_anonymous_link"] and flags["acknowledgements"]
    # a generic library link, MRR@10 and a references list citing proceedings are not markers
    flags = detect("# T\n\nABSTRACT\n\nWe use github.com/pytorch/pytorch; MRR@10 improves.\n\n" + "body " * 200
                   + "\n\nREFERENCES\n\nIn Proceedings of the International Conference on Things, 2020.\n")
    assert not any(flags.values()), flags
    assert set(flags) == set(MARKERS)


def test_too_few_papers_is_a_clear_error():
    from reviewer.eval.dataset import DatasetError

    with pytest.raises(DatasetError, match="at least 5 accepted"):
        audit_texts(["a"] * 6, [1, 0, 0, 0, 0, 0], text_baseline=False)


def _write_folder(root, texts, y):
    (root / "papers").mkdir(parents=True)
    lines = ["paper_id\t0\t1\tdecision"]
    for i, (text, label) in enumerate(zip(texts, y)):
        (root / "papers" / f"p{i}.txt").write_text(text, encoding="utf-8")
        lines.append(f"p{i}\t6\t5\t{'Accept (Poster)' if label else 'Reject'}")
    (root / "ratings.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_cli_audit_keys_report_and_exit_codes(tmp_path):
    from benchmark.cli import main

    texts, y = _dataset(n=60)
    _write_folder(tmp_path / "ds", texts, y)
    runner = CliRunner()
    out = tmp_path / "a.json"
    result = runner.invoke(main, ["data", "audit", str(tmp_path / "ds"), "--json", str(out), "--resamples", "100",
                                  "--no-text-baseline"])
    assert result.exit_code == 0, result.output  # a measurement: leaky is not an error
    data = json.loads(out.read_text())
    assert {"n", "marker_auc", "marker_auc_ci", "length_auc", "markers", "verdict"} <= set(data)
    assert data["verdict"] == "leaky" and data["n"] == 60 and "rate_accepted" in data["markers"]["email"]
    assert "LEAKY" in result.output
    result = runner.invoke(main, ["data", "audit", str(tmp_path / "ds"), "--fail-on-leak", "--resamples", "50",
                                  "--no-text-baseline"])
    assert result.exit_code == 1
    result = runner.invoke(main, ["data", "audit", str(tmp_path / "ds"), "--anonymized", "--fail-on-leak",
                                  "--resamples", "50", "--report", str(tmp_path / "rep"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    def no_nan(constant):
        raise AssertionError(f"{constant} in the JSON")

    data = json.loads(out.read_text(), parse_constant=no_nan)  # strict JSON
    assert data["anonymized"] and data["verdict"] == "clean" and data["raw"]["verdict"] == "leaky"
    # after anonymization no paper carries an email: a constant marker, whose interval is undefined
    assert data["markers"]["email"]["rate_accepted"] == 0 == data["markers"]["email"]["rate_rejected"]
    assert data["markers"]["email"]["auc_ci"] == [None, None] and "CI undefined" in (tmp_path / "rep" / "audit.md").read_text()
    html = (tmp_path / "rep" / "audit.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "raw: AUC" in html and "anonymized: AUC" in html
    assert "https://" not in html.split("<body>", 1)[1].split("Label-leak", 1)[0]
    result = runner.invoke(main, ["data", "audit", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["data", "audit", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "ratings" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_shared_iclr2022_is_leaky_and_anonymization_meets_the_targets(shared_data):
    """The development split: the raw texts leak; anonymized, marker-only AUC <= 0.55 and
    length-only AUC <= 0.58 (either direction)."""
    from reviewer.eval.audit import audit_dataset

    root = shared_data / "iclr2022"
    raw = audit_dataset(root, n_resamples=200, text_baseline=False)
    assert raw.leaky and raw.marker_auc > 0.95 and raw.length_separation > 0.6
    anonymized = audit_dataset(root, anonymized=True, n_resamples=200, text_baseline=False)
    assert anonymized.marker_auc <= 0.55 and anonymized.length_separation <= 0.58, anonymized.reasons
    assert anonymized.verdict == "clean"
