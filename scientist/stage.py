"""Running one stage: time it, measure the model usage it caused, and turn any failure into a
StageStatus instead of an exception (a model's failure is a result, not a crash). A stage that
fails keeps what it had recorded (runs, attempts, incidents): see `keep_record`."""
from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel

from scientist.records import StageStatus

R = TypeVar("R", bound=BaseModel)
log = logging.getLogger(__name__)


class StageAbandoned(Exception):
    """Raised inside a stage when the model decided to abandon the idea."""


class StageInterrupted(Exception):
    """An exception inside a stage, carrying the record the stage had built up to it: the runs,
    attempts and incidents already seen survive the failure (the stage is still marked failed)."""

    def __init__(self, record: BaseModel, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.record, self.cause = record, cause


@contextmanager
def keep_record(partial: Callable[[], BaseModel]) -> Iterator[None]:
    """Any exception in the block becomes StageInterrupted with `partial()`, the record so far."""
    try:
        yield
    except StageInterrupted:
        raise
    except Exception as err:
        raise StageInterrupted(partial(), err) from err


class UsageMeter:
    """Tokens, cost and calls made through some clients since the meter was started."""

    def __init__(self, clients: Iterable[Any]) -> None:
        self.clients = [c for c in dict.fromkeys(clients) if c is not None]
        self.start = {id(c): len(c.usage.calls) for c in self.clients}
        self.t0 = time.monotonic()

    def calls(self) -> list[Any]:
        return [call for c in self.clients for call in c.usage.calls[self.start[id(c)]:]]

    def status(self, status: str, error: str | None = None) -> StageStatus:
        calls = self.calls()
        return StageStatus(
            status=status, error=error, seconds=round(time.monotonic() - self.t0, 3),
            tokens=sum(c.prompt_tokens + c.completion_tokens for c in calls),
            # the calls' cost, the same whether a reply came from the cache (see CallUsage.paid_usd)
            cost_usd=round(sum(c.cost_usd for c in calls), 6),
            model_calls=len(calls),
        )


def describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def run_stage(
    body: Callable[[], R], clients: Iterable[Any], on_error: Callable[[str], R],
    judge: Callable[[R], tuple[str, str | None]] = lambda r: ("ok", None),
) -> R:
    """Run `body`, then stamp its record with a StageStatus.

    `judge` reads the finished record and says ok/failed/abandoned (and why); an exception from
    `body` makes a record through `on_error` with status failed and the traceback's last line.
    """
    meter = UsageMeter(clients)
    try:
        record = body()
    except KeyboardInterrupt:
        raise
    except Exception as err:  # any failure, the model's or ours, ends this stage only
        cause = err.cause if isinstance(err, StageInterrupted) else err
        record = err.record if isinstance(err, StageInterrupted) else on_error(describe(cause))  # type: ignore[assignment]
        log.warning("stage failed: %s", describe(cause).splitlines()[0][:300])  # to the terminal and bench.log
        tb = "".join(traceback.format_exception(cause, limit=3))
        record.stage = meter.status("failed", f"{describe(cause)}\n{tb[-1500:]}")  # type: ignore[attr-defined]
        return record
    status, error = judge(record)
    record.stage = meter.status(status, error)  # type: ignore[attr-defined]
    return record
