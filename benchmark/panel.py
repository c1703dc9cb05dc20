"""The reviewer panel: who judges every paper of a board.

A board compares models only if one panel (reviewer models + reviewer configuration +
calibrator) judged every row. The panel is declared, never implied by the model under test:
`--reviewer R` (repeatable), else $BENCH_REVIEWER (comma-separated), else DEFAULT_REVIEWER;
reviewing a model's papers with the model itself takes an explicit `--self-review` and is
marked on the board.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reviewer.llm.embedded import embedded_model, reviewer_note

from scientist.stages.review import DEFAULT_REVIEWER, REVIEWER_ENV, default_reviewers  # noqa: F401


class PanelError(ValueError):
    """A panel that cannot be formed (e.g. --self-review together with --reviewer)."""


class ReviewPanel(BaseModel):
    reviewers: list[str] = Field(min_length=1)
    reviewer_config: dict[str, Any] = Field(default_factory=dict)  # ReviewerConfig fields beyond the model
    calibrator: str | None = None  # file name and sha256 prefix of the calibrator, when one is applied
    self_review: bool = False
    force_calibrator: bool = False  # a calibrator applied to a reviewer it was not fit on (marked)

    def key(self) -> str:
        """Identical for identical panels: rows with different keys cannot share a board."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]

    def label(self) -> str:
        config = ", ".join(f"{k}={v}" for k, v in sorted(self.reviewer_config.items()))
        parts = [f"reviewer panel: {' + '.join(map(_shown, self.reviewers))}"]
        if config:
            parts.append(f"config: {config}")
        parts.append(f"calibrator: {self.calibrator or 'none'}" + (" (FORCED TRANSFER)" if self.force_calibrator else ""))
        if self.self_review:
            parts.append("SELF-REVIEW (the model judged its own papers)")
        return "; ".join(parts)


def _shown(reviewer: str) -> str:
    """A reviewer's name on a board; the embedded model is marked, its scores test the pipeline only."""
    if reviewer_note(reviewer) is None:
        return reviewer
    return f"{reviewer} [smoke-test reviewer, {embedded_model(reviewer).parameters} parameters]"


def calibrator_id(path: Path | None) -> str | None:
    if path is None:
        return None
    path = Path(path)
    return f"{path.name}#{hashlib.sha256(path.read_bytes()).hexdigest()[:10]}"


def make_panel(model: str, reviewers: list[str] | tuple[str, ...] = (), *, self_review: bool = False,
               reviewer_config: dict[str, Any] | None = None, calibrator: Path | None = None,
               force_calibrator: bool = False) -> ReviewPanel:
    """The panel of a `bench run MODEL`: never MODEL unless `self_review` says so."""
    reviewers = [r for r in dict.fromkeys(r.strip() for r in reviewers) if r]
    if self_review and reviewers:
        raise PanelError("--self-review reviews MODEL's papers with MODEL: do not combine it with --reviewer")
    if model in reviewers:
        raise PanelError(f"--reviewer {model} is the model under test: ask for self-review explicitly with --self-review")
    chosen = [model] if self_review else (reviewers or default_reviewers())
    return ReviewPanel(reviewers=chosen, reviewer_config=dict(reviewer_config or {}),
                       calibrator=calibrator_id(calibrator), self_review=self_review,
                       force_calibrator=force_calibrator)


def panel_from_config(config_json: str | None) -> ReviewPanel | None:
    """The panel a results-database run recorded (None for runs made before panels existed)."""
    try:
        data = json.loads(config_json or "{}").get("panel")
    except ValueError:
        return None
    return ReviewPanel.model_validate(data) if data else None
