"""Reviews of papers written elsewhere (one CSV row per paper, the NeurIPS review form of
../shared/data/iclr2022/llm_reviews/) as leaderboard entries, so that published runs of other
systems sit on the same board. Only what a review says is known: no novelty, experiments,
validity or cost."""
from __future__ import annotations

import csv
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


def _float(value: str | None) -> float | None:
    try:
        v = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None


def read_reviews(path: Path, *, model: str | None = None, template: str = "imported") -> ImportedRun:
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ReviewImportError(f"{path}: cannot read: {err}") from err
    if not rows or "Overall" not in rows[0]:
        raise ReviewImportError(f"{path}: expected a review CSV with an 'Overall' column (one row per paper)")
    id_col = "paper_id" if "paper_id" in rows[0] else next(iter(rows[0]))
    papers = [
        ImportedPaper(
            paper_id=str(r.get(id_col) or i), overall=_float(r.get("Overall")),
            decision=(r.get("Decision") or "").strip() or None, p_accept=_float(r.get("p_accept")),
        )
        for i, r in enumerate(rows)
    ]
    return ImportedRun(model=model or model_from_filename(path), template=template, source=path.name, papers=papers)
