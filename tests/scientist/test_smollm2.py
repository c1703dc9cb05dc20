"""The embedded SmolLM2-135M through the real pipeline (llama.cpp server, sandbox, pdflatex).

A 135M model cannot do this work: the point is that every stage ends with a recorded status
and nothing crashes. Slow: minutes on two CPU cores.
"""
from __future__ import annotations

import pytest
from scientist_helpers import offline_fetch

from scientist.stages.literature import LiteratureClient
from scientist.pipeline import PipelineConfig, generate_ideas, run_idea
from scientist.records import IDEA_STAGES, IdeaOutcome, IdeasRecord, RunManifest
from scientist.sandbox import SandboxLimits


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_smollm2_fails_gracefully_with_every_stage_recorded(tmp_path):
    pytest.importorskip("llama_cpp")
    from reviewer.llm import EmbeddedModelError
    from reviewer.llm.embedded import embedded_model

    try:
        embedded_model("local/smollm2").gguf_path()
    except EmbeddedModelError as err:
        pytest.skip(str(err))
    cfg = PipelineConfig(
        model="local/smollm2", template="grokking", n_ideas=1, out_dir=tmp_path / "out", max_runs=1, max_fixes=1,
        idea_reflections=0, writeup_fix_rounds=0, citation_rounds=0, novelty_rounds=1, max_tokens=200,
        context_tokens=2048, seed_fallback=True,
        experiment_args=["--smoke", "--seeds", "1"], sandbox_limits=SandboxLimits(wall_time_s=120),
        reviewer_kwargs={"max_tokens": 256}, literature=LiteratureClient(cache_dir=tmp_path / "lit", fetch=offline_fetch))
    ideas = generate_ideas(cfg)
    record = IdeasRecord.model_validate_json((tmp_path / "out" / "ideas.json").read_text())
    assert record.stage is not None and record.stage.status in ("ok", "failed")
    model_ideas = [i for i in record.ideas if i.source == "model"]
    assert len(model_ideas) + len(record.failures) == 1  # the one slot asked of the model
    assert record.stage.model_calls >= 1 or "Error" in record.failures[0].error  # a call made, or why not
    # whatever the ideas stage made of it, the later stages run on an idea (the seed one if need be)
    idea = ideas[0]
    assert idea.source == "model" or (idea.source == "seed" and record.failures)  # seed only as fallback
    outcome = run_idea(cfg, idea)
    assert set(outcome.stages) == set(IDEA_STAGES)
    for name, stage in outcome.stages.items():
        assert stage.status in ("ok", "failed", "skipped", "abandoned"), name
        if stage.status in ("failed", "skipped", "abandoned"):
            assert stage.error, f"{name} {stage.status} without a reason"
    assert outcome.stages["novelty"].status == "skipped"  # offline: novelty unchecked, said so
    assert outcome.stages["experiments"].model_calls >= 1 or outcome.stages["experiments"].status == "failed"
    d = tmp_path / "out" / idea.name
    assert IdeaOutcome.model_validate_json((d / "outcome.json").read_text()) == outcome
    for stage in IDEA_STAGES:
        assert (d / f"{stage}.json").exists(), stage
    manifest = RunManifest.model_validate_json((tmp_path / "out" / "manifest.json").read_text())
    assert manifest.outcomes[idea.name]["stages"] == {k: v.status for k, v in outcome.stages.items()}
