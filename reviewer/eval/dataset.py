"""Reviewer-evaluation data: a folder in the layout of `../shared/data/iclr2022/`.

    ratings.tsv            paper_id, 0..6 (individual overall ratings), decision
    papers/<paper_id>.txt  paper text (optional: papers/<paper_id>.pdf)
    llm_reviews/*.csv      recorded LLM reviews, one row per paper, one file per configuration

Human ratings are typed `PaperRecord`s; recorded reviews are `ReviewTable`s (a DataFrame of
numeric scores and the Decision field, indexed by paper id).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# Review-form fields in the CSVs of llm_reviews/ (and in ReviewRecord.scores).
SCORE_FIELDS: tuple[str, ...] = (
    "Overall", "Soundness", "Presentation", "Contribution",
    "Originality", "Quality", "Clarity", "Significance", "Confidence",
)
SUB_SCORES: tuple[str, ...] = SCORE_FIELDS[1:-1]
REVIEW_TEXT_FIELDS: tuple[str, ...] = ("Summary", "Strengths", "Weaknesses", "Questions", "Limitations")
CSV_COLUMNS: tuple[str, ...] = (
    "paper_id", "Summary", "Questions", "Limitations", "Ethical Concerns", "Soundness", "Presentation",
    "Contribution", "Overall", "Confidence", "Strengths", "Weaknesses", "Originality", "Quality",
    "Clarity", "Significance", "Decision",
)
ACCEPT_THRESHOLD_HUMAN = 6.0  # ICLR 2022 scale: 6 = "marginally above the acceptance threshold"


class DatasetError(ValueError):
    """The folder or file is not in the expected layout; the message says what is wrong."""


@dataclass(frozen=True)
class PaperRecord:
    paper_id: str
    ratings: tuple[float, ...]
    decision: str
    text: str | None = None

    @property
    def mean_rating(self) -> float:
        return float(np.mean(self.ratings)) if self.ratings else float("nan")

    @property
    def accept(self) -> bool:
        return self.decision.strip().lower().startswith("accept")


@dataclass
class ReviewerDataset:
    """Rated papers of one venue; `frame()` gives the numeric view used by metrics."""

    root: Path | None
    papers: list[PaperRecord]
    _by_id: dict[str, PaperRecord] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {p.paper_id: p for p in self.papers}

    def __len__(self) -> int:
        return len(self.papers)

    def __getitem__(self, paper_id: str) -> PaperRecord:
        return self._by_id[paper_id]

    @property
    def ids(self) -> list[str]:
        return [p.paper_id for p in self.papers]

    def subset(self, ids: Iterable[str]) -> ReviewerDataset:
        return ReviewerDataset(self.root, [self._by_id[i] for i in ids])

    def frame(self) -> pd.DataFrame:
        """One row per paper: accept (0/1), mean_rating, n_ratings, decision."""
        return pd.DataFrame(
            {
                "accept": [int(p.accept) for p in self.papers],
                "mean_rating": [p.mean_rating for p in self.papers],
                "n_ratings": [len(p.ratings) for p in self.papers],
                "decision": [p.decision for p in self.papers],
            },
            index=pd.Index(self.ids, name="paper_id"),
        )

    def text(self, paper_id: str) -> str:
        record = self._by_id[paper_id]
        if record.text is not None:
            return record.text
        if self.root is None:
            raise DatasetError(f"{paper_id}: no text loaded and no dataset folder to read it from")
        return read_paper_text(self.root / "papers", paper_id)


def read_ratings(path: str | Path) -> list[PaperRecord]:
    """Parse ratings.tsv: paper_id, rating columns (any names but decision), decision."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such ratings file")
    table = pd.read_csv(path, sep="\t", dtype={"paper_id": str})
    missing = {"paper_id", "decision"} - set(table.columns)
    if missing:
        raise DatasetError(f"{path}: missing column(s) {sorted(missing)}")
    rating_columns = [c for c in table.columns if c not in ("paper_id", "decision")]
    ratings = table[rating_columns].apply(pd.to_numeric, errors="coerce")
    records = []
    for pid, decision, row in zip(table["paper_id"], table["decision"], ratings.to_numpy(float)):
        values = tuple(float(v) for v in row if np.isfinite(v))
        records.append(PaperRecord(paper_id=str(pid), ratings=values, decision=str(decision)))
    if len({r.paper_id for r in records}) != len(records):
        raise DatasetError(f"{path}: duplicate paper ids")
    return records


def read_paper_text(papers_dir: Path, paper_id: str) -> str:
    for suffix in (".txt", ".md"):
        candidate = papers_dir / f"{paper_id}{suffix}"
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8", errors="replace")
    pdf = papers_dir / f"{paper_id}.pdf"
    if pdf.is_file():
        from reviewer.paper_text import load_paper_text

        return load_paper_text(pdf)
    raise DatasetError(f"{papers_dir}: no text or PDF for paper {paper_id}")


def load_dataset(root_or_ratings: str | Path, *, with_text: bool = False) -> ReviewerDataset:
    """Load a dataset folder (or a ratings.tsv inside one). Text is read lazily unless asked."""
    path = Path(root_or_ratings)
    ratings = path / "ratings.tsv" if path.is_dir() else path
    root = ratings.parent
    records = read_ratings(ratings)
    if with_text:
        records = [
            PaperRecord(r.paper_id, r.ratings, r.decision, read_paper_text(root / "papers", r.paper_id))
            for r in records
        ]
    return ReviewerDataset(root if (root / "papers").is_dir() else None, records)


@dataclass
class ReviewTable:
    """Recorded reviews of one reviewer configuration, indexed by paper id."""

    name: str
    frame: pd.DataFrame  # numeric SCORE_FIELDS (NaN where absent) + "Decision" ("Accept"/"Reject")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def accept_decision(self) -> pd.Series:
        return (self.frame["Decision"] == "Accept").astype(int)

    def aligned(self, ids: Sequence[str]) -> pd.DataFrame:
        missing = [i for i in ids if i not in self.frame.index]
        if missing:
            raise DatasetError(f"{self.name}: no review for {len(missing)} paper(s), e.g. {missing[:3]}")
        return self.frame.loc[list(ids)]


def normalise_decision(value: object) -> str:
    text = str(value).strip().lower()
    if text.startswith("accept"):
        return "Accept"
    if text.startswith("reject"):
        return "Reject"
    return ""


def read_reviews(path: str | Path, name: str | None = None) -> ReviewTable:
    """Read a CSV in the llm_reviews/ format. Unknown or missing score columns become NaN."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such review file")
    table = pd.read_csv(path, dtype={"paper_id": str})
    if "paper_id" not in table.columns or "Overall" not in table.columns:
        raise DatasetError(f"{path}: expected at least the columns paper_id and Overall")
    table = table.drop_duplicates("paper_id", keep="last").set_index("paper_id")
    frame = pd.DataFrame(index=table.index)
    for name_ in SCORE_FIELDS:
        frame[name_] = pd.to_numeric(table[name_], errors="coerce") if name_ in table else np.nan
    if "Decision" in table:
        frame["Decision"] = table["Decision"].map(normalise_decision)
    else:
        frame["Decision"] = ""
    frame = frame[frame["Overall"].notna()]
    return ReviewTable(name=name or path.stem, frame=frame)


def review_config_label(name: str) -> str:
    """A short human label from a published file name, e.g. `gpt-4o 1-shot, 5 refl., ens. 5`."""
    model = re.split(r"_temp_", name)[0]
    model = re.sub(r"-\d{4}-\d{2}-\d{2}$|-\d{8}$", "", model)
    parts = []
    if m := re.search(r"fewshot_(\d+)", name):
        parts.append(f"{m.group(1)}-shot")
    if m := re.search(r"reflect_(\d+)", name):
        parts.append(f"{m.group(1)} refl.")
    if m := re.search(r"ensemble_(\d+)", name):
        parts.append(f"ens. {m.group(1)}")
    return f"{model} {', '.join(parts) if parts else '0-shot'}"


def find_shared_data(start: Path | None = None) -> Path | None:
    """The shared data folder: $BENCH_SHARED_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("BENCH_SHARED_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            candidate = parent.parent / "shared" / "data"
            return candidate if candidate.is_dir() else None
    return None


def export_hf(root: str | Path, out: str | Path, *, with_text: bool = True) -> int:
    """Save the rated papers of a folder as a Hugging Face dataset (`datasets.load_from_disk(out)`).

    Columns: paper_id, ratings (list of float), mean_rating, decision, accept, text; one
    `review_<config>_overall` / `_decision` column pair per llm_reviews/ file present.
    """
    import datasets

    dataset = load_dataset(root, with_text=with_text)
    columns: dict[str, list] = {
        "paper_id": dataset.ids,
        "ratings": [list(p.ratings) for p in dataset.papers],
        "mean_rating": [p.mean_rating for p in dataset.papers],
        "decision": [p.decision for p in dataset.papers],
        "accept": [p.accept for p in dataset.papers],
    }
    if with_text:
        columns["text"] = [p.text or "" for p in dataset.papers]
    reviews_dir = Path(root) / "llm_reviews"
    for csv in sorted(reviews_dir.glob("*.csv")) if reviews_dir.is_dir() else []:
        table = read_reviews(csv).frame.reindex(dataset.ids)
        columns[f"review_{csv.stem}_overall"] = table["Overall"].astype(float).tolist()
        columns[f"review_{csv.stem}_decision"] = table["Decision"].fillna("").astype(str).tolist()
    datasets.Dataset.from_dict(columns).save_to_disk(str(out))
    return len(dataset)
