"""The NeurIPS review form, as typed models. Out-of-range or missing fields fail validation,
which makes the model client re-ask instead of silently accepting them."""
from __future__ import annotations

import re
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
    # 1 to 3 points asked for (schema only: recorded reviews with other counts still load)
    strengths: list[str] = Field(alias="Strengths", json_schema_extra={"minItems": 1})
    weaknesses: list[str] = Field(alias="Weaknesses", json_schema_extra={"minItems": 1})
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


# ---- degenerate list items ---------------------------------------------------------------
# Seen from SmolLM2-135M: "Srstgthnh" and "Trists" as strengths, the same sentence as a strength
# and as a weakness. Such items are rejected (the model is asked again) and, if they persist,
# dropped: a short list is better than nonsense.
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_VOWELS = set("aeiouyAEIOUY")
MIN_ITEM_WORDS = 3


def _normal(item: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(item))


def _wordlike(word: str) -> bool:
    """A plausible English word: has a vowel, no run of 5 consonants, no letter 3 times in a row."""
    w = word.lower().strip("'-")
    if len(w) <= 3:
        return True  # "a", "of", "RL", "GPU"
    return (any(c in _VOWELS for c in w) and not re.search(r"[^aeiouy'-]{5,}", w)
            and not re.search(r"(.)\1\1", w))


def item_problem(item: str) -> str | None:
    """Why a strength or weakness is unusable, or None."""
    words = _WORD.findall(item)
    odd = [w for w in words if not _wordlike(w)]
    if not words or len(odd) * 3 > len(words) or (len(words) <= 4 and odd):
        return f"not words: {', '.join(odd[:3]) or repr(item[:40])}"
    if len(words) < MIN_ITEM_WORDS:
        return f"too short to say anything ({len(words)} word(s)); write a specific point in a full sentence"
    lowered = [w.lower() for w in words]
    if len(words) >= 6 and len(set(lowered)) * 2 < len(words):
        return "repeats the same words"
    return None


def _similar(a: str, b: str) -> bool:
    sa, sb = set(a.split()), set(b.split())
    return a == b or (bool(sa) and bool(sb) and len(sa & sb) / len(sa | sb) >= 0.8)


def degenerate_items(review: ReviewForm) -> dict[str, dict[int, str]]:
    """{"Strengths"/"Weaknesses": {index: why}} for every unusable item: non-words, too short,
    a repeat of an earlier item of the same list, or an item also in the other list. An empty
    list is reported as index -1."""
    lists = {"Strengths": review.strengths, "Weaknesses": review.weaknesses}
    found: dict[str, dict[int, str]] = {name: {} for name in lists}
    normal = {name: [_normal(i) for i in items] for name, items in lists.items()}
    for name, items in lists.items():
        other = normal["Weaknesses" if name == "Strengths" else "Strengths"]
        for i, item in enumerate(items):
            why = item_problem(item)
            if why is None and any(_similar(normal[name][i], earlier) for earlier in normal[name][:i]):
                why = "repeats an earlier item of the same list"
            if why is None and any(_similar(normal[name][i], o) for o in other):
                why = f"also listed as a {'weakness' if name == 'Strengths' else 'strength'}"
            if why is not None:
                found[name][i] = why
        if not items:
            found[name][-1] = "empty: give 1 to 3 specific points"
    return {name: problems for name, problems in found.items() if problems}


def describe_problems(problems: dict[str, dict[int, str]], review: ReviewForm) -> str:
    lists = {"Strengths": review.strengths, "Weaknesses": review.weaknesses}
    lines = []
    for name, items in problems.items():
        for i, why in items.items():
            lines.append(f"- {name}: {why}" if i < 0 else f"- {name} item {i + 1} ({lists[name][i][:80]!r}): {why}")
    return "\n".join(lines)


def without_degenerate(review: ReviewForm) -> tuple[ReviewForm, list[str]]:
    """The review with its unusable Strengths/Weaknesses items removed, and the removed items."""
    problems = degenerate_items(review)
    dropped: list[str] = []
    kept: dict[str, list[str]] = {}
    for name, items in (("Strengths", review.strengths), ("Weaknesses", review.weaknesses)):
        bad = problems.get(name, {})
        kept[name] = [item for i, item in enumerate(items) if i not in bad]
        dropped += [f"{name}: {item}" for i, item in enumerate(items) if i in bad]
    return review.model_copy(update={"strengths": kept["Strengths"], "weaknesses": kept["Weaknesses"]}), dropped
