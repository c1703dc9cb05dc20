"""A real llama.cpp server with the embedded SmolLM2 model reviews a real PDF."""
import json

import pytest

from reviewer.form import ReviewForm
from reviewer.llm import ModelClient
from reviewer.review_file import review_file
from reviewer.reviewer import ReviewerConfig

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (bash .ci/install)")


@pytest.mark.timeout(900)
def test_embedded_model_reviews_a_real_pdf(shared_data, tmp_path):
    pdf = shared_data / "ai_scientist_papers" / "rl_lr_adaptation.pdf"
    client = ModelClient("local/smollm2", cache_dir=tmp_path)
    record = review_file(pdf, ReviewerConfig(model="local/smollm2", max_tokens=1536), client=client)
    review = record.reviews[0]
    # Schema-valid: re-validating the stored review from its JSON must succeed.
    ReviewForm.model_validate(json.loads(review.model_dump_json(by_alias=True)))
    assert 1 <= record.overall <= 10 and record.decision in ("Accept", "Reject")
    assert record.usage and all(c.cost_usd == 0.0 for c in record.usage)
    assert sum(c.completion_tokens for c in record.usage) > 20
    assert record.paper_truncated  # a 23k-character paper does not fit 8k tokens with the form

    # The same review again comes from the response cache: no model call at all.
    again = ModelClient("local/smollm2", cache_dir=tmp_path)
    repeat = review_file(pdf, ReviewerConfig(model="local/smollm2", max_tokens=1536), client=again)
    assert all(c.cached for c in repeat.usage) and repeat.overall == record.overall
