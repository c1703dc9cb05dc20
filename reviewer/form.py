"""The NeurIPS review form, as typed models. Out-of-range or missing fields fail validation,
which makes the model client re-ask instead of silently accepting them."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Score4 = Literal[1, 2, 3, 4]
Decision = Literal["Accept", "Reject"]

# Numeric fields, named as in the published review CSVs; each with its (min, max).
SCORE_RANGES: dict[str, tuple[int, int]] = {
    "Originality": (1, 4), "Quality": (1, 4), "Clarity": (1, 4), "Significance": (1, 4),
    "Soundness": (1, 4), "Presentation": (1, 4), "Contribution": (1, 4),
    "Overall": (1, 10), "Confidence": (1, 5),
}


class ReviewForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    summary: str = Field(alias="Summary", min_length=1)
    strengths: list[str] = Field(alias="Strengths")
    weaknesses: list[str] = Field(alias="Weaknesses")
    originality: Score4 = Field(alias="Originality")
    quality: Score4 = Field(alias="Quality")
    clarity: Score4 = Field(alias="Clarity")
    significance: Score4 = Field(alias="Significance")
    questions: list[str] = Field(alias="Questions")
    limitations: list[str] = Field(alias="Limitations")
    ethical_concerns: bool = Field(alias="Ethical Concerns")
    soundness: Score4 = Field(alias="Soundness")
    presentation: Score4 = Field(alias="Presentation")
    contribution: Score4 = Field(alias="Contribution")
    overall: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10] = Field(alias="Overall")
    confidence: Literal[1, 2, 3, 4, 5] = Field(alias="Confidence")
    decision: Decision = Field(alias="Decision")

    def scores(self) -> dict[str, float]:
        data = self.model_dump(by_alias=True)
        return {name: float(data[name]) for name in SCORE_RANGES}


class Reflection(BaseModel):
    """One reflection round: the reviewer's second look at its own review."""

    thought: str = Field(description="What to reconsider in the review, briefly.")
    review: ReviewForm
    done: bool = Field(description="True when the review needs no further changes.")


class MetaReviewText(BaseModel):
    """What the area chair writes; the scores are aggregated, not generated."""

    metareview: str = Field(min_length=1)
    decision: Decision


class MetaReview(BaseModel):
    text: str
    decision: Decision
    scores: dict[str, float]  # mean of each numeric field over the ensemble
    n_reviews: int
