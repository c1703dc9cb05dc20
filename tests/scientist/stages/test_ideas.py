"""Idea generation: schema-validated ideas, reflection rounds, unique names, failed slots, resume."""
from __future__ import annotations

import json

import pytest
from scientist_helpers import FIXTURES

from scientist.pipeline import PipelineConfig, generate_ideas
from scientist.records import Idea, IdeasRecord, slugify

TEMPLATE = FIXTURES / "tiny_template"
PROPOSAL = {"name": "Learning Rate!", "title": "Step sizes", "experiment": "Sweep LR over 0.1..0.45.",
            "interestingness": 4, "feasibility": 9, "novelty": 9}


def config(tmp_path, client, **kw):  # type: ignore[no-untyped-def]
    return PipelineConfig(model="gpt-4o", template=str(TEMPLATE), out_dir=tmp_path / "out",
                          client_factory=lambda m: client, **kw)


def test_reflection_improves_idea_and_names_are_unique(tmp_path, scripted_client):
    reflected = {**PROPOSAL, "novelty": 3, "done": False}
    final = {**PROPOSAL, "experiment": "Sweep LR and STEPS.", "novelty": 2, "done": True}
    second = {**PROPOSAL, "title": "Step counts"}
    client, script = scripted_client({"ideas": [json.dumps(PROPOSAL), json.dumps(reflected), json.dumps(final),
                                                json.dumps(second), json.dumps({**second, "done": True})]})
    ideas = generate_ideas(config(tmp_path, client, n_ideas=2, idea_reflections=3))
    assert [i.name for i in ideas] == ["learning_rate_2", "learning_rate_3"]  # the seed idea holds learning_rate
    assert ideas[0].experiment == "Sweep LR and STEPS." and ideas[0].novelty == 2  # stopped when done
    prompts = script.prompts("ideas")
    assert len(prompts) == 5 and "Round 2 of 3" in prompts[2]
    assert "LR = 0.1" in prompts[0]  # the template code is in the prompt
    assert "learning_rate_2" in prompts[3]  # later ideas see earlier ones
    record = IdeasRecord.model_validate_json((tmp_path / "out" / "ideas.json").read_text())
    assert record.stage.status == "ok" and record.stage.model_calls == 5 and record.stage.tokens > 0


def test_failed_slot_recorded_and_resume_makes_no_call(tmp_path, scripted_client):
    bad = "I cannot think of anything."
    client, script = scripted_client({"ideas": [bad, bad, bad, json.dumps(PROPOSAL)]})
    cfg = config(tmp_path, client, n_ideas=2, idea_reflections=0)
    ideas = generate_ideas(cfg)
    assert [i.name for i in ideas] == ["learning_rate_2"]
    record = IdeasRecord.model_validate_json((tmp_path / "out" / "ideas.json").read_text())
    assert record.failures[0].index == 0 and "StructuredOutputError" in record.failures[0].error
    assert record.stage.status == "ok" and record.stage.error == "1 of 2 idea(s) failed"
    calls = len(script.requests)
    assert generate_ideas(cfg) == ideas and len(script.requests) == calls


def test_copy_of_a_seed_idea_is_a_failed_slot(tmp_path, scripted_client):
    copy = {**PROPOSAL, "name": "lr_again", "title": "Learning rate and  CONVERGENCE on a quadratic"}
    client, _ = scripted_client({"ideas": [json.dumps(copy)]})
    assert generate_ideas(config(tmp_path, client, n_ideas=1, idea_reflections=0)) == []
    record = IdeasRecord.model_validate_json((tmp_path / "out" / "ideas.json").read_text())
    assert "DuplicateIdea" in record.failures[0].error and "repeats an existing one" in record.failures[0].error


def test_no_idea_at_all_is_a_failed_stage(tmp_path, scripted_client):
    client, _ = scripted_client({"ideas": ["{}"] * 3})
    assert generate_ideas(config(tmp_path, client, n_ideas=1, idea_reflections=0)) == []
    record = IdeasRecord.model_validate_json((tmp_path / "out" / "ideas.json").read_text())
    assert record.stage.status == "failed" and "no idea" in record.stage.error


def test_seed_fallback_runs_the_template_idea_but_the_stage_still_failed(tmp_path, scripted_client):
    client, _ = scripted_client({"ideas": ["{}"] * 3})
    (idea,) = generate_ideas(config(tmp_path, client, n_ideas=1, idea_reflections=0, seed_fallback=True))
    assert (idea.name, idea.source, idea.feasibility) == ("learning_rate", "seed", 10)
    record = IdeasRecord.model_validate_json((tmp_path / "out" / "ideas.json").read_text())
    assert record.stage.status == "failed" and "running the template's seed idea 'learning_rate'" in record.stage.error


@pytest.mark.parametrize("raw, slug", [("Adaptive Weight-Decay (v2)", "adaptive_weight_decay_v2"), ("???", "idea")])
def test_slugify(raw, slug):
    assert slugify(raw) == slug


def test_idea_name_must_be_a_safe_directory_name():
    with pytest.raises(ValueError):
        Idea(name="../../etc", title="t", experiment="e", interestingness=1, feasibility=1, novelty=1)
