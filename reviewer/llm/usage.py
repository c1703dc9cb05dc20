"""Per-call usage records: tokens, cost and latency of every model call."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pydantic import BaseModel, Field

# Lists collecting the calls made in the current context (an asyncio task and the tasks it
# starts, or a thread), so that a paper reviewed beside others on one shared client gets its
# own calls only: a client's log, sliced by position, would mix in its neighbours'.
_collectors: ContextVar[tuple[list, ...]] = ContextVar("usage_collectors", default=())


@contextmanager
def collect_usage() -> Iterator[list[CallUsage]]:
    """The calls made inside the block, by this context only (not by concurrent tasks)."""
    calls: list[CallUsage] = []
    token = _collectors.set(_collectors.get() + (calls,))
    try:
        yield calls
    finally:
        _collectors.reset(token)


class CallUsage(BaseModel):
    model: str
    purpose: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # what the call costs at the provider's prices, cached or not
    paid_usd: float = 0.0  # what was spent on it this time: 0 for a cached reply
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 1  # transport attempts, including retried rate limits / time-outs

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageLog(BaseModel):
    """Every call made through one client, in order. Safe to append from several threads."""

    calls: list[CallUsage] = Field(default_factory=list)

    def model_post_init(self, _context: object) -> None:
        self._lock = threading.Lock()

    def add(self, usage: CallUsage) -> None:
        with self._lock:
            self.calls.append(usage)
        for collector in _collectors.get():
            collector.append(usage)

    def since(self, start: int) -> list[CallUsage]:
        """Calls recorded after the first `start` ones: lets a stage measure its own share."""
        with self._lock:
            return list(self.calls[start:])

    @property
    def total_cost_usd(self) -> float:
        """The cost of the work, the same whether replies came from the cache or not."""
        return sum(c.cost_usd for c in self.calls)

    @property
    def total_paid_usd(self) -> float:
        return sum(c.paid_usd for c in self.calls)

    @property
    def total_attempts(self) -> int:
        return sum(c.attempts for c in self.calls)

    @property
    def total_tokens(self) -> int:
        return sum(c.total_tokens for c in self.calls)

    @property
    def n_calls(self) -> int:
        return len(self.calls)


def summarize(calls: list[CallUsage]) -> dict[str, float]:
    """Totals of a list of calls: `cost_usd` is the cost of the calls, `paid_usd` what was spent
    this time (cached replies cost nothing the second time)."""
    return {
        "calls": len(calls),
        "cached_calls": sum(c.cached for c in calls),
        "prompt_tokens": sum(c.prompt_tokens for c in calls),
        "completion_tokens": sum(c.completion_tokens for c in calls),
        "cost_usd": round(sum(c.cost_usd for c in calls), 6),
        "paid_usd": round(sum(c.paid_usd for c in calls), 6),
        "attempts": sum(c.attempts for c in calls),
        "latency_s": round(sum(c.latency_s for c in calls), 3),
    }
