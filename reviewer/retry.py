"""The one retry policy of the suite (tenacity): bounded attempts, capped exponential back-off
with jitter, a server's Retry-After honoured, and only transient errors retried.

Model calls (`reviewer.llm.client`), the OpenReview fetcher and literature search all use it,
so "how often, how long, which errors" is decided in one place.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

T = TypeVar("T")
log = logging.getLogger(__name__)


class Transient(Exception):
    """A failure worth another attempt (e.g. HTTP 429/5xx), with the server's Retry-After if any."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RetriesExhausted(Exception):
    """The call failed for good: `error` is the last failure, `attempts` how many were made."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        super().__init__(f"{type(error).__name__} after {attempts} attempt(s): {error}")
        self.error, self.attempts = error, attempts


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # the first call plus five retries
    base_s: float = 2.0  # first back-off; doubles each time
    max_s: float = 60.0  # no single wait is longer
    jitter: bool = True  # 50-100% of the nominal wait, so parallel callers do not retry in step

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after_s is not None and retry_after_s >= 0:
            return min(self.max_s, retry_after_s)
        nominal = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return nominal * (0.5 + random.random() / 2) if self.jitter else nominal

    def _wait(self, state: tenacity.RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        return self.delay(state.attempt_number, getattr(err, "retry_after_s", None))

    def _kwargs(self, retry_on: Callable[[BaseException], bool], what: str) -> dict:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            err = state.outcome.exception() if state.outcome else None
            log.info("%s: %s (attempt %d of %d); retrying in %.1f s", what, _short(err),
                     state.attempt_number, self.max_attempts, state.upcoming_sleep)

        def retry(err: BaseException) -> bool:  # a KeyboardInterrupt or a cancelled task is never retried
            return isinstance(err, Exception) and retry_on(err)

        return {"stop": tenacity.stop_after_attempt(max(1, self.max_attempts)), "wait": self._wait,
                "retry": tenacity.retry_if_exception(retry), "reraise": True, "before_sleep": before_sleep}

    def call(self, fn: Callable[[], T], retry_on: Callable[[BaseException], bool], *, what: str = "call",
             sleep: Callable[[float], None] = time.sleep) -> tuple[T, int]:
        """`fn()` and the number of attempts it took; RetriesExhausted when it fails for good."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        try:
            return tenacity.Retrying(sleep=sleep, **self._kwargs(retry_on, what))(attempt), attempts
        except Exception as err:
            raise RetriesExhausted(err, attempts) from err

    async def acall(self, fn: Callable[[], Awaitable[T]], retry_on: Callable[[BaseException], bool], *,
                    what: str = "call") -> tuple[T, int]:
        attempts = 0

        async def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return await fn()

        try:
            return await tenacity.AsyncRetrying(**self._kwargs(retry_on, what))(attempt), attempts
        except Exception as err:
            raise RetriesExhausted(err, attempts) from err


def _short(err: BaseException | None) -> str:
    text = str(err).splitlines()[0] if err is not None and str(err) else ""
    return f"{type(err).__name__}: {text[:200]}" if err is not None else "failed"
