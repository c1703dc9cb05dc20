"""Dataset loading: ratings.tsv, paper texts, llm_reviews CSVs, HF export."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from reviewer.eval.dataset import (
    DatasetError, find_shared_data, load_dataset, read_ratings, read_reviews, review_config_label,
)

RATINGS = (
    "paper_id\t0\t1\t2\t3\tdecision\n"
    "a1\t8.0\t6.0\t6.0\t\tAccept (Poster)\n"
    "b2\t3.0\t5.0\t\t\tReject\n"
    "c3\t10.0\t8.0\t8.0\t6.0\tAccept (Oral)\n"
)
CSV = (
    "paper_id,Summary,Questions,Limitations,Ethical Concerns,Soundness,Presentation,Contribution,Overall,"
    "Confidence,Strengths,Weaknesses,Originality,Quality,Clarity,Significance,Decision\n"
    'a1,"A summary, with a comma",q,l,False,3,3,2,6,4,s,w,3,3,3.5,2,Accept\n'
    "b2,s,q,l,False,2,2,2,3,4,s,w,2,2,2,2,reject\n"
    "c3,s,q,l,False,4,4,4,8,5,s,w,4,4,4,4,Accept\n"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "ratings.tsv").write_text(RATINGS)
    (tmp_path / "papers").mkdir()
    for pid in ("a1", "b2", "c3"):
        (tmp_path / "papers" / f"{pid}.txt").write_text(f"# Paper {pid}\nbody")
    (tmp_path / "llm_reviews").mkdir()
    (tmp_path / "llm_reviews" / "gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all.csv").write_text(CSV)
    return tmp_path


def test_ratings_are_typed_records(folder):
    records = {r.paper_id: r for r in read_ratings(folder / "ratings.tsv")}
    assert records["a1"].ratings == (8.0, 6.0, 6.0)  # empty cells are no rating
    assert records["a1"].mean_rating == pytest.approx(20 / 3)
    assert records["a1"].accept and records["c3"].accept and not records["b2"].accept
    assert records["c3"].decision == "Accept (Oral)"


def test_dataset_frame_and_text(folder):
    dataset = load_dataset(folder, with_text=True)
    assert dataset.ids == ["a1", "b2", "c3"]
    assert dataset["b2"].text.startswith("# Paper b2")
    frame = dataset.frame()
    assert frame["accept"].tolist() == [1, 0, 1]
    assert frame.loc["b2", "mean_rating"] == pytest.approx(4.0)
    assert frame["n_ratings"].tolist() == [3, 2, 4]
    lazy = load_dataset(folder / "ratings.tsv")  # a path to the TSV works too; text read on demand
    assert lazy["a1"].text is None and lazy.text("a1").startswith("# Paper a1")


def test_missing_paper_text_is_a_clear_error(folder):
    (folder / "papers" / "b2.txt").unlink()
    with pytest.raises(DatasetError, match="no text or PDF for paper b2"):
        load_dataset(folder, with_text=True)


def test_missing_column_is_a_clear_error(tmp_path):
    (tmp_path / "ratings.tsv").write_text("paper_id\t0\nx\t5\n")
    with pytest.raises(DatasetError, match="decision"):
        read_ratings(tmp_path / "ratings.tsv")


def test_reviews_csv(folder):
    table = read_reviews(next((folder / "llm_reviews").glob("*.csv")))
    assert table.frame.loc["a1", "Overall"] == 6 and table.frame.loc["a1", "Clarity"] == 3.5
    assert table.frame["Decision"].tolist() == ["Accept", "Reject", "Accept"]  # case normalised
    assert table.accept_decision.tolist() == [1, 0, 1]
    with pytest.raises(DatasetError, match="no review for 1 paper"):
        table.aligned(["a1", "zz"])


def test_reviews_csv_with_missing_fields(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("paper_id,Overall,Decision\nx,7,Accept\ny,,Reject\n")
    table = read_reviews(path)
    assert table.name == "mine" and list(table.frame.index) == ["x"]  # no Overall: no review
    assert math.isnan(table.frame.loc["x", "Soundness"])


def test_config_label():
    assert review_config_label("gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all") == \
        "gpt-4o 1-shot, 5 refl., ens. 5"
    assert review_config_label("gpt-4o-2024-05-13_temp_0_1_pages_all") == "gpt-4o 0-shot"


def test_find_shared_data_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_SHARED_DATA", str(tmp_path))
    assert find_shared_data() == tmp_path
    monkeypatch.setenv("BENCH_SHARED_DATA", str(tmp_path / "absent"))
    assert find_shared_data() is None


def test_hf_export_round_trip(folder, tmp_path):
    import datasets

    from reviewer.eval.dataset import export_hf

    assert export_hf(folder, tmp_path / "hf") == 3
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds["paper_id"] == ["a1", "b2", "c3"] and ds["accept"] == [True, False, True]
    assert ds["ratings"][0] == [8.0, 6.0, 6.0]
    col = "review_gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all_overall"
    assert ds[col] == [6.0, 3.0, 8.0]


def test_shared_iclr2022(shared_data):
    root = shared_data / "iclr2022"
    dataset = load_dataset(root)
    frame = dataset.frame()
    assert len(dataset) == 350 and int(frame["accept"].sum()) == 129
    assert frame["n_ratings"].min() >= 2
    assert all((root / "papers" / f"{pid}.txt").is_file() for pid in dataset.ids)
    csvs = sorted((root / "llm_reviews").glob("*.csv"))
    assert len(csvs) == 6
    for csv in csvs:
        assert len(read_reviews(csv).aligned(dataset.ids)) == 350
