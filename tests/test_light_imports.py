"""Commands that make no model call stay fast: they must not import litellm, llama.cpp or torch
(`import litellm` alone takes about 5 s here). Each command runs in a fresh interpreter that
reports, at exit, which heavy modules ended up loaded."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("litellm", "llama_cpp", "torch", "transformers")

PROBE = """
import atexit, json, sys
REPORT = sys.argv[1]
def _report():
    with open(REPORT, "w") as f:
        json.dump(sorted(m for m in {heavy!r} if m in sys.modules), f)
atexit.register(_report)
sys.argv = ["bench"] + sys.argv[2:]
from benchmark.cli import main
main()
""".format(heavy=HEAVY)


def _heavy_modules_loaded(tmp_path: Path, *args: str) -> tuple[list[str], subprocess.CompletedProcess]:
    report = tmp_path / "loaded.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(report), *args], capture_output=True, text=True,
                          timeout=120)
    assert report.is_file(), proc.stderr[-2000:]
    return json.loads(report.read_text()), proc


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> tuple[Path, Path]:
    """A 24-paper dataset in the ICLR layout and one review CSV of the NeurIPS form."""
    ratings = tmp_path / "ratings.tsv"
    reviews = tmp_path / "model_temp_0_1_fewshot_0_reflect_0_ensemble_1_pages_all.csv"
    with ratings.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["paper_id", "0", "1", "2", "decision"])
        for i in range(24):
            accepted = i % 3 == 0
            w.writerow([f"p{i}", 8 if accepted else 3, 6 if accepted else 5, 6, "Accept (Poster)" if accepted else "Reject"])
    fields = ["paper_id", "Summary", "Questions", "Limitations", "Ethical Concerns", "Soundness", "Presentation",
              "Contribution", "Overall", "Confidence", "Strengths", "Weaknesses", "Originality", "Quality",
              "Clarity", "Significance", "Decision"]
    with reviews.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i in range(24):
            good = i % 3 == 0 or i % 5 == 0
            w.writerow({k: "" for k in fields} | {
                "paper_id": f"p{i}", "Summary": "s", "Soundness": 3 if good else 2, "Presentation": 3,
                "Contribution": 3 if good else 2, "Overall": 7 if good else 4, "Confidence": 4,
                "Originality": 3, "Quality": 3, "Clarity": 3, "Significance": 2,
                "Decision": "Accept" if good else "Reject"})
    return ratings, reviews


def test_help_is_light(tmp_path: Path) -> None:
    loaded, proc = _heavy_modules_loaded(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert loaded == []


def test_recorded_review_evaluation_is_light(tmp_path: Path, tiny_dataset: tuple[Path, Path]) -> None:
    ratings, reviews = tiny_dataset
    loaded, proc = _heavy_modules_loaded(tmp_path, "reviewer", "eval", "--ratings", str(ratings),
                                         "--reviews", str(reviews), "--resamples", "20",
                                         "--json", str(tmp_path / "eval.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "eval.json").is_file()
    assert loaded == []


def test_leaderboard_is_light(tmp_path: Path, tiny_dataset: tuple[Path, Path]) -> None:
    _, reviews = tiny_dataset
    loaded, proc = _heavy_modules_loaded(tmp_path, "leaderboard", "--import-reviews", str(reviews),
                                         "--out", str(tmp_path / "board"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "board" / "leaderboard.html").is_file()
    assert loaded == []
