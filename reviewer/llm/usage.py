"""Per-call usage records: tokens, cost and latency of every model call."""
from __future__ import annotations

import threading

from pydantic import BaseModel, Field


class CallUsage(BaseModel):
    model: str
    purpose: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
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

    def since(self, start: int) -> list[CallUsage]:
        """Calls recorded after the first `start` ones: lets a stage measure its own share."""
        with self._lock:
            return list(self.calls[start:])

    @property
    def total_cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls if not c.cached)

    @property
    def total_tokens(self) -> int:
        return sum(c.total_tokens for c in self.calls)

    @property
    def n_calls(self) -> int:
        return len(self.calls)


def summarize(calls: list[CallUsage]) -> dict[str, float]:
    """Totals of a list of calls; cached calls cost nothing the second time."""
    return {
        "calls": len(calls),
        "cached_calls": sum(c.cached for c in calls),
        "prompt_tokens": sum(c.prompt_tokens for c in calls),
        "completion_tokens": sum(c.completion_tokens for c in calls),
        "cost_usd": round(sum(c.cost_usd for c in calls if not c.cached), 6),
        "latency_s": round(sum(c.latency_s for c in calls), 3),
    }
