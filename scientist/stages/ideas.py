"""Idea generation: N ideas as schema-validated JSON, each improved over reflection rounds."""
from __future__ import annotations

import json
from typing import Any

from scientist.prompting import budget_chars, clip
from scientist.records import (
    Idea,
    IdeaFailure,
    IdeaProposal,
    IdeaReflection,
    IdeasRecord,
    slugify,
)

FIRST = """{task}

The experiment code you can modify:
<experiment.py>
{code}
</experiment.py>

Ideas that already exist (do not repeat them):
{previous}

Come up with the next impactful and creative research idea that can be investigated by
modifying this code. You have no access to additional resources or datasets, and the runs are
small, so the idea must be feasible with this code and budget. It should have significance
beyond this particular dataset and model.

Give: a short lowercase identifier (name), a paper title, a concrete experiment plan (what
to change in experiment.py and what to compare), and honest 1-10 ratings of
interestingness, feasibility and novelty."""

REFLECT = """Round {round} of {rounds}. Reconsider the idea you just proposed: its quality,
novelty and feasibility with this code, whether the plan is clear and concrete, and whether
the ratings are honest (not inflated). Give the improved idea. If there is nothing to
improve, repeat it unchanged and set done to true."""


def _seed_names(seeds: list[Any]) -> set[str]:
    names = set()
    for s in seeds:
        if isinstance(s, dict):
            name = s.get("name") or s.get("Name")
            if name:
                names.add(slugify(str(name)))
    return names


class DuplicateIdea(ValueError):
    """The model gave back an idea that already exists (same title)."""


def _title_key(title: str) -> str:
    return " ".join(title.lower().split())


def _titles(ideas: list[Any]) -> set[str]:
    titles = set()
    for i in ideas:
        title = getattr(i, "title", None) or (i.get("Title") or i.get("title") if isinstance(i, dict) else None)
        if title:
            titles.add(_title_key(str(title)))
    return titles


def _unique_name(name: str, taken: set[str]) -> str:
    from scientist.rundir import RESERVED_NAMES  # the run directory's own folders (baseline, model_cache)

    base = slugify(name)
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED_NAMES:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def generate_one(
    client: Any, system: str, task: str, code: str, previous: list[Any], reflections: int,
    taken: set[str], max_tokens: int | None = None, temperature: float | None = 0.75,
) -> Idea:
    prev = "\n".join(json.dumps(p.model_dump() if hasattr(p, "model_dump") else p) for p in previous) or "(none)"
    prompt = FIRST.format(task=task, code=clip(code, budget_chars(client, 0.35)),
                          previous=clip(prev, budget_chars(client, 0.15), keep="tail"))
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    proposal: IdeaProposal = client.complete_structured(
        messages, IdeaProposal, purpose="ideas", max_tokens=max_tokens, temperature=temperature)
    for r in range(1, reflections + 1):
        messages += [{"role": "assistant", "content": proposal.model_dump_json()},
                     {"role": "user", "content": REFLECT.format(round=r, rounds=reflections)}]
        reflected: IdeaReflection = client.complete_structured(
            messages, IdeaReflection, purpose="ideas", max_tokens=max_tokens, temperature=temperature)
        proposal = IdeaProposal(**reflected.model_dump(exclude={"done"}))
        if reflected.done:
            break
    if _title_key(proposal.title) in _titles(previous):
        raise DuplicateIdea(f"the idea repeats an existing one: {proposal.title!r}")
    data = proposal.model_dump()
    data["name"] = _unique_name(proposal.name or proposal.title, taken)
    return Idea(**data)


def extend_ideas(
    record: IdeasRecord, client: Any, system: str, task: str, code: str, seeds: list[Any],
    reflections: int, max_tokens: int | None = None, save: Any = None,
) -> IdeasRecord:
    """Generate ideas until `record.requested` slots are used; a failed slot is recorded, not retried."""
    taken = _seed_names(seeds) | {i.name for i in record.ideas}
    while len(record.ideas) + len(record.failures) < record.requested:
        index = len(record.ideas) + len(record.failures)
        try:
            idea = generate_one(client, system, task, code, list(seeds) + list(record.ideas),
                                reflections, taken, max_tokens=max_tokens)
        except Exception as err:  # a model that cannot produce an idea loses this slot only
            record.failures.append(IdeaFailure(index=index, error=f"{type(err).__name__}: {err}"[:2000]))
        else:
            taken.add(idea.name)
            record.ideas.append(idea)
        if save is not None:
            save(record)
    return record
