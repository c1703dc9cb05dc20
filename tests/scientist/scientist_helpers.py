"""Helpers of the pipeline tests (a module with a unique name, so that test files can import it
whatever other conftest.py files the suite holds)."""
from __future__ import annotations

import json
import socket
import urllib.error
from collections import defaultdict
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


class Script:
    """Replies queued per purpose ('review[0]' uses the 'review' queue); records every request."""

    def __init__(self, replies: dict[str, list[str]]) -> None:
        self.queues = {k: list(v) for k, v in replies.items()}
        self.requests: list[tuple[str, list[dict[str, str]]]] = []
        self.used: dict[str, int] = defaultdict(int)

    def __call__(self, messages: list[dict[str, str]], purpose: str) -> str | BaseException:
        self.requests.append((purpose, messages))
        key = purpose.split("[")[0].strip()
        queue = self.queues.get(key)
        if not queue:
            return RuntimeError(f"script has no reply left for purpose {purpose!r}")
        self.used[key] += 1
        return queue.pop(0) if len(queue) > 1 or key not in ("review", "reflection") else queue[0]

    def prompts(self, purpose: str) -> list[str]:
        return [m[-1]["content"] for p, m in self.requests if p.split("[")[0] == purpose]


def recorded_fetch(payloads: dict[str, Path], log: list[str] | None = None):  # type: ignore[no-untyped-def]
    """A fetcher answering each service from a recorded payload file."""

    def fetch(url: str, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], bytes]:
        if log is not None:
            log.append(url)
        for host, path in payloads.items():
            if host in url:
                return 200, {}, path.read_bytes()
        return 404, {}, b"{}"

    return fetch


def offline_fetch(url: str, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], bytes]:
    raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))


def review_json(overall: int = 4, decision: str = "Reject") -> str:
    return json.dumps({
        "Summary": "The paper studies weight decay in grokking.", "Strengths": ["clear setup"],
        "Weaknesses": ["single small task"], "Originality": 2, "Quality": 2, "Clarity": 3, "Significance": 2,
        "Questions": ["does it transfer?"], "Limitations": ["tiny runs"], "Ethical Concerns": False,
        "Soundness": 2, "Presentation": 3, "Contribution": 2, "Overall": overall, "Confidence": 3,
        "Decision": decision,
    })
