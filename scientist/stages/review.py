"""The review stage: the declared reviewer panel on the compiled PDF, through the one review path
(`reviewer.review_file`: scan for hidden instructions, strip them, review, record the findings).

The score is the panel mean; every member's review is kept. A calibrator is applied only to a
reviewer configuration it was fit on, unless the transfer is forced (and then marked).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from scientist.records import ReviewStageRecord

# The embedded llama.cpp model: offline, no API key, the same on every machine. Never the model
# under test by default: a model does not grade its own papers unless explicitly asked to.
DEFAULT_REVIEWER = "local/smollm2"
REVIEWER_ENV = "BENCH_REVIEWER"


def default_reviewers() -> list[str]:
    """$BENCH_REVIEWER (comma-separated), else DEFAULT_REVIEWER."""
    import os

    return [r.strip() for r in os.environ.get(REVIEWER_ENV, "").split(",") if r.strip()] or [DEFAULT_REVIEWER]


def _review_file(pdf: Path, config: Any, client: Any, paper_id: str) -> Any:
    from reviewer.review_file import review_file

    return review_file(pdf, config, client=client, paper_id=paper_id, anonymize=True)


def review_panel(pdf: Path, paper_id: str, client_for: Callable[[str], Any], reviewers: list[str],
                 calibrator: Path | None = None, reviewer_kwargs: dict[str, Any] | None = None,
                 force_calibrator: bool = False, self_review: bool = False) -> ReviewStageRecord:
    from reviewer.reviewer import ReviewerConfig

    loaded = None
    if calibrator is not None:
        from reviewer.eval.calibration import load_calibrator

        loaded = load_calibrator(calibrator)
    members: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    transferred = False
    for model in reviewers:
        config = ReviewerConfig(model=model, **(reviewer_kwargs or {}))
        p_accept, calibrated_decision = None, None
        if loaded is not None:  # before the review: a refused calibrator costs no model call
            from reviewer.eval.calibration import check_reviewer, reviewer_label

            transferred |= check_reviewer(loaded, reviewer_label(config), force=force_calibrator)
        rec = _review_file(Path(pdf), config, client_for(model), paper_id)
        if loaded is not None:
            p_accept = float(loaded.p_accept(rec.scores))
            calibrated_decision = "Accept" if loaded.decide(p_accept) else "Reject"
        if not findings:  # the same file for every member: one list of findings
            findings = list(getattr(rec, "prompt_injection", None) or [])
        members.append({"reviewer": model, "label": config.label(), "overall": rec.overall,
                        "decision": calibrated_decision or rec.decision, "p_accept": p_accept,
                        "review": rec.model_dump(mode="json")})
    overall = [m["overall"] for m in members if m["overall"] is not None]
    p = [m["p_accept"] for m in members if m["p_accept"] is not None]
    accepts = sum(m["decision"] == "Accept" for m in members)
    return ReviewStageRecord(
        reviewer_model=" + ".join(reviewers), panel=list(reviewers), members=members,
        review=members[0]["review"] if len(members) == 1 else {"panel": members},
        overall=sum(overall) / len(overall) if overall else None,
        decision="Accept" if accepts * 2 > len(members) else "Reject",
        p_accept=sum(p) / len(p) if p else None, calibrated=loaded is not None,
        calibrator_transfer=transferred, self_review=self_review, prompt_injection=findings,
    )


def judge(record: ReviewStageRecord) -> tuple[str, str | None]:
    return ("ok", None) if record.review is not None else ("failed", "no review")
