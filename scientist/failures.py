"""Whose fault a failed stage is: the model's, or the infrastructure's.

An infrastructure error (sandbox or a tool missing, credentials refused, the provider down or
rate-limiting after every retry, a full disk) says nothing about the model under test: the
benchmark shows it apart, does not count it against the model, and a rerun retries the stage.
Stage errors are recorded as text ("ExceptionName: message"), so the classification reads text.
"""
from __future__ import annotations

import re

# (kind, pattern) matched at the start of the error's first line, after a harness prefix: later
# lines and the rest of the line may quote the model's own code or output, which must not be able
# to pass its failure off as the infrastructure's.
_INFRA: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sandbox", re.compile(r"SandboxUnavailable\b")),
    ("tool_missing", re.compile(r"(?:pdflatex|bibtex|chktex) is not installed\b|LatexUnavailable\b")),
    ("auth", re.compile(r"ModelAuthError\b")),
    ("provider", re.compile(r"ModelUnavailable\b|EmbeddedModelError\b")),
    ("disk_full", re.compile(r"OSError: \[Errno 28\]|No space left on device")),
    # the task's worker process or cluster node died (benchmark.executors.worker_lost)
    ("worker_lost", re.compile(r"worker_lost: |(?:WorkerCrashedError|NodeDiedError|OwnerDiedError|"
                               r"LocalRayletDiedError|ObjectLostError|BrokenProcessPool)\b")),
)
# What the stages put before an exception's own text (stage judges, idea generation).
_HARNESS_PREFIX = re.compile(r"^(?:the model call failed: |no idea: |no PDF: |the baseline run failed: )+")


def infra_kind(error: str | None) -> str | None:
    """The kind of infrastructure failure an error text records, or None (the model's own)."""
    if not error:
        return None
    first = _HARNESS_PREFIX.sub("", error.lstrip().splitlines()[0] if error.strip() else "")
    for kind, pattern in _INFRA:
        if pattern.match(first):
            return kind
    return None


def infra_error(error: str | None) -> str | None:
    """`kind: first line of the error` for an infrastructure failure, else None."""
    kind = infra_kind(error)
    if kind is None:
        return None
    return f"{kind}: {error.strip().splitlines()[0][:300]}"
