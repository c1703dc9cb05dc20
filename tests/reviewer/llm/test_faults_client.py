"""The client under faults: only accepted replies are cached, the key covers every sampling
parameter, costs stay honest on cached reruns, and non-transient errors fail at once."""
import asyncio
import json

import litellm
import pytest
from pydantic import BaseModel

from reviewer.llm import ModelClient, ModelError
from reviewer.llm.cache import ResponseCache
from reviewer.llm.scripted import RecordedReplyMissing, ScriptedModelClient
from reviewer.retry import RetriesExhausted, RetryPolicy, Transient

MSG = [{"role": "user", "content": "hi"}]


class Answer(BaseModel):
    value: int


def _counting(monkeypatch, replies):
    """litellm.completion answering each call with the next of `replies` (mocked provider)."""
    real, calls = litellm.completion, []

    def completion(**kwargs):
        calls.append(kwargs)
        return real(**{**kwargs, "mock_response": replies[min(len(calls), len(replies)) - 1]})

    monkeypatch.setattr(litellm, "completion", completion)
    return calls


def test_invalid_structured_replies_are_never_cached(monkeypatch, tmp_path):
    calls = _counting(monkeypatch, ["not json at all", '{"value": 7}'])
    client = ModelClient("gpt-4o", cache_dir=tmp_path)
    assert client.complete_structured(MSG, Answer).value == 7
    entries = [json.loads(p.read_text()) for p in tmp_path.rglob("*.json")]
    assert [e["text"] for e in entries] == ['{"value": 7}']  # the bad first reply is not kept
    # a rerun: the first request was never answered validly, so it is asked again; the repair
    # turn's (accepted) reply comes from the cache
    calls.clear()
    again = ModelClient("gpt-4o", cache_dir=tmp_path)
    assert again.complete_structured(MSG, Answer).value == 7
    assert len(calls) == 1


def test_a_failed_structured_call_leaves_nothing_in_the_cache(monkeypatch, tmp_path):
    _counting(monkeypatch, ['{"value": "seven"}'])
    client = ModelClient("gpt-4o", cache_dir=tmp_path)
    with pytest.raises(ModelError, match="no valid Answer"):
        client.complete_structured(MSG, Answer, max_attempts=2)
    assert list(tmp_path.rglob("*.json")) == []


def test_cached_reply_that_no_longer_validates_is_dropped(tmp_path):
    from reviewer.llm.structured import schema_for

    client = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": '{"value": "x"}'})
    schema = schema_for(Answer)
    key, _ = client._prepare(client._structured_messages(MSG, schema), None, None, schema, 0)
    ResponseCache(tmp_path).put(key, {"text": '{"value": "x"}', "usage": {"model": "gpt-4o"}})  # e.g. an old version's
    with pytest.raises(ModelError):
        client.complete_structured(MSG, Answer, max_attempts=1)
    assert client.usage.calls[0].cached
    assert list(tmp_path.rglob("*.json")) == []  # dropped: the next run asks again


@pytest.mark.parametrize("param", [{"top_p": 0.5}, {"seed": 3}, {"stop": ["\n"]}, {"presence_penalty": 0.1}])
def test_cache_key_covers_every_sampling_parameter(tmp_path, param):
    base = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": "a"})
    base.complete(MSG)
    other = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": "a", **param})
    assert not other.complete(MSG).usage.cached
    assert other.complete(MSG).usage.cached
    # time-outs and retries change no reply: same key
    same = ModelClient("gpt-4o", cache_dir=tmp_path, timeout_s=5, max_retries=1, litellm_kwargs={"mock_response": "a"})
    assert same.complete(MSG).usage.cached


def test_cache_key_covers_the_endpoint(tmp_path):
    ModelClient("openai/m", api_base="http://127.0.0.1:1/v1", cache_dir=tmp_path,
                litellm_kwargs={"mock_response": "a"}).complete(MSG)
    other = ModelClient("openai/m", api_base="http://127.0.0.1:2/v1", cache_dir=tmp_path,
                        litellm_kwargs={"mock_response": "a"})
    assert not other.complete(MSG).usage.cached


def test_bench_no_cache_env_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_NO_CACHE", "1")
    client = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": "a"})
    client.complete(MSG)
    assert not client.complete(MSG).usage.cached and not list(tmp_path.rglob("*.json"))


def test_cached_rerun_reports_the_same_cost_and_pays_nothing(tmp_path):
    first = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": "answer"})
    first.complete(MSG)
    again = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": "answer"})
    again.complete(MSG)
    assert again.usage.total_cost_usd == pytest.approx(first.usage.total_cost_usd) and first.usage.total_cost_usd > 0
    assert first.usage.total_paid_usd == pytest.approx(first.usage.total_cost_usd)
    assert again.usage.total_paid_usd == 0.0


@pytest.mark.parametrize("text", ["", "{not json", '{"text": 3}', '["a list"]', '{"text": "x", "usage": {}}'])
def test_corrupt_cache_entry_is_skipped_with_a_warning(tmp_path, caplog, text):
    client = ModelClient("gpt-4o", cache_dir=tmp_path, litellm_kwargs={"mock_response": "fresh"})
    key, _ = client._prepare(MSG, None, None, None, 0)
    path = ResponseCache(tmp_path)._path(key)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with caplog.at_level("WARNING"):
        resp = client.complete(MSG)
    assert resp.text == "fresh" and not resp.usage.cached
    assert "unreadable entry" in caplog.text
    assert json.loads(path.read_text())["text"] == "fresh"  # replaced by a good entry


def test_a_missing_recorded_reply_fails_at_once_with_its_own_message():
    client = ScriptedModelClient(["only one"], max_retries=5, backoff_s=10.0)
    assert client.complete(MSG).text == "only one"
    with pytest.raises(RecordedReplyMissing, match="no reply left"):
        client.complete(MSG)  # not "InternalServerError after 6 attempts", and no 10 s back-off


def test_bad_request_is_not_retried_and_says_so(tmp_path):
    err = litellm.BadRequestError("context too long", model="gpt-4o", llm_provider="openai")
    client = ModelClient("gpt-4o", litellm_kwargs={"mock_response": err}, cache_dir=tmp_path, backoff_s=5.0)
    with pytest.raises(ModelError, match="request rejected") as caught:
        client.complete(MSG)
    assert type(caught.value).__name__ == "ModelRequestError"


def test_an_unreachable_endpoint_is_infrastructure_after_bounded_retries(tmp_path):
    from reviewer.cli_support import ExitCode, exit_code_for

    client = ModelClient("openai/x", api_base="http://127.0.0.1:9/v1", cache_dir=tmp_path, max_retries=2,
                         backoff_s=0.01, timeout_s=3)
    with pytest.raises(ModelError, match="after 3 attempt") as caught:
        client.complete(MSG)
    assert exit_code_for(caught.value) == ExitCode.INFRASTRUCTURE


def test_sdk_retries_are_off_so_attempts_are_counted_by_one_policy(monkeypatch, tmp_path):
    calls = _counting(monkeypatch, ["x"])
    ModelClient("gpt-4o", cache_dir=tmp_path).complete(MSG)
    assert calls[0]["max_retries"] == 0


def test_retry_policy_is_bounded_and_honours_retry_after():
    sleeps, attempts = [], []

    def flaky():
        attempts.append(1)
        raise Transient("429", retry_after_s=0.5 if len(attempts) == 1 else None)

    policy = RetryPolicy(max_attempts=4, base_s=1.0, max_s=3.0, jitter=False)
    with pytest.raises(RetriesExhausted) as caught:
        policy.call(flaky, lambda e: isinstance(e, Transient), sleep=sleeps.append)
    assert caught.value.attempts == 4 and len(attempts) == 4
    assert sleeps == [0.5, 2.0, 3.0]  # Retry-After, then doubling, capped


def test_retry_policy_does_not_retry_what_is_not_transient():
    attempts = []

    def broken():
        attempts.append(1)
        raise ValueError("bad input")

    with pytest.raises(RetriesExhausted) as caught:
        RetryPolicy(max_attempts=5).call(broken, lambda e: isinstance(e, Transient), sleep=lambda s: None)
    assert caught.value.attempts == 1 and isinstance(caught.value.error, ValueError)


def test_async_retry_policy_counts_attempts():
    state = {"n": 0}

    async def flaky():
        state["n"] += 1
        if state["n"] < 3:
            raise Transient("503")
        return "ok"

    result, attempts = asyncio.run(RetryPolicy(base_s=0.001).acall(flaky, lambda e: isinstance(e, Transient)))
    assert (result, attempts) == ("ok", 3)


def test_retry_policy_never_retries_an_interrupt():
    attempts = []

    def interrupted():
        attempts.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RetryPolicy(max_attempts=5).call(interrupted, lambda e: True, sleep=lambda s: None)
    assert len(attempts) == 1
