"""The reviewer's control flow with scripted replies sent through litellm's mock path."""
import json

import pytest

from reviewer.fewshot import load_examples
from reviewer.form import ReviewForm
from reviewer.llm import StructuredOutputError
from reviewer.llm.scripted import ScriptedModelClient
from reviewer.reviewer import ReviewerConfig, build_review_messages, fit_paper, review_paper

REJECT, ACCEPT = (ex.review.model_dump(by_alias=True) for ex in load_examples(2))
PAPER = "# A paper\n\n" + "We propose a method and evaluate it carefully. " * 200


def test_single_review_without_options():
    client = ScriptedModelClient([json.dumps(ACCEPT)])
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o"), client=client, paper_id="p1")
    assert record.overall == 7 and record.decision == "Accept" and record.meta is None
    assert record.scores["Soundness"] == 4 and len(record.usage) == 1 and record.cost_usd > 0
    assert isinstance(record.reviews[0], ReviewForm)


def test_out_of_range_score_is_repaired_by_reasking():
    bad = {**ACCEPT, "Overall": 11}
    missing = {k: v for k, v in ACCEPT.items() if k != "Confidence"}
    client = ScriptedModelClient([json.dumps(bad), json.dumps(missing), json.dumps(ACCEPT)])
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o"), client=client)
    assert record.overall == 7 and len(client.requests) == 3
    feedback = [m["content"] for _, msgs in client.requests[1:] for m in msgs if m["role"] == "user"][-1]
    assert "Confidence" in feedback


def test_invalid_review_is_never_silently_accepted():
    client = ScriptedModelClient(lambda m, p: json.dumps({**ACCEPT, "Soundness": 0}))
    with pytest.raises(StructuredOutputError):
        review_paper(PAPER, ReviewerConfig(model="gpt-4o", max_attempts=2), client=client)


def test_reflection_rounds_are_numbered_and_stop_early_when_done():
    def responder(messages, purpose):
        if purpose.startswith("review"):
            return json.dumps(REJECT)
        round_no = int(purpose.split()[-1].split("/")[0])
        return json.dumps({"thought": "t", "review": {**REJECT, "Overall": 3 + round_no}, "done": round_no == 2})

    client = ScriptedModelClient(responder)
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o", reflections=5), client=client)
    assert record.reflection_rounds == [2] and record.overall == 5
    prompts = [msgs[-1]["content"] for purpose, msgs in client.requests if purpose.startswith("reflection")]
    assert prompts[0].startswith("Round 1 of 5") and prompts[1].startswith("Round 2 of 5")
    assert all("{" not in p.split(".")[0] for p in prompts)  # no unfilled placeholders


def test_ensemble_loops_and_area_chair_aggregates():
    def responder(messages, purpose):
        if purpose == "review[0]":
            return json.dumps(ACCEPT)
        if purpose.startswith("review["):
            return json.dumps(REJECT)
        assert "mean Overall score 5.00" in messages[-1]["content"]
        return json.dumps({"metareview": "Split reviews; the concerns dominate.", "decision": "Reject"})

    client = ScriptedModelClient(responder)
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o", ensemble=3), client=client)
    assert len(record.reviews) == 3 and record.meta is not None
    assert record.overall == pytest.approx((7 + 4 + 4) / 3)
    assert record.meta.scores["Overall"] == pytest.approx(5.0) and record.decision == "Reject"
    assert sorted(p for p, _ in client.requests) == ["meta-review", "review[0]", "review[1]", "review[2]"]


def test_fewshot_examples_are_in_the_prompt():
    messages, _ = build_review_messages(PAPER, ReviewerConfig(model="gpt-4o", fewshot=2), 128_000)
    user = messages[-1]["content"]
    assert "Warm-Restart Label Smoothing" in user and "Gradient Checkpointing" in user
    assert user.count("<example_review>") == 2


def test_long_paper_is_truncated_to_the_context_and_flagged():
    long_paper = "word " * 100_000
    messages, truncated = build_review_messages(long_paper, ReviewerConfig(model="local/smollm2"), 8192)
    assert truncated and len(messages[-1]["content"]) < 8192 * 3.2
    assert fit_paper("short", 1000) == ("short", False)


def test_label_follows_published_file_names():
    config = ReviewerConfig(model="gpt-4o", fewshot=1, reflections=5, ensemble=5)
    assert config.label() == "gpt-4o_temp_0_1_fewshot_1_reflect_5_ensemble_5"


# ---- degenerate Strengths/Weaknesses (seen from the embedded 135M model) ----------------------
def _with_items(strengths, weaknesses):  # type: ignore[no-untyped-def]
    return json.dumps({**REJECT, "Strengths": strengths, "Weaknesses": weaknesses})


GOOD_S = ["The step-size sweep is small but cleanly controlled."]
GOOD_W = ["Only one synthetic task is studied, with three seeds."]


@pytest.mark.parametrize("strengths,weaknesses,problem", [
    (["Srstgthnh", "Trists"], GOOD_W, "not words"),  # what rl_lr_adaptation.pdf got
    (["The paper is clear and well organised.", "The paper is clear and well organised."], GOOD_W, "repeats an earlier"),
    (GOOD_W, GOOD_W, "also listed as a"),  # the same sentence as a strength and a weakness
    (["results results results results results results results"], GOOD_W, "repeats the same words"),
    ([], GOOD_W, "empty"),
])
def test_degenerate_items_are_rejected_and_reasked(strengths, weaknesses, problem):
    client = ScriptedModelClient([_with_items(strengths, weaknesses), _with_items(GOOD_S, GOOD_W)])
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o"), client=client)
    assert len(client.requests) == 2  # asked again, once
    feedback = client.requests[1][1][-1]["content"]
    assert problem in feedback and "1 to 3" in feedback
    assert record.reviews[0].strengths == GOOD_S and record.reviews[0].weaknesses == GOOD_W
    assert record.dropped_items == []


def test_items_still_degenerate_after_reasking_are_dropped_not_shown():
    bad = _with_items(["Srstgthnh", *GOOD_S], [*GOOD_W, GOOD_S[0]])
    client = ScriptedModelClient(lambda m, p: bad)
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o", item_reasks=2), client=client)
    assert len(client.requests) == 3  # the review and two re-asks
    review = record.reviews[0]
    assert review.strengths == [] and review.weaknesses == GOOD_W  # the shared sentence went from both lists
    assert "Strengths: Srstgthnh" in record.dropped_items and f"Weaknesses: {GOOD_S[0]}" in record.dropped_items


def test_one_to_three_items_are_enough_and_a_good_review_is_not_reasked():
    client = ScriptedModelClient([_with_items(GOOD_S, GOOD_W)])
    record = review_paper(PAPER, ReviewerConfig(model="gpt-4o"), client=client)
    assert len(client.requests) == 1 and record.reviews[0].strengths == GOOD_S
    schema = ReviewForm.model_json_schema(by_alias=True)["properties"]
    assert schema["Strengths"]["minItems"] == 1 and "maxItems" not in schema["Strengths"]  # API models may give more


def test_embedded_model_is_labelled_a_smoke_test_reviewer_and_gets_a_repetition_penalty():
    from reviewer.llm.embedded import reviewer_note

    client = ScriptedModelClient([_with_items(GOOD_S, GOOD_W)], model="local/smollm2")
    record = review_paper(PAPER, ReviewerConfig(model="local/smollm2"), client=client)
    assert record.reviewer_note and "smoke-test reviewer" in record.reviewer_note and "135M" in record.reviewer_note
    assert record.reviewer_note == reviewer_note("local/smollm2") and reviewer_note("gpt-4o") is None
    msgs = [{"role": "user", "content": "x"}]
    local, api = ScriptedModelClient(["x"], model="local/smollm2"), ScriptedModelClient(["x"])
    for c in (local, api):
        c._script(msgs, "t")
    assert local._prepare(msgs, None, None, None, 0)[1]["extra_body"]["repeat_penalty"] > 1.0
    assert "extra_body" not in api._prepare(msgs, None, None, None, 0)[1]  # API models: the provider's defaults


def test_review_panel_shows_the_smoke_test_label():
    from rich.console import Console

    from reviewer.cli import render_record

    client = ScriptedModelClient([_with_items(GOOD_S, GOOD_W)], model="local/smollm2")
    record = review_paper(PAPER, ReviewerConfig(model="local/smollm2"), client=client)
    console = Console(record=True, width=200)
    console.print(render_record(record))
    text = console.export_text()
    assert "(smoke-test reviewer)" in text and "135M parameters" in text
