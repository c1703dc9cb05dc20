"""The LLM reviewer: one or more reviews on the NeurIPS form, with optional few-shot examples,
reflection rounds, an ensemble and an area-chair meta-review."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from statistics import mean
from typing import Any

from pydantic import BaseModel, Field

from reviewer.atomic_file import write_text_atomic
from reviewer.fewshot import load_examples, render_examples
from reviewer.form import (
    SCORE_RANGES, Decision, MetaReview, MetaReviewText, Reflection, ReviewForm, degenerate_items,
    describe_problems, without_degenerate,
)
from reviewer.llm import CallUsage, ModelClient, default_model, embedded
from reviewer.llm.usage import collect_usage
from reviewer.prompts import (
    AREA_CHAIR_PROMPT, AREA_CHAIR_SYSTEM, FEWSHOT_HEADER, FORM_INSTRUCTIONS, ITEMS_RETRY_PROMPT, PAPER_TEMPLATE,
    REFLECTION_PROMPT, REVIEWER_SYSTEM, TRUNCATION_NOTE,
)

CHARS_PER_TOKEN = 3.2  # conservative for English prose; keeps truncated papers inside the context
REFLECTION_RESERVE_TOKENS = 1200  # room for the previous review and the reflection prompt


class ReviewerConfig(BaseModel):
    model: str = Field(default_factory=default_model)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    reflections: int = Field(0, ge=0, le=10)
    fewshot: int = Field(0, ge=0, le=10)
    fewshot_dir: Path | None = None
    ensemble: int = Field(1, ge=1, le=20)
    max_tokens: int = Field(2048, ge=256)
    system_prompt: str | None = None  # overrides REVIEWER_SYSTEM (held-out judge prompts)
    max_attempts: int = Field(3, ge=1, le=10)
    # re-asks while Strengths/Weaknesses hold degenerate items; what remains is dropped. One: each
    # re-ask of the embedded model on a 4.5k-token paper costs a whole review's time
    item_reasks: int = Field(1, ge=0, le=5)
    # a second injection signal: this model judges the passages that look addressed to the reviewer
    # (`reviewer.injection.judge`); what it flags is removed and recorded like the pattern findings
    injection_judge: str | None = None
    injection_judge_api_base: str | None = None

    def label(self) -> str:
        """A name in the style of the published review files, e.g. `gpt-4o_temp_0_1_reflect_5`."""
        parts = [self.model.replace("/", "-"), f"temp_{str(self.temperature).replace('.', '_')}"]
        if self.fewshot:
            parts.append(f"fewshot_{self.fewshot}")
        if self.reflections:
            parts.append(f"reflect_{self.reflections}")
        if self.ensemble > 1:
            parts.append(f"ensemble_{self.ensemble}")
        if self.injection_judge:
            parts.append(f"judge_{self.injection_judge.replace('/', '-')}")
        return "_".join(parts)


class ReviewRecord(BaseModel):
    paper_id: str
    model: str
    config: ReviewerConfig
    reviews: list[ReviewForm]
    reflection_rounds: list[int]  # rounds actually run per ensemble member (early stop counts)
    meta: MetaReview | None = None
    overall: float
    decision: Decision
    scores: dict[str, float]  # mean of each numeric field over the ensemble
    p_accept: float | None = None
    calibrated_decision: Decision | None = None
    paper_chars: int
    paper_truncated: bool
    prompt_injection: list[dict[str, Any]] = Field(default_factory=list)
    # the injection judge's record (`reviewer.injection.judge.JudgeVerdict`) when one was asked
    injection_judge: dict[str, Any] | None = None
    # What `reviewer.anonymize` took out before review (None: the text was reviewed as given).
    anonymization: dict[str, Any] | None = None
    usage: list[CallUsage]
    cost_usd: float
    elapsed_s: float
    # Strengths/Weaknesses items still unusable after re-asking (non-words, repeats, in both lists): removed
    dropped_items: list[str] = Field(default_factory=list)
    # set for the embedded model: "smoke-test reviewer: smollm2 (135M parameters) ..."; shown with every score
    reviewer_note: str | None = None
    created_at: str = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def fit_paper(text: str, budget_tokens: int) -> tuple[str, bool]:
    """The paper cut to `budget_tokens` (estimated); keeps the beginning, where claims live."""
    max_chars = max(2000, int(budget_tokens * CHARS_PER_TOKEN))
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars] + "\n\n[... remainder of the paper truncated ...]", True


def build_review_messages(text: str, config: ReviewerConfig, context_tokens: int) -> tuple[list[dict[str, str]], bool]:
    examples = load_examples(config.fewshot, config.fewshot_dir)
    fewshot = f"\n{FEWSHOT_HEADER}\n{render_examples(examples)}\n" if examples else ""
    system = config.system_prompt or REVIEWER_SYSTEM
    overhead = (len(system) + len(FORM_INSTRUCTIONS) + len(fewshot) + 200) / CHARS_PER_TOKEN
    reserve = config.max_tokens + (REFLECTION_RESERVE_TOKENS if config.reflections else 0)
    paper, truncated = fit_paper(text, int(context_tokens - reserve - overhead))
    user = PAPER_TEMPLATE.format(
        instructions=FORM_INSTRUCTIONS, fewshot=fewshot,
        truncation_note=TRUNCATION_NOTE if truncated else "", paper=paper,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], truncated


async def _usable_items(
    client: ModelClient, convo: list[dict[str, str]], review: ReviewForm, config: ReviewerConfig,
    common: dict[str, Any], purpose: str,
) -> tuple[ReviewForm, list[str]]:
    """Re-ask while Strengths/Weaknesses hold degenerate items (at most `item_reasks` times),
    then drop those that remain."""
    for attempt in range(1, config.item_reasks + 1):
        problems = degenerate_items(review)
        if not problems:
            return review, []
        retry = convo + [
            {"role": "assistant", "content": review.model_dump_json(by_alias=True)},
            {"role": "user", "content": ITEMS_RETRY_PROMPT.format(problems=describe_problems(problems, review))},
        ]
        review = await client.acomplete_structured(retry, ReviewForm, purpose=f"{purpose} items {attempt}", **common)
    return without_degenerate(review)


async def _one_review(
    client: ModelClient, messages: list[dict[str, str]], config: ReviewerConfig, member: int,
) -> tuple[ReviewForm, int, list[str]]:
    common = dict(temperature=config.temperature, max_tokens=config.max_tokens,
                  max_attempts=config.max_attempts, sample=member)
    review = await client.acomplete_structured(messages, ReviewForm, purpose=f"review[{member}]", **common)
    review, dropped = await _usable_items(client, messages, review, config, common, f"review[{member}]")
    rounds = 0
    for current in range(1, config.reflections + 1):
        convo = messages + [
            {"role": "assistant", "content": review.model_dump_json(by_alias=True)},
            {"role": "user", "content": REFLECTION_PROMPT.format(current_round=current, num_rounds=config.reflections)},
        ]
        reflection = await client.acomplete_structured(
            convo, Reflection, purpose=f"reflection[{member}] {current}/{config.reflections}", **common)
        review, rounds = reflection.review, current
        review, more = await _usable_items(client, convo, review, config, common, f"reflection[{member}] {current}")
        dropped += more
        if reflection.done:
            break
    return review, rounds, dropped


def mean_scores(reviews: list[ReviewForm]) -> dict[str, float]:
    return {name: round(mean(r.scores()[name] for r in reviews), 4) for name in SCORE_RANGES}


async def _meta_review(client: ModelClient, reviews: list[ReviewForm], config: ReviewerConfig) -> MetaReview:
    scores = mean_scores(reviews)
    rendered = "\n\n".join(
        f"Review {i + 1}:\n{r.model_dump_json(by_alias=True, indent=1)}" for i, r in enumerate(reviews)
    )
    messages = [
        {"role": "system", "content": AREA_CHAIR_SYSTEM},
        {"role": "user", "content": AREA_CHAIR_PROMPT.format(
            n_reviews=len(reviews), mean_overall=scores["Overall"], reviews=rendered)},
    ]
    text = await client.acomplete_structured(
        messages, MetaReviewText, purpose="meta-review", temperature=config.temperature,
        max_tokens=config.max_tokens, max_attempts=config.max_attempts)
    return MetaReview(text=text.metareview, decision=text.decision, scores=scores, n_reviews=len(reviews))


async def areview_paper(
    text: str, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    paper_id: str = "paper",
) -> ReviewRecord:
    config = config or ReviewerConfig()
    client = client or ModelClient(config.model)
    started = time.monotonic()
    if (warm_up := getattr(client, "awarm_up", None)) is not None:
        await warm_up(calls=False)  # the model-map look-up (an API model) off the event loop
    with collect_usage() as calls:  # this paper's calls only, even beside others on one client
        messages, truncated = build_review_messages(text, config, client.context_tokens)
        members = await asyncio.gather(*(_one_review(client, messages, config, i) for i in range(config.ensemble)))
        reviews = [review for review, _, _ in members]
        meta = await _meta_review(client, reviews, config) if len(reviews) > 1 else None
    scores = mean_scores(reviews)
    return ReviewRecord(
        paper_id=paper_id, model=client.model, config=config, reviews=reviews,
        reflection_rounds=[rounds for _, rounds, _ in members], meta=meta,
        dropped_items=[item for _, _, items in members for item in items],
        reviewer_note=embedded.reviewer_note(client.model),
        overall=scores["Overall"], decision=meta.decision if meta else reviews[0].decision,
        scores=scores, paper_chars=len(text), paper_truncated=truncated, usage=calls,
        cost_usd=round(sum(c.cost_usd for c in calls), 6),  # the calls' cost, cached or not
        elapsed_s=round(time.monotonic() - started, 3),
    )


def review_paper(
    text: str, config: ReviewerConfig | None = None, *, client: ModelClient | None = None,
    paper_id: str = "paper",
) -> ReviewRecord:
    return asyncio.run(areview_paper(text, config, client=client, paper_id=paper_id))


def save_record(record: ReviewRecord, path: Path) -> None:
    write_text_atomic(path, record.to_json())


def load_record(path: Path) -> ReviewRecord:
    return ReviewRecord.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
