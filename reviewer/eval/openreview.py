"""Build a reviewer-evaluation folder (ratings.tsv, pdfs/, papers/) from OpenReview.

ICLR used API v1 up to 2023 (`ICLR.cc/<year>/Conference/-/Blind_Submission`, replies under
`details["directReplies"]`, plain content values) and API v2 from 2024
(`ICLR.cc/<year>/Conference/-/Submission`, replies under `details["replies"]`, content values
wrapped as {"value": ...}, `invitations` lists). The fetcher talks to a `NotesClient`, the two
calls of openreview-py it needs, so tests replay recorded payloads through a fake client.

Submission-time versions: the PDF a paper's forum shows is its latest revision (the camera-ready
version for accepted papers), which gives the decision away. The fetcher downloads instead the
revision current at the cut-off: the earlier of `deadline` and the first official review. API v1
revisions are references (`get_all_references(referent=forum, original=True)`: `id`, `tcdate`,
`content["pdf"]`), API v2 revisions are note edits (`get_note_edits(note_id=forum)`: `id`,
`tcdate`, `note.content["pdf"]["value"]`); either is downloaded with `get_pdf(id, is_reference=True)`.
The chosen version's id and date are recorded per paper in versions.jsonl, and the label-leak
audit runs on the texts at the end.

Resumable: the submission listing is saved as submissions.jsonl, each PDF and text file is
written atomically (reviewer.atomic_file), and a rerun skips whatever is already on disk.
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


class RevisionsClient(NotesClient, Protocol):
    """API v1 clients list a paper's revisions as references, API v2 clients as note edits."""

    def get_all_references(self, referent: str | None = None, original: bool = False, **kwargs: Any) -> list[Any]: ...

    def get_note_edits(self, note_id: str | None = None, **kwargs: Any) -> list[Any]: ...


@dataclass
class Submission:
    paper_id: str
    number: int
    title: str
    ratings: list[float]
    decision: str  # "" when there is none (withdrawn, desk-rejected, not decided)
    pdf: str = ""
    abstract: str = ""
    original: str = ""  # API v1: the non-blind note the blind submission points to
    first_review_ms: int | None = None  # tcdate of the first official review (ms since epoch)


@dataclass
class PaperVersion:
    """The revision of a paper that was downloaded, and why that one."""

    paper_id: str
    version_id: str  # reference id (API v1) or edit id (API v2)
    version_ms: int
    version_date: str  # ISO 8601, UTC
    source: str  # "reference" | "edit"
    cutoff_ms: int
    cutoff_from: str  # "deadline" | "first review" | "deadline and first review"


@dataclass
class FetchSummary:
    year: int
    api: str
    submissions: int = 0
    rated_with_decision: int = 0
    pdfs_downloaded: int = 0
    pdfs_present: int = 0
    versions_recorded: int = 0
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
    ratings, decision, review_times = [], "", []
    for reply in replies:
        if _get(reply, "replyto") not in (None, forum):  # only direct replies to the paper
            continue
        reply_content = _get(reply, "content") or {}
        if _is(reply, "Official_Review"):
            when = _get(reply, "tcdate") or _get(reply, "cdate")
            if when:
                review_times.append(int(when))
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
        abstract=str(_value(content, "abstract") or ""), original=str(_get(note, "original") or ""),
        first_review_ms=min(review_times) if review_times else None,
    )


# ---------------------------------------------------------------- politeness
class RateLimiter:
    """At least `interval_s` between calls; retries with exponential back-off on errors."""

    def __init__(self, interval_s: float, *, retries: int = 3, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s, self.retries, self.sleep, self.clock = interval_s, retries, sleep, clock
        self._last = -float("inf")

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from reviewer.retry import RetriesExhausted, RetryPolicy

        def once() -> Any:
            wait = self._last + self.interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
            self._last = self.clock()
            return fn(*args, **kwargs)

        def retry_on(err: BaseException) -> bool:
            log.warning("OpenReview call failed (%s); retrying", err)
            return True

        # the suite's one retry policy; the back-off starts at twice the polite interval
        policy = RetryPolicy(max_attempts=self.retries + 1, base_s=2 * self.interval_s + 1.0, jitter=False)
        try:
            return policy.call(once, retry_on, what="OpenReview", sleep=self.sleep)[0]
        except RetriesExhausted as failed:
            raise failed.error from None


# ---------------------------------------------------------------- the fetch
def _write_atomic(path: Path, data: bytes | str) -> None:
    from reviewer.atomic_file import write_bytes_atomic, write_text_atomic

    if isinstance(data, str):
        write_text_atomic(path, data)
    else:
        write_bytes_atomic(path, bytes(data))


def _iso(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_deadline(text: str | None) -> int | None:
    """'2021-10-06' or an ISO time ('2021-10-05T23:59:59-12:00') -> ms since epoch (UTC when no zone)."""
    if not text:
        return None
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FetchError(f"--deadline {text!r}: expected a date or time like 2021-10-06 or 2021-10-05T23:59:59-12:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp() * 1000)


def _revision_pdf(revision: Any) -> str:
    """The PDF path a revision carries: content["pdf"] (v1 reference) or note.content["pdf"]["value"] (v2 edit)."""
    note = _get(revision, "note")
    content = (_get(note, "content") if note is not None else _get(revision, "content")) or {}
    return str(_value(content, "pdf") or "")


def list_revisions(client: RevisionsClient, sub: Submission, year: int, limiter: RateLimiter) -> list[Any]:
    """Every revision of the paper that carries a PDF, oldest first."""
    if api_version(year) == 2:
        revisions = limiter.call(client.get_note_edits, note_id=sub.paper_id)
    else:
        revisions = limiter.call(client.get_all_references, referent=sub.paper_id, original=True)
    with_pdf = [r for r in revisions or [] if _revision_pdf(r) and _get(r, "tcdate") and not _get(r, "ddate")]
    return sorted(with_pdf, key=lambda r: int(_get(r, "tcdate")))


def submission_cutoff(sub: Submission, deadline_ms: int | None) -> tuple[int, str]:
    """The earlier of the deadline and the first review: changes after it may answer the reviews."""
    candidates = [(deadline_ms, "deadline"), (sub.first_review_ms, "first review")]
    known = [(ms, name) for ms, name in candidates if ms is not None]
    if not known:
        raise FetchError("no deadline and no dated review to choose the submission-time version by; pass --deadline")
    cutoff = min(ms for ms, _ in known)
    names = [name for ms, name in known if ms == cutoff]
    return cutoff, " and ".join(names)


def fetch_submission_version(
    client: RevisionsClient, sub: Submission, year: int, limiter: RateLimiter, deadline_ms: int | None,
) -> tuple[PaperVersion, bytes]:
    """The PDF of the latest revision at or before the cut-off (an earlier one when that one's PDF
    cannot be had), with the version record."""
    cutoff, cutoff_from = submission_cutoff(sub, deadline_ms)
    candidates = [r for r in list_revisions(client, sub, year, limiter) if int(_get(r, "tcdate")) <= cutoff]
    if not candidates:
        raise FetchError(f"no revision with a PDF at or before the cut-off {_iso(cutoff)} ({cutoff_from})")
    last_error: Exception | None = None
    for revision in reversed(candidates):
        try:
            data = limiter.call(client.get_pdf, _get(revision, "id"), is_reference=True)
        except Exception as err:  # this revision's file is gone or forbidden: try the one before
            last_error = err
            continue
        if data and bytes(data[:5]).startswith(b"%PDF"):
            ms = int(_get(revision, "tcdate"))
            return PaperVersion(sub.paper_id, str(_get(revision, "id")), ms, _iso(ms),
                                "edit" if api_version(year) == 2 else "reference", cutoff, cutoff_from), bytes(data)
        last_error = FetchError("the response is not a PDF")
    raise FetchError(f"no downloadable PDF among {len(candidates)} revision(s) before the cut-off: {last_error}")


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
    extract_text: Callable[[Path], str] = _pdf_text, deadline: str | None = None, audit: bool = True,
) -> dict:
    """Fetch ICLR `year` into `out`: ratings, decisions and each rated paper's submission-time
    PDF and text. Returns a summary (counts, per-paper errors, the audit's verdict)."""
    deadline_ms = parse_deadline(deadline)
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
        _download(client, submissions, out, limiter, summary, extract_text, progress, year, deadline_ms)
    result = asdict(summary)
    if pdfs and audit:
        result["audit"] = _audit(out)
    _write_atomic(out / "fetch_summary.json", json.dumps(result, indent=2))
    return result


def _audit(out: Path) -> dict:
    """The label-leak audit of the fetched texts (papers that have one)."""
    from reviewer.eval.audit import audit_texts
    from reviewer.eval.dataset import DatasetError, load_dataset, read_paper_text

    try:
        dataset = load_dataset(out)
        ids = [pid for pid in dataset.ids if (out / "papers" / f"{pid}.txt").is_file()]
        sub = dataset.subset(ids)
        texts = [read_paper_text(out / "papers", pid) for pid in ids]
        result = audit_texts(texts, sub.frame()["accept"].to_numpy(int), dataset=out.name, n_resamples=500,
                             text_baseline=False)
    except DatasetError as err:  # too few papers of a class, say
        return {"verdict": "not audited", "reason": str(err)}
    return {"verdict": result.verdict, "line": result.verdict_line(), "n": result.n, "marker_auc": result.marker_auc,
            "marker_auc_ci": result.marker_auc_ci, "length_auc": result.length_auc}


def _read_versions(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    versions = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            versions[record["paper_id"]] = record
        except (json.JSONDecodeError, KeyError):  # a line cut off by a kill
            continue
    return versions


def _download(client, submissions, out, limiter, summary, extract_text, progress, year, deadline_ms) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    wanted = [s for s in submissions if s.ratings and s.decision]
    with Progress(TextColumn("PDFs"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not progress) as bar:
        task = bar.add_task("pdfs", total=len(wanted))
        versions_path = out / "versions.jsonl"
        versions = _read_versions(versions_path)
        for sub in wanted:
            pdf_path, txt_path = out / "pdfs" / f"{sub.paper_id}.pdf", out / "papers" / f"{sub.paper_id}.txt"
            try:
                if pdf_path.is_file() and sub.paper_id in versions:
                    summary.pdfs_present += 1
                else:  # no PDF, or one of unknown version (an older fetch took the latest): fetch it
                    version, data = fetch_submission_version(client, sub, year, limiter, deadline_ms)
                    _write_atomic(pdf_path, data)
                    txt_path.unlink(missing_ok=True)  # the text of another version, if any
                    versions[sub.paper_id] = asdict(version)
                    _write_atomic(versions_path, "".join(json.dumps(v) + "\n" for v in versions.values()))
                    summary.pdfs_downloaded += 1
                if not txt_path.is_file():
                    _write_atomic(txt_path, extract_text(pdf_path))
                    summary.texts_written += 1
            except Exception as err:  # one bad paper must not stop the others; a rerun retries it
                summary.errors.append(f"{sub.paper_id}: {type(err).__name__}: {err}")
            bar.advance(task)
        summary.versions_recorded = sum(1 for sub in wanted if sub.paper_id in versions)
