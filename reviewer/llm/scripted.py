"""A client whose replies come from a script instead of a provider, for tests and dry runs.

Each reply still travels through litellm (as `mock_response`), so parsing, usage records, cost
accounting and caching are the real ones; only the provider is replaced. A provider error to
simulate is returned as a litellm exception (retried like the real one); any other exception
(e.g. `RecordedReplyMissing`) is a fault of the script and fails the call at once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reviewer.llm.client import ModelError, ModelClient

Responder = Callable[[list[dict[str, str]], str], "str | BaseException"]


class RecordedReplyMissing(ModelError):
    """A replayed run asked for a reply the recording does not have: not transient, never retried."""


def _is_provider_error(err: BaseException) -> bool:
    return type(err).__module__.split(".")[0] in ("litellm", "openai", "httpx")


class ScriptedModelClient(ModelClient):
    """`responder(messages, purpose)` returns the reply text (or an exception to raise)."""

    def __init__(self, responder: Responder | Iterable[str], model: str = "gpt-4o", **kwargs: Any) -> None:
        kwargs.setdefault("cache", False)
        kwargs.setdefault("backoff_s", 0.0)
        super().__init__(model, **kwargs)
        if callable(responder):
            self._responder: Responder = responder
        else:
            replies = iter(list(responder))

            def next_reply(_messages: list[dict[str, str]], purpose: str) -> str | BaseException:
                return next(replies, RecordedReplyMissing(f"the script has no reply left (call {purpose!r})"))

            self._responder = next_reply
        self.requests: list[tuple[str, list[dict[str, str]]]] = []

    def _prepare(self, messages, temperature, max_tokens, json_schema, sample):  # type: ignore[override]
        key, kwargs = super()._prepare(messages, temperature, max_tokens, json_schema, sample)
        kwargs["mock_response"] = self._pending
        return key, kwargs

    def complete(self, messages, *, purpose: str = "", **kwargs):  # type: ignore[override]
        self._script(messages, purpose)
        return super().complete(messages, purpose=purpose, **kwargs)

    async def acomplete(self, messages, *, purpose: str = "", **kwargs):  # type: ignore[override]
        self._script(messages, purpose)
        return await super().acomplete(messages, purpose=purpose, **kwargs)

    def _script(self, messages: list[dict[str, str]], purpose: str) -> None:
        self.requests.append((purpose, messages))
        self._pending = self._responder(messages, purpose)
        if isinstance(self._pending, BaseException) and not _is_provider_error(self._pending):
            err = self._pending
            if isinstance(err, ModelError):
                raise err
            raise ModelError(f"{self.model}: {type(err).__name__}: {err}") from err
