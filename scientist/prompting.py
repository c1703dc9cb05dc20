"""Small helpers shared by the stage prompts: fitting text into the model's context."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHARS_PER_TOKEN = 3  # conservative for code and LaTeX


class ContextBudget:
    """A client that reports a smaller context window, so that every prompt is cut to fit it:
    slow local models answer far sooner with short prompts. Everything else is the client's."""

    def __init__(self, client: Any, context_tokens: int) -> None:
        self._client = client
        self.context_tokens = min(context_tokens, getattr(client, "context_tokens", None) or context_tokens)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def budget_chars(client: Any, share: float) -> int:
    """How many characters `share` of the model's context window holds."""
    tokens = getattr(client, "context_tokens", None) or 128_000
    return max(500, int(tokens * CHARS_PER_TOKEN * share))


def clip(text: str, limit: int, keep: str = "head") -> str:
    """`text` cut to `limit` characters, saying so; keep the head or the tail."""
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit} characters cut ...]\n"
    return text[:limit] + marker if keep == "head" else marker + text[-limit:]


def summarize_final_info(info: dict[str, Any] | None) -> str:
    """A run's results as compact JSON {metric: mean}, in either final_info layout (nested
    AI-Scientist results as `<dataset>/<metric>`); unreadable results as they are."""
    if not info:
        return "(no results)"
    from scientist.templates.final_info import metric_means

    means = metric_means(info)
    return json.dumps(means if means is not None else info, default=str)


def shown(path: Path, max_bytes: int) -> str:
    """A sandbox-writable file for a prompt, read through safe_io under `max_bytes`: one that cannot
    be shown (too big, a link, not a regular file) says why instead, and is never read whole."""
    from scientist.sandbox import safe_io

    try:
        return safe_io.read_text(path, max_bytes=max_bytes)
    except FileNotFoundError:
        return ""
    except OSError as err:
        return f"[{path.name} is not shown: {err.strerror or err}; it cannot be edited either]"
