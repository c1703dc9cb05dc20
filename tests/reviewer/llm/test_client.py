"""ModelClient against litellm's mock_response: the real litellm path with no provider."""
import asyncio

import litellm
import pytest
from pydantic import BaseModel

from reviewer.llm import ModelClient, ModelError, StructuredOutputError
from reviewer.llm.scripted import ScriptedModelClient

MSG = [{"role": "user", "content": "hi"}]


class Answer(BaseModel):
    value: int
    label: str


def test_completion_records_tokens_cost_and_latency(tmp_path):
    client = ModelClient("gpt-4o", litellm_kwargs={"mock_response": "hello"}, cache_dir=tmp_path)
    resp = client.complete(MSG, purpose="greet")
    assert resp.text == "hello"
    u = resp.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0
    expected = litellm.cost_per_token("gpt-4o", prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens)
    assert u.cost_usd == pytest.approx(sum(expected))
    assert u.cost_usd > 0 and u.latency_s >= 0 and u.purpose == "greet"
    assert client.usage.total_cost_usd == pytest.approx(u.cost_usd)


def test_cache_returns_without_a_call(tmp_path, monkeypatch):
    client = ModelClient("gpt-4o", litellm_kwargs={"mock_response": "cached answer"}, cache_dir=tmp_path)
    first = client.complete(MSG)
    calls = []
    monkeypatch.setattr(litellm, "completion", lambda **kw: calls.append(kw))
    again = ModelClient("gpt-4o", litellm_kwargs={"mock_response": "cached answer"}, cache_dir=tmp_path)
    second = again.complete(MSG)
    assert calls == []  # no provider call at all
    assert second.text == first.text and second.usage.cached
    # a cached answer is paid nothing the second time, but the call's cost stays on record
    assert again.usage.total_paid_usd == 0.0 and second.usage.paid_usd == 0.0
    assert again.usage.total_cost_usd == pytest.approx(first.usage.cost_usd) and first.usage.cost_usd > 0


def test_cache_key_covers_the_whole_request(tmp_path):
    client = ModelClient("gpt-4o", litellm_kwargs={"mock_response": "a"}, cache_dir=tmp_path)
    client.complete(MSG)
    for changed in (dict(temperature=0.9), dict(max_tokens=7), dict(sample=1)):
        assert not client.complete(MSG, **changed).usage.cached
    assert not client.complete([{"role": "user", "content": "other"}]).usage.cached
    assert client.complete(MSG).usage.cached


def test_local_model_cost_is_zero_and_needs_no_server_for_recorded_reply(tmp_path):
    client = ModelClient("local/smollm2", litellm_kwargs={"mock_response": "ok"}, cache_dir=tmp_path)
    resp = client.complete(MSG)
    assert resp.text == "ok" and resp.usage.cost_usd == 0.0


def test_unknown_local_model_is_refused_at_once():
    with pytest.raises(Exception, match="unknown embedded model"):
        ModelClient("local/no-such-model")


def _flaky(errors):
    """litellm.completion that raises each of `errors` once, then answers for real (mocked)."""
    real = litellm.completion
    pending = list(errors)
    seen = []

    def completion(**kwargs):
        seen.append(kwargs)
        if pending:
            return real(**{**kwargs, "mock_response": pending.pop(0)})
        return real(**{**kwargs, "mock_response": "recovered"})

    return completion, seen


@pytest.mark.parametrize("error", [
    litellm.RateLimitError("429 slow down", llm_provider="openai", model="gpt-4o"),
    litellm.Timeout("timed out", llm_provider="openai", model="gpt-4o"),
    litellm.InternalServerError("502", llm_provider="openai", model="gpt-4o"),
])
def test_retries_transient_errors_with_backoff(monkeypatch, tmp_path, error):
    completion, seen = _flaky([error, error])
    monkeypatch.setattr(litellm, "completion", completion)
    client = ModelClient("gpt-4o", cache_dir=tmp_path, backoff_s=0.01, max_retries=3)
    resp = client.complete(MSG)
    assert resp.text == "recovered"
    assert len(seen) == 3 and resp.usage.attempts == 3


def test_gives_up_after_max_retries_with_a_clear_error(tmp_path):
    err = litellm.RateLimitError("429 slow down", llm_provider="openai", model="gpt-4o")
    client = ModelClient("gpt-4o", litellm_kwargs={"mock_response": err}, cache_dir=tmp_path,
                         backoff_s=0.001, max_retries=2)
    with pytest.raises(ModelError, match="RateLimitError after 3 attempt"):
        client.complete(MSG)


def test_non_transient_error_is_not_retried(tmp_path):
    err = litellm.AuthenticationError("bad key", llm_provider="openai", model="gpt-4o")
    client = ModelClient("gpt-4o", litellm_kwargs={"mock_response": err}, cache_dir=tmp_path, backoff_s=0.001)
    with pytest.raises(ModelError, match="refused the credentials") as caught:
        client.complete(MSG)
    assert type(caught.value).__name__ == "ModelAuthError"


def test_async_retries_too(monkeypatch, tmp_path):
    real = litellm.acompletion
    pending = [litellm.RateLimitError("429", llm_provider="openai", model="gpt-4o")]

    async def acompletion(**kwargs):
        mock = pending.pop(0) if pending else "async ok"
        return await real(**{**kwargs, "mock_response": mock})

    monkeypatch.setattr(litellm, "acompletion", acompletion)
    client = ModelClient("gpt-4o", cache_dir=tmp_path, backoff_s=0.001)
    resp = asyncio.run(client.acomplete(MSG))
    assert resp.text == "async ok" and resp.usage.attempts == 2


def test_structured_output_is_repaired_by_reasking():
    replies = iter([
        "Sure, here it is: {\"value\": 11",  # truncated JSON
        '```json\n{"value": "eleven", "label": "x"}\n```',  # wrong type
        '```json\n{"value": 11, "label": "eleven"}\n```',
    ])
    client = ScriptedModelClient(lambda m, p: next(replies))
    answer = client.complete_structured(MSG, Answer, purpose="answer")
    assert answer == Answer(value=11, label="eleven")
    assert len(client.requests) == 3
    # the validation error was fed back to the model on the last try
    last_messages = client.requests[-1][1]
    assert "value" in last_messages[-1]["content"] and "could not be used" in last_messages[-1]["content"]


def test_structured_output_gives_a_clear_error_after_the_retries():
    client = ScriptedModelClient(lambda m, p: "I refuse to answer in JSON.")
    with pytest.raises(StructuredOutputError, match="no valid Answer after 2 attempts"):
        client.complete_structured(MSG, Answer, max_attempts=2)


def test_bounded_concurrency(monkeypatch, tmp_path):
    real = litellm.acompletion
    active, peak = 0, 0

    async def acompletion(**kwargs):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        return await real(**{**kwargs, "mock_response": "x", "mock_delay": 0})

    monkeypatch.setattr(litellm, "acompletion", acompletion)
    client = ModelClient("gpt-4o", cache_dir=tmp_path, max_concurrency=2)

    async def many():
        await asyncio.gather(*(client.acomplete([{"role": "user", "content": str(i)}]) for i in range(8)))

    asyncio.run(many())
    assert peak == 2 and client.usage.n_calls == 8
