"""Reviews of papers written elsewhere (one CSV row per paper, the NeurIPS review form of
../shared/data/iclr2022/llm_reviews/) as leaderboard entries, so that published runs of other
systems sit on the same board. Only what a review says is known: no novelty, experiments,
validity or cost."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path


class ReviewImportError(ValueError):
    """A CSV that cannot be read as one review per paper."""


@dataclass(frozen=True)
class ImportedPaper:
    paper_id: str
    overall: float | None
    decision: str | None
    p_accept: float | None = None


@dataclass(frozen=True)
class ImportedRun:
    model: str
    template: str
    source: str  # the CSV's file name
    papers: list[ImportedPaper]


def model_from_filename(path: Path) -> str:
    """The name a CSV's row gets without --model: its file name without the usual suffix
    (`gpt-4o-2024-05-13_temp_0_1_reflect_5_pages_all.csv` -> `gpt-4o-2024-05-13_temp_0_1_reflect_5`),
    so that several configurations of one model stay apart."""
    return re.sub(r"_pages_all$", "", path.stem)


def read_reviews(path: Path, *, model: str | None = None, template: str = "imported") -> ImportedRun:
    """One review per paper, read by the one review-CSV reader (`reviewer.eval.dataset.read_reviews`,
    which also normalises the Decision column); an optional `p_accept` column is kept."""
    from reviewer.eval.dataset import DatasetError
    from reviewer.eval.dataset import read_reviews as read_review_table

    path = Path(path)
    try:
        table = read_review_table(path)
    except DatasetError as err:
        raise ReviewImportError(f"{err} (a review CSV with a 'paper_id' and an 'Overall' column, one row per paper)") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:  # pandas: not a CSV at all
        raise ReviewImportError(f"{path}: cannot read: {err}") from None
    p_accept = _p_accept_column(path)
    papers = [
        ImportedPaper(paper_id=str(pid), overall=_finite(row["Overall"]), decision=row["Decision"] or None,
                      p_accept=p_accept.get(str(pid)))
        for pid, row in table.frame.iterrows()
    ]
    return ImportedRun(model=model or model_from_filename(path), template=template, source=path.name, papers=papers)


def _finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _p_accept_column(path: Path) -> dict[str, float]:
    import pandas as pd

    frame = pd.read_csv(path, dtype={"paper_id": str})
    if "p_accept" not in frame.columns:
        return {}
    values = pd.to_numeric(frame["p_accept"], errors="coerce")
    return {str(pid): float(v) for pid, v in zip(frame["paper_id"], values) if math.isfinite(v)}
