"""The demo's scripted scientist: recorded replies per purpose, with the harness's real results
filled in where a reply quotes a number (`{{run_N:dataset/metric:format}}`)."""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from scientist.templates.final_info import metric_means

SCRIPTED_MODEL = "scripted-replies:demo"  # the name on records and the board: not a model
LITELLM_NAME = "openai/scripted-replies-demo"  # only to route the replies through litellm's mock path
_NUMBER = re.compile(r"\{\{run_(\d+):([^:{}]+):([^{}]*)\}\}")
_SECTION = re.compile(r'Write the "([^"]+)" section')


def load_replies(path: Path | None = None) -> dict[str, Any]:
    text = path.read_text() if path else resources.files("benchmark.demo").joinpath("replies.json").read_text()
    return json.loads(text)


class DemoResponder:
    """`responder(messages, purpose)` for ScriptedModelClient. `results_root` is searched for
    `code/run_N/final_info.json`, the runs whose numbers the write-up quotes."""

    def __init__(self, results_root: Path, replies: dict[str, Any] | None = None) -> None:
        self.root = Path(results_root)
        self.replies = replies or load_replies()
        self.queues = {k: list(v) for k, v in self.replies.items() if isinstance(v, list)}
        self.calls: list[str] = []

    def _means(self, run: int) -> dict[str, float]:
        for path in sorted(self.root.rglob(f"code/run_{run}/final_info.json")):
            try:
                means = metric_means(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
            if means:
                return means
        raise LookupError(f"no results of run_{run} under {self.root}")

    def fill(self, text: str) -> str:
        def number(m: re.Match[str]) -> str:
            return format(self._means(int(m.group(1)))[m.group(2)], m.group(3) or "g")

        return _NUMBER.sub(number, text)

    def __call__(self, messages: list[dict[str, str]], purpose: str) -> str | BaseException:
        key = purpose.split("[")[0].strip()
        self.calls.append(purpose)
        if key == "writeup":
            m = _SECTION.search(messages[-1]["content"])
            text = self.replies["writeup"].get(m.group(1)) if m else None
            if text is None:
                return RuntimeError(f"the demo script has no reply for {purpose!r}")
        else:
            queue = self.queues.get(key)
            if not queue:
                return RuntimeError(f"the demo script has no reply left for {purpose!r}")
            text = queue.pop(0)
        try:
            return self.fill(text)
        except (LookupError, KeyError) as err:
            return RuntimeError(f"the demo script quotes a result that does not exist: {err}")
