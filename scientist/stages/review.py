"""The review stage: the reviewer on the compiled PDF, optionally with a calibrator."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scientist.records import ReviewStageRecord


def review_pdf(pdf: Path, paper_id: str, client: Any, reviewer_model: str,
               calibrator: Path | None = None, reviewer_kwargs: dict[str, Any] | None = None) -> ReviewStageRecord:
    from reviewer.paper_text import load_paper_text
    from reviewer.reviewer import ReviewerConfig, review_paper

    text = load_paper_text(pdf)
    config = ReviewerConfig(model=reviewer_model, **(reviewer_kwargs or {}))
    rec = review_paper(text, config, client=client, paper_id=paper_id)
    p_accept = getattr(rec, "p_accept", None)
    calibrated = False
    if calibrator is not None:
        from reviewer.eval.calibration import load_calibrator

        p_accept = float(load_calibrator(calibrator).p_accept(rec.scores))
        calibrated = True
    return ReviewStageRecord(
        reviewer_model=reviewer_model, review=rec.model_dump(mode="json"),
        overall=getattr(rec, "overall", None), decision=getattr(rec, "decision", None),
        p_accept=p_accept, calibrated=calibrated,
    )


def judge(record: ReviewStageRecord) -> tuple[str, str | None]:
    return ("ok", None) if record.review is not None else ("failed", "no review")
