"""ModelClient: the one door to every model (litellm), with retries, a response cache, usage
and cost records, bounded concurrency and validated structured output."""
from __future__ import annotations

import asyncio
import functools
import os
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Generator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reviewer.llm import embedded
from reviewer.llm.cache import ResponseCache, request_key
from reviewer.llm.structured import JSONExtractionError, bounded_schema, extract_json, schema_for
from reviewer.llm.usage import CallUsage, UsageLog
from reviewer.retry import RetriesExhausted, RetryPolicy

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

T = TypeVar("T", bound=BaseModel)
Messages = list[dict[str, str]]

# Transient failures worth retrying with back-off; anything else fails at once.
_RETRYABLE = (
    "RateLimitError", "Timeout", "APIConnectionError", "InternalServerError",
    "ServiceUnavailableError", "BadGatewayError",
)
# Request fields that do not change the reply: left out of the cache key.
_NOT_IN_KEY = {"timeout", "api_key", "max_retries", "num_retries", "stream_timeout"}


class ModelError(RuntimeError):
    """A model call failed for good (after retries, or for a non-transient reason)."""


class StructuredOutputError(ModelError):
    """The model gave no valid structured reply after the allowed repair attempts."""


class ModelAuthError(ModelError):
    """The provider refused the credentials: no retry can help."""


class ModelRequestError(ModelError):
    """The provider rejected the request itself (HTTP 400, context too long, unknown model)."""


class ModelUnavailable(ModelError):
    """The endpoint could not be reached or kept failing: infrastructure, not the model's answer."""


def _litellm() -> Any:
    import litellm  # imported lazily: it takes seconds, and `bench --help` should not

    litellm.suppress_debug_info = True
    return litellm


def _litellm_loaded() -> bool:
    """Imported completely by `_litellm` (a module still being imported by another thread is not)."""
    loaded = sys.modules.get("litellm")
    return loaded is not None and getattr(loaded, "suppress_debug_info", False) is True


async def _alitellm() -> Any:
    """litellm for async callers: its first import (3-6 s of CPU) runs in a thread, so the event
    loop keeps serving the other papers' calls meanwhile."""
    if _litellm_loaded():
        return sys.modules["litellm"]
    return await asyncio.to_thread(_litellm)


_LOOKED_UP: set[str] = set()  # models whose map entries below are known in this process


@functools.lru_cache(maxsize=64)
def _context_tokens(model: str) -> int:
    try:
        info = _litellm().get_model_info(model)
        return int(info.get("max_input_tokens") or info.get("max_tokens") or 128_000)
    except Exception:  # unknown to litellm's map: assume a modern long-context model
        return 128_000


@functools.lru_cache(maxsize=64)
def _supports_schema(model: str) -> bool:
    try:
        return bool(_litellm().supports_response_schema(model=model))
    except Exception:
        return False


def _retryable(litellm: Any) -> tuple[type[BaseException], ...]:
    return tuple(getattr(litellm, name) for name in _RETRYABLE if hasattr(litellm, name))


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def cache_disabled_by_env() -> bool:
    return os.environ.get("BENCH_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no")


def default_model() -> str:
    """BENCH_MODEL if set; else a hosted model whose API key is present; else the embedded one."""
    if os.environ.get("BENCH_MODEL"):
        return os.environ["BENCH_MODEL"]
    if os.environ.get("OPENAI_API_KEY"):
        return "gpt-4o"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic/claude-3-5-sonnet-20240620"
    return "local/smollm2"


@dataclass
class ModelResponse:
    text: str
    usage: CallUsage
    cache_key: str | None = field(default=None, repr=False)  # where an accepted reply is stored
    finish_reason: str | None = None  # the provider's: "length" means the reply was cut off at max_tokens


class ModelClient:
    """Defaults for time-out, retries and caching can be set for a whole run through the
    environment: BENCH_TIMEOUT_S, BENCH_MAX_RETRIES, BENCH_BACKOFF_S, BENCH_NO_CACHE=1."""

    def __init__(
        self,
        model: str | None = None,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.1,
        max_tokens: int = 2048,
        cache: bool = True,
        cache_dir: Path | None = None,
        max_retries: int | None = None,
        backoff_s: float | None = None,
        max_backoff_s: float = 60.0,
        timeout_s: float | None = None,
        max_concurrency: int = 4,
        litellm_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.model = model or default_model()
        self.api_base = api_base
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.cache = ResponseCache(cache_dir) if cache and not cache_disabled_by_env() else None
        self.max_retries = int(_env_float("BENCH_MAX_RETRIES", 5)) if max_retries is None else max_retries
        self.backoff_s = _env_float("BENCH_BACKOFF_S", 2.0) if backoff_s is None else backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = _env_float("BENCH_TIMEOUT_S", 600.0) if timeout_s is None else timeout_s
        self.max_concurrency = max_concurrency
        self.litellm_kwargs = dict(litellm_kwargs or {})
        self.usage = UsageLog()
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self.first_call_at: float | None = None  # wall-clock time the first request left (not cached)
        if embedded.is_local(self.model):
            embedded.embedded_model(self.model)  # unknown local names fail here, not mid-run

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_retries + 1, base_s=self.backoff_s, max_s=self.max_backoff_s)

    # ---- request building -------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        return embedded.is_local(self.model)

    @property
    def context_tokens(self) -> int:
        if self.is_local:
            return embedded.CONTEXT_TOKENS
        return _context_tokens(self.model)  # looked up once per model and process

    def _supports_schema(self) -> bool:
        if self.is_local:
            return True
        return _supports_schema(self.model)

    def warm_up(self, *, calls: bool = True) -> None:
        """Look up what request building needs from litellm's model map (API models) and, with
        `calls`, import litellm for the calls to come, now rather than inside the first call.
        Callers that start many calls run it before their clock starts, or `awarm_up` beside other
        start-up work: done on the event loop, the 3-6 s import would hold every paper back."""
        if calls:
            litellm = _litellm()
            # one offline call through litellm's mock path: its first call imports the provider's
            # code (about 0.8 s), which would otherwise delay the first real request
            kwargs: dict[str, Any] = {"messages": [{"role": "user", "content": "warm-up"}], "mock_response": "ok",
                                      "max_tokens": 1}
            self._resolve_endpoint(kwargs)
            try:
                litellm.completion(**kwargs)
            except Exception:  # nothing to learn here: the real calls report their own errors
                pass
        if not self.is_local:
            _context_tokens(self.model)
            _supports_schema(self.model)
            _LOOKED_UP.add(self.model)

    async def awarm_up(self, *, calls: bool = True) -> None:
        needs_import = calls and not _litellm_loaded()
        needs_lookup = not self.is_local and self.model not in _LOOKED_UP
        if needs_import or needs_lookup:  # else nothing to do: no thread hop per paper
            await asyncio.to_thread(self.warm_up, calls=calls)

    def _response_format(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is None:
            return None
        if self.is_local:  # llama.cpp compiles this schema into a grammar
            return {"type": "json_object", "schema": bounded_schema(schema)}
        if self._supports_schema():
            return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema, "strict": False}}
        return None

    def _prepare(
        self, messages: Messages, temperature: float | None, max_tokens: int | None,
        json_schema: dict[str, Any] | None, sample: int,
    ) -> tuple[str | None, dict[str, Any]]:
        temperature = self.temperature if temperature is None else temperature
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        response_format = self._response_format(json_schema)
        kwargs: dict[str, Any] = {
            "messages": messages, "temperature": temperature, "max_tokens": max_tokens,
            "timeout": self.timeout_s, **self.litellm_kwargs,
            # our retry policy is the only one: the provider SDK's own retries would hide attempts
            "max_retries": 0,
        }
        if response_format is not None:
            kwargs["response_format"] = response_format
        if self.is_local:  # llama.cpp's own sampling parameter, sent through the OpenAI body
            kwargs.setdefault("extra_body", {"repeat_penalty": embedded.embedded_model(self.model).repeat_penalty})
        key = request_key(self._key_fields(kwargs, sample)) if self.cache else None
        return key, kwargs

    def _key_fields(self, kwargs: dict[str, Any], sample: int) -> dict[str, Any]:
        """Everything that can change the reply: the model, where it is served, and every request
        parameter sent (top_p, seed, stop, ... included), but not time-outs or credentials."""
        fields: dict[str, Any] = {
            "model": self.model,
            # a local server's port changes every run; a remote base names a different service
            "api_base": None if self.is_local else self.api_base, "sample": sample,
        }
        for name, value in kwargs.items():
            if name in _NOT_IN_KEY:
                continue
            try:
                json.dumps(value)
                fields[name] = value
            except TypeError:  # e.g. an exception given as mock_response
                fields[name] = repr(value)
        return fields

    def _resolve_endpoint(self, kwargs: dict[str, Any]) -> None:
        if self.is_local:
            alias = embedded.embedded_model(self.model).alias
            kwargs["model"] = f"openai/{alias}"
            if "mock_response" not in kwargs:  # a recorded reply needs no server
                kwargs["api_base"] = embedded.ensure_server(self.model)
            kwargs["api_key"] = "local"
        else:
            kwargs["model"] = self.model
            if self.api_base:
                kwargs["api_base"] = self.api_base
                kwargs.setdefault("api_key", self.api_key or os.environ.get("OPENAI_API_KEY") or "none")
            if self.api_key:
                kwargs["api_key"] = self.api_key

    def _from_cache(self, key: str | None, purpose: str) -> ModelResponse | None:
        if key is None or self.cache is None:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        stored = {k: v for k, v in hit["usage"].items() if k in CallUsage.model_fields}
        # the call's cost stays on record; what was paid for it now is nothing
        usage = CallUsage(**{**stored, "cached": True, "paid_usd": 0.0, "latency_s": 0.0, "attempts": 0,
                             "purpose": purpose})
        self.usage.add(usage)
        return ModelResponse(hit["text"], usage, key)

    def _finish(self, resp: Any, key: str | None, purpose: str, started: float, attempts: int) -> ModelResponse:
        text = resp.choices[0].message.content or ""
        tokens = getattr(resp, "usage", None)
        cost = 0.0
        if not self.is_local:
            try:
                cost = float(_litellm().completion_cost(completion_response=resp) or 0.0)
            except Exception:  # model missing from the cost map: record 0 rather than fail the call
                cost = 0.0
        usage = CallUsage(
            model=self.model, purpose=purpose,
            prompt_tokens=int(getattr(tokens, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(tokens, "completion_tokens", 0) or 0),
            cost_usd=cost, paid_usd=cost, latency_s=round(time.monotonic() - started, 4), attempts=attempts,
        )
        self.usage.add(usage)
        return ModelResponse(text, usage, key, getattr(resp.choices[0], "finish_reason", None))

    def accept(self, resp: ModelResponse) -> None:
        """Keep `resp` in the cache: called only for replies that were used (validated)."""
        if resp.cache_key is None or self.cache is None or resp.usage.cached:
            return
        self.cache.put(resp.cache_key, {"text": resp.text, "usage": resp.usage.model_dump(
            exclude={"cached", "purpose", "paid_usd", "latency_s", "attempts"})})

    def reject(self, resp: ModelResponse) -> None:
        """Forget a cached reply that turned out unusable, so the next run asks again."""
        if resp.cache_key is not None and self.cache is not None and resp.usage.cached:
            self.cache.delete(resp.cache_key)

    def _error(self, err: BaseException, attempts: int) -> ModelError:
        """The one message of a failed call, typed by what the caller can do about it."""
        if isinstance(err, ModelError):
            return err
        name = type(err).__name__
        first = (str(err).splitlines() or [""])[0][:500]
        where = f" at {self.api_base}" if self.api_base else ""
        if name in ("AuthenticationError", "PermissionDeniedError"):
            return ModelAuthError(f"{self.model}{where}: the provider refused the credentials ({name}): {first}")
        if name in ("BadRequestError", "ContextWindowExceededError", "NotFoundError",
                    "UnsupportedParamsError", "UnprocessableEntityError"):
            return ModelRequestError(f"{self.model}{where}: request rejected ({name}): {first}")
        if name == "APIConnectionError" or (attempts > 1 and name in _RETRYABLE):
            return ModelUnavailable(f"{self.model}{where}: {name} after {attempts} attempt(s): {first}")
        return ModelError(f"{self.model}{where}: {name} after {attempts} attempt(s): {first}")

    # ---- plain completion ----------------------------------------------------------------
    def complete(
        self, messages: Messages, *, temperature: float | None = None, max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None, sample: int = 0, purpose: str = "",
        cache_reply: bool = True,
    ) -> ModelResponse:
        """One reply. `cache_reply=False`: the caller validates it first and calls `accept`."""
        key, kwargs = self._prepare(messages, temperature, max_tokens, json_schema, sample)
        cached = self._from_cache(key, purpose)
        if cached is not None:
            return cached
        litellm = _litellm()
        retryable = _retryable(litellm)
        self._resolve_endpoint(kwargs)
        started = time.monotonic()
        try:
            resp, attempts = self.retry_policy.call(
                lambda: litellm.completion(**kwargs), lambda e: isinstance(e, retryable), what=self.model)
        except RetriesExhausted as failed:
            raise self._error(failed.error, failed.attempts) from failed.error
        out = self._finish(resp, key, purpose, started, attempts)
        if cache_reply:
            self.accept(out)
        return out

    def _semaphore(self) -> asyncio.Semaphore:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._semaphores:
            self._semaphores[loop_id] = asyncio.Semaphore(self.max_concurrency)
        return self._semaphores[loop_id]

    async def acomplete(
        self, messages: Messages, *, temperature: float | None = None, max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None, sample: int = 0, purpose: str = "",
        cache_reply: bool = True,
    ) -> ModelResponse:
        key, kwargs = self._prepare(messages, temperature, max_tokens, json_schema, sample)
        cached = self._from_cache(key, purpose)
        if cached is not None:
            return cached
        litellm = await _alitellm()
        retryable = _retryable(litellm)
        if self.is_local and "mock_response" not in kwargs:
            await asyncio.to_thread(embedded.ensure_server, self.model)
        self._resolve_endpoint(kwargs)
        async with self._semaphore():
            started = time.monotonic()
            if self.first_call_at is None:
                self.first_call_at = time.time()
            try:
                resp, attempts = await self.retry_policy.acall(
                    lambda: litellm.acompletion(**kwargs), lambda e: isinstance(e, retryable), what=self.model)
            except RetriesExhausted as failed:
                raise self._error(failed.error, failed.attempts) from failed.error
            out = self._finish(resp, key, purpose, started, attempts)
        if cache_reply:
            self.accept(out)
        return out

    # ---- structured output -------------------------------------------------------------
    def _structured_messages(self, messages: Messages, schema: dict[str, Any]) -> Messages:
        if self._supports_schema():
            return list(messages)
        # No decoder-side constraint: state the schema in the prompt and parse tolerantly.
        hint = ("\n\nRespond with a single JSON object (no other text) that matches this JSON "
                f"schema:\n{schema}")
        out = list(messages)
        out[-1] = {**out[-1], "content": out[-1]["content"] + hint}
        return out

    @staticmethod
    def _parse(text: str, output_model: type[T]) -> T:
        return output_model.model_validate(extract_json(text))

    @staticmethod
    def _repair_turn(reply: str, err: Exception) -> Messages:
        if isinstance(err, ValidationError):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in err.errors()[:10]
            )
        else:
            problems = str(err)
        return [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": f"Your reply could not be used: {problems}. "
                                        "Reply again with only the corrected JSON object."},
        ]

    def _structured_turns(
        self, messages: Messages, output_model: type[T], max_attempts: int,
    ) -> Generator[tuple[Messages, dict[str, Any]], str, T]:
        """The repair loop, shared by the sync and async callers: yields each request, receives
        each reply text, returns the validated object or raises after `max_attempts`."""
        schema = schema_for(output_model)
        convo = self._structured_messages(messages, schema)
        last: Exception | None = None
        for _ in range(max_attempts):
            reply = yield convo, schema
            try:
                return self._parse(reply, output_model)
            except (JSONExtractionError, ValidationError) as err:
                last = err
                convo = convo + self._repair_turn(reply, err)
        raise StructuredOutputError(
            f"{self.model}: no valid {output_model.__name__} after {max_attempts} attempts: {last}"
        )

    def _judge_reply(self, turns: Generator[tuple[Messages, dict[str, Any]], str, T],
                     resp: ModelResponse) -> tuple[bool, Any, Any]:
        """Feed one reply to the repair loop: a valid reply is cached (True, object, None); an
        invalid one is never cached, and a cached one that no longer validates is dropped."""
        try:
            convo, schema = turns.send(resp.text)
        except StopIteration as done:
            self.accept(resp)
            return True, done.value, None
        except StructuredOutputError:
            self.reject(resp)
            raise
        self.reject(resp)
        return False, convo, schema

    def complete_structured(
        self, messages: Messages, output_model: type[T], *, purpose: str = "", max_attempts: int = 3,
        temperature: float | None = None, max_tokens: int | None = None, sample: int = 0,
    ) -> T:
        turns = self._structured_turns(messages, output_model, max_attempts)
        convo, schema = next(turns)
        while True:
            resp = self.complete(convo, json_schema=schema, temperature=temperature,
                                 max_tokens=max_tokens, sample=sample, purpose=purpose, cache_reply=False)
            done, convo, schema = self._judge_reply(turns, resp)
            if done:
                return convo  # type: ignore[return-value]

    async def acomplete_structured(
        self, messages: Messages, output_model: type[T], *, purpose: str = "", max_attempts: int = 3,
        temperature: float | None = None, max_tokens: int | None = None, sample: int = 0,
    ) -> T:
        turns = self._structured_turns(messages, output_model, max_attempts)
        convo, schema = next(turns)
        while True:
            resp = await self.acomplete(convo, json_schema=schema, temperature=temperature,
                                        max_tokens=max_tokens, sample=sample, purpose=purpose,
                                        cache_reply=False)
            done, convo, schema = self._judge_reply(turns, resp)
            if done:
                return convo  # type: ignore[return-value]
