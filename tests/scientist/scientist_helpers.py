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


IDEA = {"name": "step_size_sweep", "title": "Step Sizes and Convergence on Quadratics",
        "experiment": "Run LR=0.3 then LR=0.45 and compare the final loss with the baseline LR=0.1.",
        "interestingness": 4, "feasibility": 9, "novelty": 3}


def edit(path: str, search: str, replace: str, tail: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n\n{tail}"


def science_script() -> dict[str, list[str]]:
    return {
        "ideas": [json.dumps(IDEA), json.dumps({**IDEA, "done": True})],
        "novelty": [json.dumps({"thought": "No paper sweeps this exact toy setting.", "decision": "novel", "query": ""})],
        "experiments": [
            "Run 1: learning rate 0.3.\n" + edit("experiment.py", "LR = 0.1", "LR = 0.3", "ACTION: RUN"),
            "Run 2: learning rate 0.45.\n" + edit("experiment.py", "LR = 0.3", "LR = 0.45", "ACTION: RUN"),
            "Both step sizes converge faster than the baseline.\n"
            + edit("notes.txt", "Description: the unmodified template code.",
                   "Description: the unmodified template code.\nObservation: larger steps converge faster.",
                   "ACTION: STOP"),
        ],
        "plots": [
            edit("plot.py", 'labels = {"run_0": "Baseline"}',
                 'labels = {"run_0": "Baseline", "run_1": "LR 0.3", "run_2": "LR 0.45"}', ""),
            json.dumps({"descriptions": {"loss.png": "Loss per step, log scale, for the three step sizes."}}),
        ],
        "citations": [json.dumps({"selected": [0]}), json.dumps({"thought": "enough", "done": True, "query": ""})],
        "writeup": [
            "```latex\nLarger gradient steps reach a lower final loss on a quadratic.\n```",
            "```latex\n\\section{Introduction}\nStep sizes matter \\citep{robbins1951stochastic, power2022grokking, made2099up}.\n```",
            "```latex\nFigure~\\ref{fig:loss} shows the loss.\n\\begin{figure}[h]\\centering"
            "\\includegraphics[width=0.6\\linewidth]{loss.png}\\caption{Loss per step.}\\label{fig:loss}\\end{figure}\n```",
        ],
        "review": [review_json(overall=5)],
    }
