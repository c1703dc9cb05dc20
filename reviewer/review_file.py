"""Reviewing a paper file end to end: read it, defuse hidden instructions, review, calibrate."""
from __future__ import annotations

import asyncio
from pathlib import Path

from reviewer.llm import ModelClient
from reviewer.paper_text import load_paper_text
from reviewer.reviewer import ReviewerConfig, ReviewRecord, areview_paper


def apply_calibrator(record: ReviewRecord, calibrator_path: Path) -> ReviewRecord:
    from reviewer.eval.calibration import load_calibrator

    calibrator = load_calibrator(calibrator_path)
    p = float(calibrator.p_accept(record.scores))
    record.p_accept = round(p, 4)
    record.calibrated_decision = "Accept" if calibrator.decide(p) else "Reject"
    return record


async def areview_file(
    path: Path, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | None = None, paper_id: str | None = None,
) -> ReviewRecord:
    from reviewer.injection.scan import sanitize_text, scan_paper

    path = Path(path)
    text = await asyncio.to_thread(load_paper_text, path)
    findings = await asyncio.to_thread(scan_paper, path)
    if findings:  # the reviewer never sees the hidden instructions, and the record says so
        text = sanitize_text(text, findings)
    record = await areview_paper(text, config, client=client, paper_id=paper_id or path.stem)
    record.prompt_injection = [f.model_dump(mode="json") for f in findings]
    if calibrator is not None:
        apply_calibrator(record, calibrator)
    return record


def review_file(
    path: Path, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    calibrator: Path | None = None, paper_id: str | None = None,
) -> ReviewRecord:
    return asyncio.run(areview_file(path, config, client=client, calibrator=calibrator, paper_id=paper_id))
