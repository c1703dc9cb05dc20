"""Novelty check: the model searches the literature and judges whether an idea is new.

The first query is the idea's title, sent before any model call: offline, the check ends at
once with status "unchecked" and costs no tokens.
"""
from __future__ import annotations

from typing import Any

from scientist.stages.literature import LiteratureClient, LiteratureUnavailable, format_hits
from scientist.records import Idea, NoveltyResult, NoveltySearch, NoveltyStep

SYSTEM = """You are an ambitious AI researcher checking whether an idea is novel before spending time on it.
You search the literature round by round and decide. An idea is not novel if a paper already
does essentially the same thing; small differences in setting or scale are not novelty.
Be critical, and decide once you have enough evidence."""

ROUND = """Round {round} of {rounds}.

The idea:
Title: {title}
Experiment: {experiment}

Results of the search "{query}":

{results}

Decide: "novel" or "not_novel" if you are sure, otherwise "search" with a new query
(a paper title, key terms or authors). The last round must end with a decision."""


def check_novelty(
    idea: Idea, client: Any, literature: LiteratureClient, rounds: int = 5,
    max_tokens: int | None = None,
) -> NoveltyResult:
    searches: list[NoveltySearch] = []
    messages: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]
    query = idea.title
    for r in range(1, rounds + 1):
        try:
            hits = literature.search(query)
        except LiteratureUnavailable as err:
            return NoveltyResult(idea_name=idea.name, status="unchecked", novel=None,
                                 reason=f"novelty unchecked: {err}", searches=searches)
        searches.append(NoveltySearch(query=query, n_results=len(hits), titles=[h.title for h in hits]))
        messages.append({"role": "user", "content": ROUND.format(
            round=r, rounds=rounds, title=idea.title, experiment=idea.experiment, query=query,
            results=format_hits(hits))})
        step: NoveltyStep = client.complete_structured(messages, NoveltyStep, purpose="novelty",
                                                       max_tokens=max_tokens)
        messages.append({"role": "assistant", "content": step.model_dump_json()})
        if step.decision != "search":
            return NoveltyResult(idea_name=idea.name, status=step.decision,
                                 novel=step.decision == "novel", reason=step.thought,
                                 searches=searches, source=literature.last_source)
        query = step.query.strip() or idea.title
    return NoveltyResult(idea_name=idea.name, status="unchecked", novel=None,
                         reason=f"no decision after {rounds} rounds", searches=searches,
                         source=literature.last_source)
