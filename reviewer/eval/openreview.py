"""Build a reviewer-evaluation folder (ratings.tsv, pdfs/, papers/) from OpenReview.

ICLR used API v1 up to 2023 (`ICLR.cc/<year>/Conference/-/Blind_Submission`, replies under
`details["directReplies"]`, plain content values) and API v2 from 2024
(`ICLR.cc/<year>/Conference/-/Submission`, replies under `details["replies"]`, content values
wrapped as {"value": ...}, `invitations` lists). The fetcher talks to a `NotesClient`, the two
calls of openreview-py it needs, so tests replay recorded payloads through a fake client.

Resumable: the submission listing is saved as submissions.jsonl, each PDF and text file is
written atomically, and a rerun skips whatever is already on disk.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

API_V1_URL = "https://api.openreview.net"
API_V2_URL = "https://api2.openreview.net"
FIRST_V2_YEAR = 2024
RATING_KEYS = ("rating", "recommendation")  # ICLR 2022/2023 called it "recommendation"


class FetchError(RuntimeError):
    """The fetch cannot go on; the message says why."""


class NotesClient(Protocol):
    def get_all_notes(self, **kwargs: Any) -> list[Any]: ...

    def get_pdf(self, id: str, is_reference: bool = False) -> bytes: ...


@dataclass
class Submission:
    paper_id: str
    number: int
    title: str
    ratings: list[float]
    decision: str  # "" when there is none (withdrawn, desk-rejected, not decided)
    pdf: str = ""
    abstract: str = ""


@dataclass
class FetchSummary:
    year: int
    api: str
    submissions: int = 0
    rated_with_decision: int = 0
    pdfs_downloaded: int = 0
    pdfs_present: int = 0
    texts_written: int = 0
    errors: list[str] = field(default_factory=list)


def api_version(year: int) -> int:
    return 2 if year >= FIRST_V2_YEAR else 1


def submission_invitation(year: int) -> str:
    kind = "Submission" if api_version(year) == 2 else "Blind_Submission"
    return f"ICLR.cc/{year}/Conference/-/{kind}"


def make_client(year: int, *, username: str | None = None, password: str | None = None) -> NotesClient:
    """The real openreview-py client for the year's API (guest access unless credentials are given)."""
    try:
        import openreview
    except ImportError as err:
        raise FetchError(f"openreview-py is not installed ({err}); pip install openreview-py") from None
    try:
        if api_version(year) == 2:
            return openreview.api.OpenReviewClient(baseurl=API_V2_URL, username=username, password=password)
        return openreview.Client(baseurl=API_V1_URL, username=username, password=password)
    except Exception as err:  # network, credentials
        raise FetchError(f"cannot connect to OpenReview: {err}") from None


# ---------------------------------------------------------------- parsing notes of either API
def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _value(content: dict | None, key: str) -> Any:
    value = (content or {}).get(key)
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def _invitations(note: Any) -> list[str]:
    single = _get(note, "invitation")
    return list(_get(note, "invitations") or []) + ([single] if single else [])


def _is(note: Any, suffix: str) -> bool:
    return any(inv.endswith("/-/" + suffix) or inv.endswith("/" + suffix) for inv in _invitations(note))


def parse_rating(value: Any) -> float | None:
    """6, "6", "6: marginally above the acceptance threshold" -> 6.0."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = re.match(r"\s*(\d+(?:\.\d+)?)", str(value))
    return float(match.group(1)) if match else None


def parse_submission(note: Any) -> Submission:
    content = _get(note, "content") or {}
    details = _get(note, "details") or {}
    replies = details.get("directReplies") or details.get("replies") or []
    forum = _get(note, "id")
    ratings, decision = [], ""
    for reply in replies:
        if _get(reply, "replyto") not in (None, forum):  # only direct replies to the paper
            continue
        reply_content = _get(reply, "content") or {}
        if _is(reply, "Official_Review"):
            for key in RATING_KEYS:
                rating = parse_rating(_value(reply_content, key))
                if rating is not None:
                    ratings.append(rating)
                    break
        elif _is(reply, "Decision"):
            decision = str(_value(reply_content, "decision") or "")
    return Submission(
        paper_id=str(forum), number=int(_get(note, "number") or 0), title=str(_value(content, "title") or ""),
        ratings=ratings, decision=decision, pdf=str(_value(content, "pdf") or ""),
        abstract=str(_value(content, "abstract") or ""),
    )


# ---------------------------------------------------------------- politeness
class RateLimiter:
    """At least `interval_s` between calls; retries with exponential back-off on errors."""

    def __init__(self, interval_s: float, *, retries: int = 3, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s, self.retries, self.sleep, self.clock = interval_s, retries, sleep, clock
        self._last = -float("inf")

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for attempt in range(self.retries + 1):
            wait = self._last + self.interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
            self._last = self.clock()
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if attempt == self.retries:
                    raise
                backoff = self.interval_s * 2 ** (attempt + 1) + 1.0
                log.warning("OpenReview call failed (%s); retrying in %.0f s", err, backoff)
                self.sleep(backoff)
        raise AssertionError("unreachable")


# ---------------------------------------------------------------- the fetch
def _write_atomic(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    tmp.replace(path)


def list_submissions(client: NotesClient, year: int, limiter: RateLimiter) -> list[Submission]:
    details = "replies" if api_version(year) == 2 else "directReplies"
    notes = limiter.call(client.get_all_notes, invitation=submission_invitation(year), details=details)
    return sorted((parse_submission(n) for n in notes), key=lambda s: (s.number, s.paper_id))


def write_ratings(path: Path, submissions: list[Submission]) -> int:
    rated = [s for s in submissions if s.ratings and s.decision]
    width = max((len(s.ratings) for s in rated), default=0)
    lines = ["\t".join(["paper_id", *map(str, range(width)), "decision"])]
    for s in rated:
        cells = [f"{r:.1f}" for r in s.ratings] + [""] * (width - len(s.ratings))
        lines.append("\t".join([s.paper_id, *cells, s.decision]))
    _write_atomic(path, "\n".join(lines) + "\n")
    return len(rated)


def _pdf_text(pdf_path: Path) -> str:
    from reviewer.paper_text import load_paper_text

    return load_paper_text(pdf_path)


def fetch_iclr(
    client: NotesClient, year: int, out: str | Path, *, limit: int | None = None, pdfs: bool = True,
    delay_s: float = 1.0, sleep: Callable[[float], None] = time.sleep, progress: bool = True,
    extract_text: Callable[[Path], str] = _pdf_text,
) -> dict:
    """Fetch ICLR `year` into `out`. Returns a summary (counts and per-paper errors)."""
    out = Path(out)
    (out / "pdfs").mkdir(parents=True, exist_ok=True)
    (out / "papers").mkdir(parents=True, exist_ok=True)
    limiter = RateLimiter(delay_s, sleep=sleep)
    summary = FetchSummary(year=year, api=f"v{api_version(year)}")
    listing = out / "submissions.jsonl"
    if listing.is_file():
        submissions = [Submission(**json.loads(line)) for line in listing.read_text(encoding="utf-8").splitlines() if line]
    else:
        try:
            submissions = list_submissions(client, year, limiter)
        except Exception as err:
            raise FetchError(f"listing {submission_invitation(year)} failed: {err}") from None
        _write_atomic(listing, "".join(json.dumps(asdict(s)) + "\n" for s in submissions))
    if limit is not None:
        submissions = submissions[:limit]
    summary.submissions = len(submissions)
    summary.rated_with_decision = write_ratings(out / "ratings.tsv", submissions)
    if pdfs:
        _download(client, submissions, out, limiter, summary, extract_text, progress)
    (out / "fetch_summary.json").write_text(json.dumps(asdict(summary), indent=2), encoding="utf-8")
    return asdict(summary)


def _download(client, submissions, out, limiter, summary, extract_text, progress) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    wanted = [s for s in submissions if s.ratings and s.decision]
    with Progress(TextColumn("PDFs"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not progress) as bar:
        task = bar.add_task("pdfs", total=len(wanted))
        for sub in wanted:
            pdf_path, txt_path = out / "pdfs" / f"{sub.paper_id}.pdf", out / "papers" / f"{sub.paper_id}.txt"
            try:
                if pdf_path.is_file():
                    summary.pdfs_present += 1
                else:
                    data = limiter.call(client.get_pdf, sub.paper_id)
                    if not data or not bytes(data[:5]).startswith(b"%PDF"):
                        raise FetchError("the response is not a PDF")
                    _write_atomic(pdf_path, bytes(data))
                    summary.pdfs_downloaded += 1
                if not txt_path.is_file():
                    _write_atomic(txt_path, extract_text(pdf_path))
                    summary.texts_written += 1
            except Exception as err:  # one bad paper must not stop the others; a rerun retries it
                summary.errors.append(f"{sub.paper_id}: {type(err).__name__}: {err}")
            bar.advance(task)
