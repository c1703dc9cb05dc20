"""ModelClient: the one door to every model (litellm), with retries, a response cache, usage
and cost records, bounded concurrency and validated structured output."""
from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Generator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reviewer.llm import embedded
from reviewer.llm.cache import ResponseCache, request_key
from reviewer.llm.structured import JSONExtractionError, bounded_schema, extract_json, schema_for
from reviewer.llm.usage import CallUsage, UsageLog

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

T = TypeVar("T", bound=BaseModel)
Messages = list[dict[str, str]]

# Transient failures worth retrying with back-off; anything else is the caller's problem.
_RETRYABLE = (
    "RateLimitError", "Timeout", "APIConnectionError", "InternalServerError",
    "ServiceUnavailableError", "BadGatewayError",
)


class ModelError(RuntimeError):
    """A model call failed for good (after retries, or for a non-transient reason)."""


class StructuredOutputError(ModelError):
    """The model gave no valid structured reply after the allowed repair attempts."""


def _litellm() -> Any:
    import litellm  # imported lazily: it takes seconds, and `bench --help` should not

    litellm.suppress_debug_info = True
    return litellm


def _retryable(litellm: Any) -> tuple[type[BaseException], ...]:
    return tuple(getattr(litellm, name) for name in _RETRYABLE if hasattr(litellm, name))


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


class ModelClient:
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
        max_retries: int = 5,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
        timeout_s: float = 600.0,
        max_concurrency: int = 4,
        litellm_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.model = model or default_model()
        self.api_base = api_base
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.cache = ResponseCache(cache_dir) if cache else None
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.max_concurrency = max_concurrency
        self.litellm_kwargs = dict(litellm_kwargs or {})
        self.usage = UsageLog()
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        if embedded.is_local(self.model):
            embedded.embedded_model(self.model)  # unknown local names fail here, not mid-run

    # ---- request building -------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        return embedded.is_local(self.model)

    @property
    def context_tokens(self) -> int:
        if self.is_local:
            return embedded.CONTEXT_TOKENS
        try:
            info = _litellm().get_model_info(self.model)
            return int(info.get("max_input_tokens") or info.get("max_tokens") or 128_000)
        except Exception:  # unknown to litellm's map: assume a modern long-context model
            return 128_000

    def _supports_schema(self) -> bool:
        if self.is_local:
            return True
        try:
            return bool(_litellm().supports_response_schema(model=self.model))
        except Exception:
            return False

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
        key_fields = {
            "model": self.model,
            # a local server's port changes every run; a remote base names a different service
            "api_base": None if self.is_local else self.api_base,
            "messages": messages, "temperature": temperature, "max_tokens": max_tokens,
            "response_format": response_format, "sample": sample,
            "mock": repr(self.litellm_kwargs.get("mock_response")) if self.litellm_kwargs else None,
        }
        kwargs: dict[str, Any] = {
            "messages": messages, "temperature": temperature, "max_tokens": max_tokens,
            "timeout": self.timeout_s, **self.litellm_kwargs,
        }
        if response_format is not None:
            kwargs["response_format"] = response_format
        key = request_key(key_fields) if self.cache else None
        return key, kwargs

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
            if self.api_key:
                kwargs["api_key"] = self.api_key

    def _from_cache(self, key: str | None, purpose: str) -> ModelResponse | None:
        if key is None or self.cache is None:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        usage = CallUsage(**{**hit["usage"], "cached": True, "latency_s": 0.0, "purpose": purpose})
        self.usage.add(usage)
        return ModelResponse(hit["text"], usage)

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
            cost_usd=cost, latency_s=round(time.monotonic() - started, 4), attempts=attempts,
        )
        self.usage.add(usage)
        if key is not None and self.cache is not None:
            self.cache.put(key, {"text": text, "usage": usage.model_dump(exclude={"cached", "purpose"})})
        return ModelResponse(text, usage)

    def _delay(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)

    def _give_up(self, err: BaseException, attempts: int) -> ModelError:
        return ModelError(f"{self.model}: {type(err).__name__} after {attempts} attempt(s): {err}")

    # ---- plain completion ----------------------------------------------------------------
    def complete(
        self, messages: Messages, *, temperature: float | None = None, max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None, sample: int = 0, purpose: str = "",
    ) -> ModelResponse:
        key, kwargs = self._prepare(messages, temperature, max_tokens, json_schema, sample)
        cached = self._from_cache(key, purpose)
        if cached is not None:
            return cached
        litellm = _litellm()
        retryable = _retryable(litellm)
        self._resolve_endpoint(kwargs)
        started = time.monotonic()
        for attempt in range(self.max_retries + 1):
            try:
                resp = litellm.completion(**kwargs)
                return self._finish(resp, key, purpose, started, attempt + 1)
            except retryable as err:
                if attempt == self.max_retries:
                    raise self._give_up(err, attempt + 1) from err
                time.sleep(self._delay(attempt))
            except Exception as err:
                raise self._give_up(err, attempt + 1) from err
        raise AssertionError("unreachable")

    def _semaphore(self) -> asyncio.Semaphore:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._semaphores:
            self._semaphores[loop_id] = asyncio.Semaphore(self.max_concurrency)
        return self._semaphores[loop_id]

    async def acomplete(
        self, messages: Messages, *, temperature: float | None = None, max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None, sample: int = 0, purpose: str = "",
    ) -> ModelResponse:
        key, kwargs = self._prepare(messages, temperature, max_tokens, json_schema, sample)
        cached = self._from_cache(key, purpose)
        if cached is not None:
            return cached
        litellm = _litellm()
        retryable = _retryable(litellm)
        if self.is_local and "mock_response" not in kwargs:
            await asyncio.to_thread(embedded.ensure_server, self.model)
        self._resolve_endpoint(kwargs)
        async with self._semaphore():
            started = time.monotonic()
            for attempt in range(self.max_retries + 1):
                try:
                    resp = await litellm.acompletion(**kwargs)
                    return self._finish(resp, key, purpose, started, attempt + 1)
                except retryable as err:
                    if attempt == self.max_retries:
                        raise self._give_up(err, attempt + 1) from err
                    await asyncio.sleep(self._delay(attempt))
                except Exception as err:
                    raise self._give_up(err, attempt + 1) from err
        raise AssertionError("unreachable")

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

    def complete_structured(
        self, messages: Messages, output_model: type[T], *, purpose: str = "", max_attempts: int = 3,
        temperature: float | None = None, max_tokens: int | None = None, sample: int = 0,
    ) -> T:
        turns = self._structured_turns(messages, output_model, max_attempts)
        convo, schema = next(turns)
        while True:
            resp = self.complete(convo, json_schema=schema, temperature=temperature,
                                 max_tokens=max_tokens, sample=sample, purpose=purpose)
            try:
                convo, schema = turns.send(resp.text)
            except StopIteration as done:
                return done.value

    async def acomplete_structured(
        self, messages: Messages, output_model: type[T], *, purpose: str = "", max_attempts: int = 3,
        temperature: float | None = None, max_tokens: int | None = None, sample: int = 0,
    ) -> T:
        turns = self._structured_turns(messages, output_model, max_attempts)
        convo, schema = next(turns)
        while True:
            resp = await self.acomplete(convo, json_schema=schema, temperature=temperature,
                                        max_tokens=max_tokens, sample=sample, purpose=purpose)
            try:
                convo, schema = turns.send(resp.text)
            except StopIteration as done:
                return done.value
